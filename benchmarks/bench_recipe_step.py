"""CPU cost of one optimiser step of a reproduction recipe, by feature (not a test).

``snakemake reproduce`` spends most of its CPU in the deep retrieval tutorial's 300-epoch
recipes (``enhanced_retrieval__tutorial_recipe`` and ``__tutorial_two_layer`` of
``config/reproduce.yaml``). This fits such a recipe for a few epochs on a published split and
prints the median CPU milliseconds of an optimiser step, for the recipe and for variants that
switch one feature off, so the cost of each feature shows:

- ``recipe``: the tutorial's recipe (timestamps, title text, one layer);
- ``no timestamps``: without the timestamp features, so queries of the same user coincide and
  the in-batch softmax runs over the batch's distinct users instead of every row;
- ``no title``: without the title text of the candidate tower;
- ``two layers``: the two-layer tower (``hidden_units [64, 32]``).

A step's loss is already computed over the batch's distinct candidates
(:func:`recrepro.models.tf.objectives.in_batch_softmax`). Multiply a step by the recipe's steps
(epochs x training rows / batch) and runs (seeds) for the recipe's floor.

Run (after ``snakemake reproduce`` has written the split; one thread, as a job runs):
``RECREPRO_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/bench_recipe_step.py``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

#: The deep retrieval tutorial's recipe (config/reproduce.yaml), a few epochs instead of 300.
RECIPE = {
    "embedding_dim": 32, "optimizer": "adagrad", "learning_rate": 0.1, "batch_size": 2048,
    "timestamp_features": True, "time_buckets": 1000, "query_time": "interaction",
    "title_text": True, "output_activation": None, "patience": 0,
}  # fmt: skip
VARIANTS = {
    "recipe": {},
    "no timestamps": {"timestamp_features": False},
    "no title": {"title_text": False},
    "two layers": {"hidden_units": [64, 32]},
}


def median_step(model: str, params: dict[str, Any], split: Any, epochs: int) -> tuple[float, int, float]:
    """(median step CPU ms after the first, steps, fit CPU s) of one fit."""
    from bench_search_trial import Clock, instrument

    from recrepro.models.registry import build_model

    clock = Clock()
    undo = instrument(clock)
    try:
        fitted = build_model(model, {**params, "epochs": epochs})
        start = time.process_time()
        fitted.fit(split.train, None, np.random.default_rng(1))
        fit = time.process_time() - start
    finally:
        for module, attr, value in undo:
            setattr(module, attr, value)
    steps = clock.step_times
    return 1000 * statistics.median(steps[1:]), len(steps), fit


def main() -> None:
    from recrepro.core import layout
    from recrepro.study.runner import load_split

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="enhanced_retrieval")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--params", default="{}", help="JSON overriding the recipe")
    parser.add_argument("--data", default=layout.data_dir("ml-100k"))
    parser.add_argument("--split", default=layout.split_dir("ml-100k", "tfrs_tutorial", 1))
    args = parser.parse_args()
    split = load_split(args.data, args.split, parts=("train", "valid"))
    base = {**RECIPE, **json.loads(args.params)}
    print(f"{len(split.train)} training rows; load average {os.getloadavg()[0]:.2f} at start")
    print(f"{'variant':<16}{'step ms':>9}{'steps':>7}{'fit CPU s':>11}")
    for name, change in VARIANTS.items():
        ms, steps, fit = median_step(args.model, {**base, **change}, split, args.epochs)
        print(f"{name:<16}{ms:>9.1f}{steps:>7}{fit:>11.1f}")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
