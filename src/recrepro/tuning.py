"""One shared, seeded hyperparameter search, with the same budget for every model.

For each (dataset, protocol, model) the search fits the model on the training part of one split
(the first configured seed's) and scores it on the validation part; the test part is never
read. Candidates are drawn without replacement from the grid of the model's search space
(``tuning.spaces`` in the config), seeded from (tuning seed, dataset, protocol, model). The first
candidate is always the faithful setting itself, so tuning can only match or improve it on
validation. Models with a grid smaller than the budget try their whole grid. The chosen values
are reused for every seed of the ``tuned`` setting.
"""

from __future__ import annotations

import itertools
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from recrepro.errors import ModelNotApplicable
from recrepro.evaluation.evaluate import higher_is_better, validation_score
from recrepro.io import write_json
from recrepro.models.registry import build_model
from recrepro.rng import derive_seed, make_rng
from recrepro.runner import load_split
from recrepro.runs import STATUS_NOT_APPLICABLE

log = logging.getLogger(__name__)


def candidates(space: dict[str, list[Any]], trials: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    """The faithful setting (``{}``) followed by up to ``trials - 1`` distinct grid points."""
    names = sorted(space)
    grid = [dict(zip(names, values, strict=True)) for values in itertools.product(*(space[n] for n in names))]
    if not names or trials <= 1:
        return [{}]
    chosen = rng.choice(len(grid), size=min(trials - 1, len(grid)), replace=False)
    return [{}] + [grid[i] for i in sorted(chosen)]


def tune(
    dataset: str,
    protocol: str,
    model: str,
    base_params: dict[str, Any],
    space: dict[str, list[Any]],
    *,
    trials: int,
    metric: str,
    seed: int,
    data_dir: str | Path,
    split_dir: str | Path,
    out: str | Path,
) -> dict[str, Any]:
    """Run the search and write ``{"params", "metric", "score", "trials": [...]}`` to ``out``."""
    split = load_split(data_dir, split_dir, parts=("train", "valid"))
    sign = 1.0 if higher_is_better(metric) else -1.0
    results = []
    draws = candidates(space, trials, make_rng("tune", seed, dataset, protocol, model))
    for i, overrides in enumerate(draws):
        params = {**base_params, **overrides}
        instance = build_model(model, params)
        rng = np.random.default_rng(derive_seed("tune", seed, dataset, protocol, model, i))
        t0 = time.perf_counter()
        try:
            instance.fit(split.train, split.valid, rng)
        except ModelNotApplicable as exc:  # recorded; the tuned runs will record it too
            log.warning("trial %d %s: %s", i, overrides or "(faithful)", exc)
            results.append({"trial": i, "overrides": overrides, "params": instance.params,
                            "score": None, "status": STATUS_NOT_APPLICABLE, "reason": str(exc)})  # fmt: skip
            continue
        score = validation_score(instance, split.train, split.valid, metric=metric)
        results.append(
            {"trial": i, "overrides": overrides, "params": instance.params, "score": score,
             "fit_seconds": time.perf_counter() - t0}
        )  # fmt: skip
        log.info("trial %d %s: %s = %.4f", i, overrides or "(faithful)", metric, score)
    scored = [r for r in results if r["score"] is not None]
    best = max(scored, key=lambda r: sign * r["score"]) if scored else results[0]
    record = {
        "dataset": dataset, "protocol": protocol, "model": model, "metric": metric,
        "higher_is_better": sign > 0, "budget": trials, "seed": seed,
        "params": best["params"], "score": best["score"], "best_trial": best["trial"], "trials": results,
    }  # fmt: skip
    if not scored:  # no candidate applies to this dataset: keep the faithful values
        record.update(status=STATUS_NOT_APPLICABLE, reason=results[0]["reason"])
    write_json(out, record)
    return record
