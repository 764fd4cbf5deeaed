"""Shared TensorFlow helpers: lazy, seeded, deterministic import; towers; the epoch loop.

TensorFlow is imported only inside these functions, so non-TF models and the workflow's light
steps never pay its start-up cost.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import cache
from typing import Any

import numpy as np

from recrepro.models.base import Recommender


def seed_from(rng: np.random.Generator) -> int:
    """A TensorFlow seed drawn from the run's generator."""
    return int(rng.integers(0, 2**31 - 1))


def import_tensorflow(seed: int) -> Any:
    """Import TensorFlow, seed Python/NumPy/TF from ``seed`` and make its ops deterministic.

    Thread counts follow ``RECREPRO_THREADS`` (set by the CLI from Snakemake's ``threads``).
    """
    from recrepro.logs import import_quietly

    tf = import_quietly("tensorflow")  # without the lines its native libraries print on loading
    threads = int(os.environ.get("RECREPRO_THREADS", "0"))
    if threads > 0:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:  # already initialised in this process (tests): keep the first setting
            pass
    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    return tf


def make_optimizer(tf: Any, name: str, learning_rate: float) -> Any:
    """A Keras 2 optimizer by name: ``adagrad``, ``adam`` or ``sgd``."""
    optimizers = {
        "adagrad": tf.keras.optimizers.Adagrad,
        "adam": tf.keras.optimizers.Adam,
        "sgd": tf.keras.optimizers.SGD,
    }
    return optimizers[name](learning_rate=learning_rate)


Step = Callable[[dict[str, np.ndarray]], float]


def make_train_step(tf: Any, model: Any, optimizer: Any) -> Step:
    """A compiled optimiser step for a ``tfrs.Model`` (anything with ``compute_loss``).

    Returns a function taking one batch of NumPy features and returning the batch loss
    (regularisation losses included). The step is traced once, on the first batch, with the
    batch dimension left unknown, so the smaller last batch of an epoch does not trace it again,
    and TensorFlow's graph optimiser cannot constant-fold batch-sized tensors: with a static
    batch size it folds ``tfrs.tasks.Retrieval``'s ``tf.eye(batch, batch)`` labels, 21 CPU-s at
    batch 8192 (``benchmarks/bench_tf_step.py``; :func:`retrieval_task` avoids those labels).
    """

    def step(batch: dict[str, Any]) -> Any:
        with tf.GradientTape() as tape:
            loss = model.compute_loss(batch, training=True)
            total = loss + sum(model.losses) if model.losses else loss
        variables = model.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(total, variables), variables, strict=True))
        return loss

    compiled: list[Any] = []

    def run(batch: dict[str, np.ndarray]) -> float:
        if not compiled:
            signature = {
                name: tf.TensorSpec([None, *np.shape(values)[1:]], _tf_dtype(tf, values))
                for name, values in batch.items()
            }
            compiled.append(tf.function(step, input_signature=[signature]))
        return float(compiled[0](batch))

    return run


def _tf_dtype(tf: Any, values: np.ndarray) -> Any:
    """The TensorFlow dtype of a NumPy feature column (object/str columns are strings)."""
    kind = np.asarray(values).dtype
    return tf.string if kind.kind in "OSU" else tf.as_dtype(kind)


def retrieval_task(tf: Any, max_batch_size: int) -> Any:
    """``tfrs.tasks.Retrieval()`` (in-batch softmax, the seeds' task) for batches of at most
    ``max_batch_size``, with its identity labels built once.

    TFRS builds ``tf.eye(batch, batch)`` in every step: a batch x batch matrix (256 MiB at the
    seeds' batch of 8,192) written and read again each time. This task keeps one identity matrix
    and slices it (a slice of the whole matrix is the matrix itself, no copy); everything else is
    TFRS's own loss, so losses and gradients are bit-for-bit those of ``tfrs.tasks.Retrieval``.
    Only the plain call is supported (no metrics, sampling correction, masks or extra options).
    """
    return _task_classes(tf)["CachedLabelRetrieval"](max_batch_size)


