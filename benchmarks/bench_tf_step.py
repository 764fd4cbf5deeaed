"""CPU cost of one TFRS retrieval training step, the bulk of the default study (not a test).

The seed systems train with ``tfrs.tasks.Retrieval``: an in-batch softmax over a batch x batch
logit matrix. For each batch size this prints, on one thread:

- ``first static``: the first call of a step traced with the batch size known (what a plain
  ``tf.function`` does), where TensorFlow's graph optimiser constant-folds the task's
  ``tf.eye(batch, batch)`` labels;
- ``step static``: the median later step of that trace;
- ``first unknown``: the first call traced with the batch dimension unknown;
- ``step tfrs``: the median later step of that trace with ``tfrs.tasks.Retrieval``;
- ``step cached``: the same with :func:`recrepro.models._tf.retrieval_task` (TFRS's loss on an
  identity matrix built once; bit-identical results), what the models use;
- ``step sparse``: the same loss from sparse labels (``sparse_softmax_cross_entropy_with_logits``),
  which differs in the last bits and is shown only as the remaining headroom.

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


def _step(tf: Any, loss: Callable[[Any, Any], Any], query: Any, candidate: Any) -> Callable:
    def step(q_in: Any, c_in: Any) -> Any:
        with tf.GradientTape() as tape:
            value = loss(query(q_in), candidate(c_in))
        variables = query.trainable_variables + candidate.trainable_variables
        tape.gradient(value, variables)
        return value

    return step


def _cpu(call: Callable[[], Any]) -> float:
    start = time.process_time()
    call()
    return time.process_time() - start


def measure(batch: int) -> dict[str, float]:
    from recrepro.models._tf import import_tensorflow, retrieval_task

    tf = import_tensorflow(0)
    import tensorflow_recommenders as tfrs

    task = tfrs.tasks.Retrieval()

    def tfrs_loss(q: Any, c: Any) -> Any:
        return task(q, c, compute_metrics=False)

    def sparse_loss(q: Any, c: Any) -> Any:
        logits = tf.matmul(q, c, transpose_b=True)
        labels = tf.range(tf.shape(logits)[0])
        return tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))

    ids = np.arange(batch, dtype=np.int32) % 1000
    query = tf.keras.layers.Embedding(1000, DIM)
    candidate = tf.keras.layers.Embedding(1000, DIM)
    unknown = [tf.TensorSpec([None], tf.int32)] * 2
    out = {}
    static = tf.function(_step(tf, tfrs_loss, query, candidate))
    out["first static"] = _cpu(lambda: static(ids, ids))
    out["step static"] = statistics.median(_cpu(lambda: static(ids, ids)) for _ in range(REPEATS))
    cached = retrieval_task(tf, batch)

    def cached_loss(q: Any, c: Any) -> Any:
        return cached(q, c)

    for name, loss in (("tfrs", tfrs_loss), ("cached", cached_loss), ("sparse", sparse_loss)):
        step = tf.function(_step(tf, loss, query, candidate), input_signature=unknown)
        first = _cpu(lambda step=step: step(ids, ids))
        if name == "tfrs":
            out["first unknown"] = first
        out[f"step {name}"] = statistics.median(
            _cpu(lambda step=step: step(ids, ids)) for _ in range(REPEATS)
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
        print(f"| {batch} | " + " | ".join(f"{values[c]:.2f}" for c in columns) + " |")


if __name__ == "__main__":
    main()
