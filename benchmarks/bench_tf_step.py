"""CPU cost of one TFRS retrieval training step, the bulk of the default study (not a test).

The seed systems train with ``tfrs.tasks.Retrieval``: an in-batch softmax over a batch x batch
logit matrix. For each batch size this prints, on one thread, CPU seconds of:

- ``first static``: the first call of a step traced with the batch size known (what a plain
  ``tf.function`` does), where TensorFlow's graph optimiser constant-folds the task's
  ``tf.eye(batch, batch)`` labels;
- ``step static``: the median later step of that trace;
- ``first unknown``: the first call traced with the batch dimension unknown;
- ``step tfrs``: the median later step of that trace with ``tfrs.tasks.Retrieval``;
- ``step distinct``: the same loss computed over the batch's distinct movies
  (:func:`recrepro.models.tf.objectives.in_batch_softmax`, the ``in_batch`` objective the models
  use; equal to TFRS's up to round-off);
- ``step tfrs logq`` / ``step distinct logq``: both with the logQ correction;
- ``step full``: the softmax over the whole catalogue (``full_softmax``).

Batches draw movies from a skewed popularity over 1,682 movies and users from 943, as in
MovieLens 100K (a batch of 8,192 holds about 1,400 distinct movies).

Run: ``python benchmarks/bench_tf_step.py --batch-sizes 1024 4096 8192``
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

DIM = 32
REPEATS = 5
N_USERS, N_ITEMS = 943, 1682


def _cpu(call: Callable[[], Any]) -> float:
    start = time.process_time()
    call()
    return time.process_time() - start


def batch_ids(batch: int) -> tuple[np.ndarray, np.ndarray]:
    """Users uniform, movies with popularity ``1 / (rank + 10)`` (seeded)."""
    rng = np.random.default_rng(0)
    weights = 1.0 / (np.arange(N_ITEMS) + 10.0)
    items = rng.choice(N_ITEMS, size=batch, p=weights / weights.sum()).astype(np.int32)
    return rng.integers(0, N_USERS, batch).astype(np.int32), items


def measure(batch: int) -> dict[str, float]:
    from recrepro.models.tf.runtime import import_tensorflow

    tf = import_tensorflow(0)
    import tensorflow_recommenders as tfrs

    from recrepro.models.tf import objectives

    users, items = batch_ids(batch)
    query = tf.keras.layers.Embedding(N_USERS, DIM)
    candidate = tf.keras.layers.Embedding(N_ITEMS, DIM)
    p = np.bincount(items, minlength=N_ITEMS) / batch
    probability = tf.constant(p, tf.float32)
    log_q = objectives.log_q_correction(probability)
    task = tfrs.tasks.Retrieval()

    def tfrs_loss(u: Any, i: Any, logq: bool = False) -> Any:
        sampling = tf.gather(probability, i) if logq else None
        return task(
            query(u), candidate(i), compute_metrics=False, candidate_sampling_probability=sampling
        )

    def distinct_loss(u: Any, i: Any, logq: bool = False) -> Any:
        unique, positive, multiplicity = objectives.distinct_candidates(i)
        shift = tf.gather(log_q, unique) if logq else None
        return objectives.in_batch_softmax(
            query(u), candidate(unique), positive, multiplicity, shift
        )

    def full_loss(u: Any, i: Any) -> Any:
        return objectives.full_softmax(query(u), candidate(tf.range(N_ITEMS)), i)

    def step_of(loss: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        def step(u: Any, i: Any) -> Any:
            with tf.GradientTape() as tape:
                value = loss(u, i)
            variables = query.trainable_variables + candidate.trainable_variables
            tape.gradient(value, variables)
            return value

        return step

    unknown = [tf.TensorSpec([None], tf.int32)] * 2
    out = {}
    static = tf.function(step_of(tfrs_loss))
    out["first static"] = _cpu(lambda: static(users, items))
    out["step static"] = statistics.median(
        _cpu(lambda: static(users, items)) for _ in range(REPEATS)
    )
    variants = {
        "tfrs": tfrs_loss,
        "distinct": distinct_loss,
        "tfrs logq": lambda u, i: tfrs_loss(u, i, logq=True),
        "distinct logq": lambda u, i: distinct_loss(u, i, logq=True),
        "full": full_loss,
    }
    for name, loss in variants.items():
        step = tf.function(step_of(loss), input_signature=unknown)
        first = _cpu(lambda step=step: step(users, items))
        if name == "tfrs":
            out["first unknown"] = first
        out[f"step {name}"] = statistics.median(
            _cpu(lambda step=step: step(users, items)) for _ in range(REPEATS)
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1024, 4096, 8192])
    args = parser.parse_args()
    import os

    os.environ.setdefault("RECREPRO_THREADS", "1")
    rows = {batch: measure(batch) for batch in args.batch_sizes}
    columns = list(next(iter(rows.values())))
    print("| batch | " + " | ".join(f"{c} (CPU s)" for c in columns) + " |")
    print("|---:|" + "---:|" * len(columns))
    for batch, values in rows.items():
        print(f"| {batch} | " + " | ".join(f"{values[c]:.3f}" for c in columns) + " |")


if __name__ == "__main__":
    main()
