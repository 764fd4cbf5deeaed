"""CPU cost of one training step of the session model's query tower (not a test).

The session model's search is the largest single cost of the default study: its GRU runs per
training row over up to ``L`` recent movies. For each (embedding size ``d``, history length
``L``) this prints, on one thread at batch 8,192, the median CPU seconds of a forward and
backward pass through:

- ``keras``: ``Embedding(mask_zero=True)`` then Keras's unrolled ``GRU`` (the tower before);
- ``gathered``: :func:`recrepro.models.tf.towers.history_gru`, which projects every catalogue
  movie through the GRU's input kernel once and gathers the rows (the tower now);

and the largest absolute difference of their outputs (same weights).

Run: ``TF_USE_LEGACY_KERAS=1 python benchmarks/bench_session_step.py``
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import numpy as np

N_ITEMS, BATCH, REPEATS = 1682, 8192, 5


def measure(tf: Any, d: int, length: int, rng: np.random.Generator) -> tuple[float, float, float]:
    """Median CPU seconds of a training step through both towers, and their largest output
    difference, at embedding size ``d`` and history length ``length``."""
    from recrepro.models.tf.towers import history_gru

    tf.keras.utils.set_random_seed(0)
    sizes = rng.integers(0, length + 1, BATCH)
    history = np.where(
        np.arange(length)[None, :] >= length - sizes[:, None],
        rng.integers(1, N_ITEMS + 1, (BATCH, length)),
        0,
    ).astype(np.int32)
    embedding = tf.keras.layers.Embedding(N_ITEMS + 1, d, mask_zero=True)
    gru = tf.keras.layers.GRU(d, unroll=True)
    gru(embedding(tf.constant(history[:2])))  # builds the weights both towers use
    variables = embedding.trainable_variables + gru.trainable_variables
    towers = {
        "keras": lambda h: gru(embedding(h)),
        "gathered": lambda h: history_gru(embedding.embeddings, gru.cell, h),
    }
    outputs, times = {}, {}
    for name, tower in towers.items():

        def step(h: Any, tower: Any = tower) -> tuple[Any, Any]:
            with tf.GradientTape() as tape:
                out = tower(h)
                loss = tf.reduce_sum(tf.square(out))
            return out, tape.gradient(loss, variables)

        compiled = tf.function(step, input_signature=[tf.TensorSpec([None, length], tf.int32)])
        batch = tf.constant(history)
        outputs[name] = compiled(batch)[0].numpy()  # traces
        samples = []
        for _ in range(REPEATS):
            start = time.process_time()
            compiled(batch)
            samples.append(time.process_time() - start)
        times[name] = statistics.median(samples)
    diff = float(np.abs(outputs["keras"] - outputs["gathered"]).max())
    return times["keras"], times["gathered"], diff


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--lengths", type=int, nargs="+", default=[10, 20])
    args = parser.parse_args()

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    rng = np.random.default_rng(0)
    print(f"{'d':>4} {'L':>3} {'keras s':>8} {'gathered s':>10} {'max |diff|':>10}")
    for d in args.dims:
        for length in args.lengths:
            keras, gathered, diff = measure(tf, d, length, rng)
            print(f"{d:>4} {length:>3} {keras:>8.3f} {gathered:>10.3f} {diff:>10.1e}")


if __name__ == "__main__":
    main()
