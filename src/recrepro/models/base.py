"""The model contract shared by every recommender (LensKit/RecBole style).

A model is constructed from hyperparameters (defaults live beside the model in ``defaults``,
overrides come from the config), then

* ``fit(train, valid, rng)`` learns from training interactions; ``valid`` may be used for early
  stopping only; all randomness comes from ``rng``;
* ``score(users)`` returns a dense ``[len(users), n_items]`` float32 array: higher means more
  recommended; the evaluator masks already-seen items and ranks the full catalogue;
* ``predict(users, items)`` returns rating predictions, for classes with ``predicts_ratings``.

Models append one dict per epoch to ``history`` (``loss`` and, where they early-stop, the
validation metric) for the training-curve figures, through ``log_epoch``, which then calls
``epoch_callback(epoch, values)`` if one is set (the tuner reports the validation metric to
Optuna there and prunes a poor trial by raising ``optuna.TrialPruned``). The monitored validation
metric is the one the study tunes the model on: the tuner and the runner set
``validation_metric`` from the config (``tuning.metric`` / ``tuning.metrics``).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np

from recrepro.data.interactions import Interactions
from recrepro.errors import ConfigError, TrainingError


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
        #: config (:func:`recrepro.tuning.selection_metric`); None: the model's own default. Not
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
