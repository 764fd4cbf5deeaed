"""CPU cost of one hyperparameter-search trial of a TF model, by phase (not a test).

With successive-halving pruning most search trials stop after 1 epoch, so a trial's fixed
part (everything except the optimiser steps) matters as much as its epochs. For each model this
fits ``--epochs`` (default 1 and 3) epochs with typical search parameters on a split's training
part, validating on its validation part per epoch as the search does, ``--repeats`` times in one
process on the same split objects (the second trial shows what caching per split buys), and
prints CPU seconds (``time.process_time``, the process's threads summed) per phase:

- ``build``: ``fit`` before the first step: TF session reset and seeding, vocabularies, towers,
  keras model, optimiser, candidate tensors (the rest of ``fit`` minus the phases below);
- ``features``: the training feature arrays (``train_features``; the session histories);
- ``trace``: the first optimiser step minus a median step (tracing the compiled step);
- ``steps``: every optimiser step, the first counted as a median one;
- ``valid``: the per-epoch validation (``validation_callback``);
- ``final``: the trial's closing ``validation_score`` (``recrepro.study.tuning.run_trial``);
- ``fixed``: everything but ``steps``; ``total``: the whole trial.

TensorFlow is imported (and one throw-away collaborative trial run on a copy of the split)
before the clock starts, as in a search job, which imports it once; repetition 0 of a model's
first epoch count is its uncached trial (a search job's first trial). A last table gives each
(model, epochs)'s mean fixed, step and total CPU seconds.

Run (after the parse and split rules; one thread, as a search job with ``threads_per_job: 1``):
``RECREPRO_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/bench_search_trial.py session``
(``--params '{"embedding_dim": 128, "max_length": 20}'`` for another point of the space).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

MODELS = ("collaborative", "session", "multitask", "rating_nn", "gnn", "knn_embedding", "wide_deep")

#: Typical search-trial values (the middle of config.yaml's retrieval space; rating_nn's own).
SEARCH = {
    "objective": "in_batch",
    "optimizer": "adam",
    "learning_rate": 0.01,
    "embedding_dim": 64,
    "l2": 0.0,
    "batch_size": 4096,
    "patience": 2,
}
EXTRA: dict[str, dict[str, Any]] = {
    "rating_nn": {"learning_rate": 0.001, "embedding_dim": 32, "batch_size": 1024, "patience": 3},
    "session": {"max_length": 10},
    "gnn": {"n_layers": 2},
    "knn_embedding": {"k": 10},
    "multitask": {"rating_weight": 1.0},
}  # fmt: skip
PHASES = ("build", "features", "trace", "steps", "valid", "final", "fixed", "total")


class Clock:
    """CPU seconds spent in the wrapped phases of one trial."""

    def __init__(self) -> None:
        self.features = 0.0
        self.valid = 0.0
        self.step_times: list[float] = []

    def timed(self, attribute: str, fn: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            t0 = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                dt = time.process_time() - t0
                if attribute == "step_times":
                    self.step_times.append(dt)
                else:
                    setattr(self, attribute, getattr(self, attribute) + dt)

        return run


def instrument(clock: Clock) -> list[tuple[Any, str, Any]]:
    """Wrap the step, validation and feature functions the TF models call; returns undo info."""
    from recrepro.models.tf import bases

    undo = [(bases, name, getattr(bases, name)) for name in ("make_train_step", "validation_callback")]
    make_step, callback = bases.make_train_step, bases.validation_callback
    bases.make_train_step = lambda *a, **k: clock.timed("step_times", make_step(*a, **k))

    def validation(*a: Any, **k: Any) -> Any:
        inner = callback(*a, **k)
        return None if inner is None else clock.timed("valid", inner)

    bases.validation_callback = validation
    return undo


def trial(name: str, params: dict[str, Any], split: Any, seed: int) -> dict[str, float]:
    """One search trial's phases (CPU-s)."""
    from recrepro.evaluation.evaluate import validation_score
    from recrepro.models.registry import build_model

    clock = Clock()
    undo = instrument(clock)
    try:
        model = build_model(name, params)
        model.train_features = clock.timed("features", model.train_features)
        metric = "rmse" if name == "rating_nn" else "ndcg@10"
        t0 = time.process_time()
        model.fit(split.train, split.valid, np.random.default_rng(seed))
        fit = time.process_time() - t0
        t0 = time.process_time()
        validation_score(model, split.train, split.valid, metric=metric)
        final = time.process_time() - t0
    finally:
        for module, attr, value in undo:
            setattr(module, attr, value)
    steps = clock.step_times
    typical = statistics.median(steps[1:]) if len(steps) > 1 else 0.0
    trace = max(0.0, steps[0] - typical) if steps else 0.0
    step_total = sum(steps) - trace
    build = fit - clock.features - sum(steps) - clock.valid
    out = {
        "build": build, "features": clock.features, "trace": trace, "steps": step_total,
        "valid": clock.valid, "final": final, "total": fit + final, "n_steps": len(steps),
    }  # fmt: skip
    out["fixed"] = out["total"] - step_total
    return out


def main() -> None:
    from recrepro.core import layout

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=list(MODELS))
    parser.add_argument("--epochs", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--params", default="{}", help="JSON overriding the search values")
    parser.add_argument("--data", default=layout.data_dir("ml-100k"))
    parser.add_argument("--split", default=layout.split_dir("ml-100k", "random", 1))
    parser.add_argument("--no-warmup", action="store_true", help="no throw-away first trial")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()

    from recrepro.core.logs import import_quietly
    from recrepro.study.runner import load_split

    data = Path(args.data)
    split = load_split(data, args.split, parts=("train", "valid"))
    for library in ("tensorflow", "tensorflow_recommenders"):
        import_quietly(library)
    load = os.getloadavg()[0]
    rows = []
    print(f"{len(split.train)} training rows, {len(split.valid)} validation rows; "
          f"load average {load:.2f} at start")  # fmt: skip
    header = f"{'model':14} {'ep':>2} {'rep':>3} " + " ".join(f"{p:>8}" for p in PHASES)
    print(header)
    if not args.no_warmup:  # TensorFlow's first-use costs, on a split copy (no shared caches)
        copy = load_split(data, args.split, parts=("train", "valid"))
        trial("collaborative", {**SEARCH, "epochs": 1}, copy, seed=99)
    for name in args.models:
        params = {**SEARCH, **EXTRA.get(name, {}), **json.loads(args.params)}
        if name == "rating_nn":  # no retrieval task
            params.pop("objective", None)
        for epochs in args.epochs:
            for rep in range(args.repeats):
                row = trial(name, {**params, "epochs": epochs}, split, seed=rep)
                rows.append({"model": name, "epochs": epochs, "repeat": rep, **row})
                print(f"{name:14} {epochs:>2} {rep:>3} "
                      + " ".join(f"{row[p]:8.2f}" for p in PHASES), flush=True)  # fmt: skip
    print(f"load average {os.getloadavg()[0]:.2f} at the end\n")
    print(f"{'model':14} {'ep':>2} {'fixed':>8} {'steps':>8} {'total':>8}  (means)")
    for name in args.models:
        for epochs in args.epochs:
            mine = [r for r in rows if r["model"] == name and r["epochs"] == epochs]
            means = [statistics.mean(r[p] for r in mine) for p in ("fixed", "steps", "total")]
            print(f"{name:14} {epochs:>2} " + " ".join(f"{m:8.2f}" for m in means))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