@cache
def _task_classes(tf: Any) -> dict[str, type]:
    import tensorflow_recommenders as tfrs

    class CachedLabelRetrieval(tfrs.tasks.Retrieval):
        def __init__(self, max_batch_size: int) -> None:
            super().__init__()
            self.max_batch_size = int(max_batch_size)
            with tf.init_scope():  # eager, once: captured by the traced step, never folded
                self._labels = tf.eye(self.max_batch_size)

        def call(self, query: Any, candidates: Any, compute_metrics: bool = False) -> Any:
            if compute_metrics:
                raise ValueError("this retrieval task computes no metrics; use the evaluator")
            scores = tf.linalg.matmul(query, candidates, transpose_b=True)
            shape = tf.shape(scores)
            tf.debugging.assert_less_equal(
                shape, self.max_batch_size, message="batch larger than the task's max_batch_size"
            )
            labels = self._labels[: shape[0], : shape[1]]
            return tf.identity(self._loss(y_true=labels, y_pred=scores))

    return {"CachedLabelRetrieval": CachedLabelRetrieval}


def embedding_tower(
    tf: Any, vocabulary_size: int, dim: int, hidden_units: tuple[int, ...] = (), name: str = ""
) -> Any:
    """``Sequential([Embedding, Dense...])`` over integer indices, as in the seeds' towers.

    With ``hidden_units`` the tower ends in Dense layers (ReLU between, linear last), like the
    "enhanced" and wide & deep seed models.
    """
    layers = [tf.keras.layers.Embedding(vocabulary_size, dim), *dense_stack(tf, hidden_units)]
    return tf.keras.Sequential(layers, name=name or None)


def dense_stack(tf: Any, units: Sequence[int], activation: str | None = None) -> list[Any]:
    """Dense layers of ``units`` with ReLU between them; the last one uses ``activation``
    (linear by default). Empty ``units`` give no layers."""
    return [
        tf.keras.layers.Dense(n, activation=activation if i == len(units) - 1 else "relu")
        for i, n in enumerate(units)
    ]


def rating_head(tf: Any, hidden_units: Sequence[int]) -> Any:
    """The TFRS ranking tutorials' rating model: ReLU Dense ``hidden_units`` then a linear
    ``Dense(1)``, applied to the concatenated user and movie embeddings."""
    return tf.keras.Sequential(dense_stack(tf, [*hidden_units, 1]))


def batches(
    features: Mapping[str, np.ndarray], batch_size: int, rng: np.random.Generator
) -> Iterator[dict[str, np.ndarray]]:
    """One epoch of shuffled mini-batches (shuffled by the run's generator)."""
    n = len(next(iter(features.values())))
    order = rng.permutation(n)
    for start in range(0, n, batch_size):
        idx = order[start : start + batch_size]
        yield {k: v[idx] for k, v in features.items()}


def train_epochs(
    model: Recommender,
    step: Callable[[dict[str, np.ndarray]], float],
    features: Mapping[str, np.ndarray],
    *,
    epochs: int,
    batch_size: int,
    rng: np.random.Generator,
    validate: Callable[[], dict[str, float]] | None = None,
    monitor: str | None = None,
    patience: int = 0,
    get_weights: Callable[[], Any] | None = None,
    set_weights: Callable[[Any], None] | None = None,
    mode: str = "max",
) -> None:
    """Run ``epochs`` epochs of ``step`` (one optimiser step on a batch, returning its loss).

    Logs the mean batch loss and the ``validate()`` values per epoch in ``model.history``. With
    ``patience > 0`` it stops when ``monitor`` has not improved for ``patience`` epochs and
    restores the best weights; ``mode`` says whether higher (``"max"``, e.g. NDCG) or lower
    (``"min"``, e.g. RMSE) is better. Without validation values there is no early stopping.
    """
    if mode not in ("max", "min"):
        raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
    sign = 1.0 if mode == "max" else -1.0
    best, best_weights, waited = -np.inf, None, 0
    for _ in range(epochs):
        losses, sizes = [], []
        for batch in batches(features, batch_size, rng):
            losses.append(step(batch))
            sizes.append(len(next(iter(batch.values()))))
        values = {"loss": float(np.average(losses, weights=sizes))}
        if validate is not None:
            values.update(validate())
        model.log_epoch(**values)
        if patience > 0 and monitor is not None and monitor in values:
            if sign * values[monitor] > best:
                best, waited = sign * values[monitor], 0
                best_weights = get_weights() if get_weights else None
            else:
                waited += 1
                if waited >= patience:
                    break
    if best_weights is not None and set_weights is not None:
        set_weights(best_weights)
