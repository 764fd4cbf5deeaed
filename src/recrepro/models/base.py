"""The model contract shared by every recommender (LensKit/RecBole style).

A model is constructed from hyperparameters (defaults live beside the model in ``defaults``,
overrides come from the config), then

* ``fit(train, valid, rng)`` learns from training interactions; ``valid`` may be used for early
  stopping only; all randomness comes from ``rng``;
* ``score(users)`` returns a dense ``[len(users), n_items]`` float32 array: higher means more
  recommended; the evaluator masks already-seen items and ranks the full catalogue;
* ``predict(users, items)`` returns rating predictions, for classes with ``predicts_ratings``.

Everything else the study needs to know about a model is declared on its class too, so a new
model is its file, its test and its config block: where it comes from (``source``, and the BibTeX
``citation`` of the work it follows, which the paper's models table cites and
:mod:`recrepro.report.bibliography` writes into the paper's generated bibliography), its look in
the figures (``colour``, ``marker``, ``hatch``; :func:`recrepro.report.style.model_style`), and
how the tuned setting searches it (``search_space`` and ``tuning_metric``, which follows
``task`` unless declared; ``tuning.spaces.<model>`` and ``tuning.metrics.<model>`` in the config
win over the declarations: :func:`recrepro.models.spaces.model_space`,
:func:`recrepro.study.tuning.selection_metric`).

Models append one dict per epoch to ``history`` (``loss`` and, where they early-stop, the
validation metric) for the training-curve figures, through ``log_epoch``, which then calls
``epoch_callback(epoch, values)`` if one is set (the tuner reports the validation metric to
Optuna there and prunes a poor trial by raising ``optuna.TrialPruned``). The monitored validation
metric is the one the study tunes the model on: the tuner and the runner set
``validation_metric`` from the config (``tuning.metric`` / ``tuning.metrics``).
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np

from recrepro.core.errors import ConfigError, TrainingError
from recrepro.data.interactions import Interactions

#: What a model is for (:attr:`Recommender.task`): ranked lists, or rating prediction only.
TASKS = ("ranking", "rating")
#: The validation metric a rating model is tuned on unless it declares another.
RATING_METRIC = "rmse"
#: The key of a BibTeX entry: ``@article{key,``.
BIB_KEY = re.compile(r"@\w+\s*\{\s*([^,\s]+)\s*,")


class Recommender(ABC):
    """Base class of all models. Subclasses register themselves with ``@register("name")``."""

    name: ClassVar[str] = ""
    #: Where the model comes from: a seed document or a paper (shown in the paper's model table).
    source: ClassVar[str] = ""
    #: True if ``predict`` returns ratings (the model is then scored by RMSE and MAE too).
    predicts_ratings: ClassVar[bool] = False
    #: Hyperparameter defaults; the seed's own values for seed models ("faithful" setting).
    defaults: ClassVar[Mapping[str, Any]] = {}
    #: Modules ``fit`` imports (e.g. ``tensorflow``). The runner imports them before it starts the
    #: fit clock, so ``fit_seconds`` is the fit alone and equal across seeds, though a process
    #: running several seeds pays the import once.
    libraries: ClassVar[tuple[str, ...]] = ()
    #: True if a run gives the same numbers (to about 1e-9) on any CPU, so ``verify`` demands them
    #: exactly; False (the safe default for a new model) if kernels or the build differ by CPU, so
    #: ``verify`` allows a margin from the reported seed s.d. Every registered model declares it
    #: with its one-line reason.
    exact_across_cpus: ClassVar[bool] = False
    #: The model's own per-epoch validation metric, used when the caller sets no
    #: :attr:`validation_metric` (the schema's default ``tuning.metric``).
    default_validation_metric: ClassVar[str] = "ndcg@10"

    #: The BibTeX entries (verbatim, one or more) of the published work the model follows. The
    #: paper's models table cites their keys in this order ("Follows"); every registered model's
    #: entries go into ``paper/generated/models.bib`` (:mod:`recrepro.report.bibliography`), so a
    #: key lives here or in ``paper/references.bib``, never in both. Models sharing a work share
    #: the identical entry text. Empty: the model follows no publication ("--").
    citation: ClassVar[str] = ""
    #: The model's colour in every figure (hex, e.g. ``"#2CA02C"``), distinct from every other
    #: registered model's; empty: picked from a fixed fallback palette by the model's name.
    colour: ClassVar[str] = ""
    #: Its Matplotlib marker (e.g. ``"o"``) and bar hatch (e.g. ``"//"``, ``""`` for none), which
    #: keep it apart in greyscale; empty / None: picked by the model's name.
    marker: ClassVar[str] = ""
    hatch: ClassVar[str | None] = None
    #: What the model is for (:data:`TASKS`): ``"ranking"`` (top-N lists; also models that
    #: predict ratings on the side) or ``"rating"`` (rating prediction only, e.g. biased MF). The
    #: tuning metric follows it unless :attr:`tuning_metric` is declared.
    task: ClassVar[str] = "ranking"
    #: The validation metric the tuned setting selects on (and every fit validates and
    #: early-stops on); None: by :attr:`task`, RMSE for a rating model and the study's
    #: ``tuning.metric`` (NDCG@10) for a ranking model. ``tuning.metrics.<model>`` in the config
    #: wins (:func:`recrepro.study.tuning.selection_metric`).
    tuning_metric: ClassVar[str | None] = None
    #: The default search space of the tuned setting, in the config's notation
    #: (:mod:`recrepro.core.search_space`: a list of choices, ``{low, high, log}``, or a value fixed in
    #: the search trials); ``tuning.spaces.<model>`` in the config replaces it
    #: (:func:`recrepro.models.spaces.model_space`). Empty: the model is not searched (then it
    #: must have no hyperparameters, or the config must give a space).
    search_space: ClassVar[Mapping[str, Any]] = {}

    @classmethod
    def tuned_on(cls, study_metric: str) -> str:
        """The validation metric a study whose ``tuning.metric`` is ``study_metric`` tunes this
        model on, before config overrides: :attr:`tuning_metric`, else by :attr:`task`."""
        if cls.tuning_metric:
            return cls.tuning_metric
        return RATING_METRIC if cls.task == "rating" else study_metric

    @classmethod
    def citation_keys(cls) -> tuple[str, ...]:
        """The BibTeX keys of :attr:`citation`, in order."""
        return tuple(BIB_KEY.findall(cls.citation))

    def __init__(self, **params: Any) -> None:
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            raise ConfigError(
                f"model '{self.name}': unknown hyperparameter(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(self.defaults)) or 'none'}"
            )
        self.params: dict[str, Any] = {**self.defaults, **params}
        self.history: list[dict[str, float]] = []
        #: Called as ``epoch_callback(epoch, values)`` at the end of every ``log_epoch``.
        self.epoch_callback: Callable[[int, dict[str, float]], None] | None = None
        #: The metric the study tunes this model on, set by the tuner and the runner from the
        #: config (:func:`recrepro.study.tuning.selection_metric`); None: the model's own default. Not
        #: a hyperparameter, so ``params`` do not record it.
        self.validation_metric: str | None = None
        self.n_users = 0
        self.n_items = 0

    @abstractmethod
    def fit(
        self, train: Interactions, valid: Interactions | None, rng: np.random.Generator
    ) -> Recommender:
        """Learn from ``train``; ``valid`` is for early stopping only."""

    @abstractmethod
    def score(self, users: np.ndarray) -> np.ndarray:
        """Scores of every catalogue item for each user index: float32 ``[len(users), n_items]``."""

    def interaction_scores(self, test: Interactions) -> np.ndarray | None:
        """Scores of every catalogue item for each test interaction's own query
        (``[len(test), n_items]``), for models whose query carries the interaction's context
        (e.g. its time, as the TFRS tutorials' ``FactorizedTopK`` does); None (the default):
        the query is the user alone and ``score`` serves. Used for ``factorized_top@K`` only."""
        return None

    @property
    def validation_metrics(self) -> tuple[str, ...]:
        """Metrics a model that validates per epoch logs (``val_<metric>``); the first one is
        monitored (early stopping, the tuner's per-epoch reports): :attr:`validation_metric`,
        else :attr:`default_validation_metric`."""
        return (self.validation_metric or self.default_validation_metric,)

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Predicted ratings for (user, item) index pairs."""
        raise NotImplementedError(f"model '{self.name}' does not predict ratings")

    def log_epoch(self, **values: float) -> None:
        """Record one epoch of training; a non-finite loss stops the run clearly."""
        values = {k: float(v) for k, v in values.items()}
        loss = values.get("loss")
        if loss is not None and not math.isfinite(loss):
            raise TrainingError(
                f"model '{self.name}' diverged: loss is {loss} at epoch {len(self.history) + 1}; "
                "lower the learning rate"
            )
        self.history.append({"epoch": len(self.history) + 1, **values})
        if self.epoch_callback is not None:
            self.epoch_callback(len(self.history), values)
