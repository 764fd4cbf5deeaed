"""Seeded, replicated hyperparameter searches (Optuna), with the same budget for every model.

One search per (dataset, protocol, model, seed): seed ``s`` tunes on the training and
validation parts of its own split, with a sampler seeded from ``s``, so the tuned results of
different seeds differ by the luck of their searches as well as by initialisation, and the
seed-to-seed spread the statistics see contains the search's spread. The test part is never
read here (:func:`search` gets train and valid only). Each search is single-process and fully
seeded:

* sampler: Optuna's TPE, seeded from (tuning seed, dataset, protocol, model, replicate); its
  first :data:`STARTUP_TRIALS` trials are random draws, the rest are model-based;
* trial 0 is the faithful setting itself (enqueued), so tuning can only match or improve it on
  validation;
* pruning: successive halving with epochs as the resource (Optuna's
  ``SuccessiveHalvingPruner``, asynchronous: no brackets, no timing). Iterative models report
  the validation metric after every epoch
  (:attr:`recrepro.models.base.Recommender.epoch_callback`); at the rungs after
  ``min_epochs * reduction_factor**r`` epochs (1, 3, 9, ... by default) a trial goes on only if
  its value is among the best ``1/reduction_factor`` of the values every earlier trial reported
  at that rung, so most trials stop after one epoch and a budget of many trials costs little.
  Trials of non-iterative models report once and are never pruned;
* a trial whose parameters repeat an earlier trial's (small grids, models without
  hyperparameters) reuses that trial's outcome instead of fitting again.

A model's search space is declared on its class (``search_space``) and ``tuning.spaces.<model>``
in the config replaces it (:func:`recrepro.models.spaces.model_space`); likewise its validation
metric (``tuning_metric`` / ``task`` on the class, ``tuning.metrics.<model>`` in the config:
:func:`selection_metric`). Search spaces map a hyperparameter to a list (categorical
choices), to ``{low, high, log}`` (a range; integers when ``low`` and ``high`` are), or to a
scalar (fixed in every search trial, e.g. ``patience``; trial 0 keeps the faithful value). The
faithful point always lies in the space: a missing faithful choice is added to a list and a
range is stretched to include the faithful value.

The tuned run of seed ``s`` (``train_and_evaluate``, a separate job that alone reads the test
part) fits the winner of seed ``s``'s search.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from recrepro.core.config import block_defaults
from recrepro.core.errors import ModelNotApplicable, TrainingError
from recrepro.core.io import write_json
from recrepro.core.rng import derive_seed
from recrepro.core.runs import STATUS_NOT_APPLICABLE
from recrepro.core.search_space import Dimension, encode_choice, search_space
from recrepro.evaluation.evaluate import higher_is_better, validation_score
from recrepro.models.registry import build_model
from recrepro.study.runner import load_split

log = logging.getLogger(__name__)

#: TPE's random start-up trials (the faithful trial 0 included).
STARTUP_TRIALS = 8
#: Trial states in the tuning record.
COMPLETE, PRUNED, NOT_APPLICABLE, FAILED = "complete", "pruned", STATUS_NOT_APPLICABLE, "failed"


def _registered(model: str) -> Any:
    """The class of ``model`` (of the model a ``<model>__<variant>`` name varies); None if no
    such model is registered (the config check reports that)."""
    from recrepro.core.errors import ConfigError
    from recrepro.models.registry import get_model_class

    try:
        return get_model_class(model)
    except ConfigError:
        return None


def selection_metric(tuning: Mapping[str, Any], model: str) -> str:
    """The validation metric that tunes ``model``: ``tuning.metrics[model]``, else that of the
    registered model a ``<model>__<variant>`` name varies, else the model's own declaration
    (:meth:`~recrepro.models.base.Recommender.tuned_on`: its ``tuning_metric``, else RMSE for a
    rating model), else ``tuning.metric``."""
    from recrepro.models.registry import VARIANT_SEPARATOR

    per_model = tuning.get("metrics") or {}
    base = model.split(VARIANT_SEPARATOR)[0]
    if model in per_model or base in per_model:
        return per_model.get(model, per_model.get(base))
    study = tuning.get("metric") or _DEFAULTS["metric"]
    cls = _registered(model)
    return cls.tuned_on(study) if cls is not None else study


_DEFAULTS = block_defaults("tuning")  # the schema's defaults (their one home)
_PRUNING = _DEFAULTS["pruning"]


@dataclass(frozen=True)
class Pruning:
    """Successive halving over epochs: rungs after ``min_epochs * reduction_factor**r`` epochs."""

    min_epochs: int = _PRUNING["min_epochs"]
    reduction_factor: int = _PRUNING["reduction_factor"]

    @classmethod
    def from_config(cls, block: Mapping[str, Any] | None) -> Pruning:
        block = {**_PRUNING, **(block or {})}
        return cls(int(block["min_epochs"]), int(block["reduction_factor"]))


def make_study(
    seed: int, dataset: str, protocol: str, model: str, direction: str, replicate: int,
    pruning: Pruning | None = None,
) -> Any:
    """The seeded, in-memory Optuna study of one search replicate (TPE sampler, successive
    halving over epochs; Optuna's logging at WARNING)."""
    import optuna

    pruning = pruning or Pruning()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(
        seed=derive_seed("tune", seed, dataset, protocol, model, replicate),
        n_startup_trials=STARTUP_TRIALS,
    )
    pruner = optuna.pruners.SuccessiveHalvingPruner(
        min_resource=pruning.min_epochs, reduction_factor=pruning.reduction_factor
    )
    return optuna.create_study(direction=direction, sampler=sampler, pruner=pruner)


def _trial_params(trial: Any, dims: list[Dimension], faithful: Mapping[str, Any]) -> dict[str, Any]:
    params = dict(faithful)
    for dim in dims:
        if dim.searched:
            params[dim.name] = dim.suggest(trial)
        else:  # fixed in the search trials; trial 0 is the faithful setting
            params[dim.name] = faithful[dim.name] if trial.number == 0 else dim.fixed
    return params


def _reporter(trial: Any, metric: str, intermediate: list[list[float]]) -> Any:
    """The model's ``epoch_callback``: report ``val_<metric>``, raise TrialPruned if poor."""
    import optuna

    def report(epoch: int, values: dict[str, float]) -> None:
        value = values.get(f"val_{metric}")
        if value is None or not math.isfinite(value):
            return
        intermediate.append([epoch, value])
        trial.report(value, epoch)
        if trial.should_prune():
            raise optuna.TrialPruned(f"pruned at epoch {epoch}")

    return report


def run_trial(
    model: str, params: dict[str, Any], split: Any, metric: str, trial: Any, rng: np.random.Generator
) -> dict[str, Any]:
    """Fit one candidate; returns ``score``, ``state``, ``intermediate``, times (and ``reason``)."""
    import optuna

    instance = build_model(model, params)
    instance.validation_metric = metric  # per-epoch validation and early stopping on the search's metric
    intermediate: list[list[float]] = []
    instance.epoch_callback = _reporter(trial, metric, intermediate)
    wall, cpu = time.perf_counter(), time.process_time()
    out: dict[str, Any] = {"score": None, "intermediate": intermediate}
    try:
        instance.fit(split.train, split.valid, rng)
        out["score"] = validation_score(instance, split.train, split.valid, metric=metric)
        out["state"] = COMPLETE
        if not intermediate:  # non-iterative models report their one value
            intermediate.append([0, out["score"]])
            trial.report(out["score"], 0)
    except optuna.TrialPruned:
        out["state"] = PRUNED
    except ModelNotApplicable as exc:  # recorded; the tuned runs will record it too
        out.update(state=NOT_APPLICABLE, reason=str(exc))
    except TrainingError as exc:  # e.g. a learning rate so high that the loss diverges
        out.update(state=FAILED, reason=str(exc))
    out.update(fit_seconds=time.perf_counter() - wall, cpu_seconds=time.process_time() - cpu)
    return out


def search(
    dataset: str,
    protocol: str,
    model: str,
    base_params: dict[str, Any],
    space: Mapping[str, Any],
    split: Any,
    *,
    trials: int,
    metric: str,
    seed: int,
    replicate: int,
    pruning: Pruning | None = None,
) -> dict[str, Any]:
    """One search replicate on ``split`` (train and valid only): the record has ``params``,
    ``metric``, ``score``, ``best_trial``, ``replicate`` and ``trials`` (per trial ``params``,
    ``overrides``, ``score``, ``state``, ``intermediate`` [epoch, value] pairs, ``seed``,
    ``fit_seconds``, ``cpu_seconds``)."""
    from optuna.trial import TrialState

    if getattr(split, "test", None) is not None:
        raise ValueError("a search gets the train and valid parts only, never the test part")
    pruning = pruning or Pruning()
    faithful = build_model(model, base_params).params
    dims = search_space(model, space, faithful)
    sign = 1.0 if higher_is_better(metric) else -1.0
    study = make_study(
        seed, dataset, protocol, model, "maximize" if sign > 0 else "minimize", replicate, pruning
    )
    study.enqueue_trial({d.name: encode_choice(faithful[d.name]) for d in dims if d.searched})
    results: list[dict[str, Any]] = []
    done: dict[str, dict[str, Any]] = {}
    for i in range(trials):
        trial = study.ask()
        params = _trial_params(trial, dims, faithful)
        key = json.dumps(params, sort_keys=True, default=str)
        if key in done:
            outcome = {**done[key], "duplicate_of": done[key]["trial"]}
            outcome.update(fit_seconds=0.0, cpu_seconds=0.0)
        else:
            trial_seed = derive_seed("tune", seed, dataset, protocol, model, replicate, i)
            outcome = run_trial(model, params, split, metric, trial, np.random.default_rng(trial_seed))
            outcome.update(trial=i, seed=trial_seed)
            done[key] = outcome
        state = outcome["state"]
        if state == COMPLETE:
            study.tell(trial, outcome["score"])
        else:
            study.tell(trial, state=TrialState.PRUNED if state == PRUNED else TrialState.FAIL)
        overrides = {k: v for k, v in params.items() if v != faithful[k]}
        results.append({**outcome, "trial": i, "overrides": overrides, "params": params})
        log.info(
            "replicate %d trial %d %s: %s, %s = %s, %d values reported, %.1f CPU-s", replicate, i,
            overrides or "(faithful)", state, metric, outcome["score"],
            len(outcome["intermediate"]), outcome["cpu_seconds"],
        )  # fmt: skip
    record = {
        "dataset": dataset, "protocol": protocol, "model": model, "metric": metric,
        "higher_is_better": sign > 0, "budget": trials, "seed": seed, "replicate": replicate,
        "sampler": "TPESampler", "pruner": "SuccessiveHalvingPruner",
        "pruning": {"min_epochs": pruning.min_epochs, "reduction_factor": pruning.reduction_factor},
        "space": {d.name: d.as_config() for d in dims},
        **best_of(results, sign), "trials": results,
    }  # fmt: skip
    record["cpu_seconds"] = float(sum(t["cpu_seconds"] for t in results))
    return record


def tune(
    dataset: str,
    protocol: str,
    model: str,
    base_params: dict[str, Any],
    space: Mapping[str, Any],
    *,
    data_dir: str | Path,
    split_dir: str | Path,
    out: str | Path,
    replicate: int = 1,
    **options: Any,
) -> dict[str, Any]:
    """:func:`search` (``options``: its keywords) on the train/valid parts in ``split_dir``;
    writes the record to ``out``."""
    split = load_split(data_dir, split_dir, parts=("train", "valid"))
    record = search(dataset, protocol, model, base_params, space, split, replicate=replicate, **options)
    write_json(out, record)
    return record


def best_of(trials: list[dict[str, Any]], sign: float) -> dict[str, Any]:
    """``params``, ``score`` and ``best_trial`` of the best complete trial (earliest on ties);
    with none, the faithful trial's values and the not-applicable status."""
    scored = [t for t in trials if t["state"] == COMPLETE]
    first = trials[0]
    if not scored and first["state"] == FAILED:
        raise TrainingError(f"no trial trained; the faithful one failed: {first['reason']}")
    if not scored:  # no candidate applies to this dataset: keep the faithful values
        return {"params": first["params"], "score": None, "best_trial": first["trial"],
                "status": STATUS_NOT_APPLICABLE, "reason": first.get("reason", "")}  # fmt: skip
    best = max(scored, key=lambda t: (sign * t["score"], -t["trial"]))
    return {"params": best["params"], "score": best["score"], "best_trial": best["trial"]}
