"""The training loop shared by the TF models (TF-free at import): mini-batches, the compiled
optimiser step, epochs with early stopping and per-epoch validation values."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from recrepro.models.base import Recommender

if TYPE_CHECKING:
    from recrepro.data.interactions import Interactions

Step = Callable[[dict[str, np.ndarray]], float]


def make_train_step(tf: Any, model: Any, optimizer: Any) -> Step:
    """A compiled optimiser step for a ``tfrs.Model`` (anything with ``compute_loss``).

    Returns a function taking one batch of NumPy features and returning the batch loss
    (regularisation losses included). The step is traced once, on the first batch, with the
    batch dimension left unknown, so the smaller last batch of an epoch does not trace it again,
    and TensorFlow's graph optimiser cannot constant-fold batch-sized tensors (with a static
    batch size it folds ``tfrs.tasks.Retrieval``'s ``tf.eye(batch, batch)`` labels, 18 CPU-s at
    batch 8192; ``benchmarks/bench_tf_step.py``). The variables are created before it is traced
    (:func:`build_variables`), so it is traced once, not twice, and without AutoGraph.
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
            build_variables(model, optimizer, batch)
            signature = {
                name: tf.TensorSpec([None, *np.shape(values)[1:]], _tf_dtype(tf, values))
                for name, values in batch.items()
            }
            # No AutoGraph: the step has no tensor-dependent Python control flow (loops over
            # tensors are tf.while_loop, e.g. KNNLayer), so converting its source (and every
            # Keras call's) only costs CPU: 0.1-0.45 CPU-s per model and process; same graph.
            compiled.append(tf.function(step, input_signature=[signature], autograph=False))
        return float(compiled[0](batch))

    return run


def build_variables(model: Any, optimizer: Any, batch: dict[str, np.ndarray]) -> None:
    """Create the model's and the optimiser's variables eagerly, before the step is traced.

    A ``tf.function`` whose first trace creates variables (Keras layers build on their first
    call, optimisers their slots on their first update) traces the step a second time, without
    variable creation; creating them first saves that trace (about half the step's tracing,
    the largest fixed cost of a 1-epoch search trial; ``benchmarks/bench_search_trial.py``).
    The loss on the batch's first two rows builds the layers (it assigns nothing) in the order
    the traced step would, so the initial weights are the same.
    """
    model.compute_loss({name: values[:2] for name, values in batch.items()}, training=True)
    optimizer.build(model.trainable_variables)


def _tf_dtype(tf: Any, values: np.ndarray) -> Any:
    """The TensorFlow dtype of a NumPy feature column (object/str columns are strings)."""
    kind = np.asarray(values).dtype
    return tf.string if kind.kind in "OSU" else tf.as_dtype(kind)


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


def validation_callback(
    model: Recommender,
    train: Interactions,
    valid: Interactions | None,
    metrics: Sequence[str] | None = None,
) -> Callable[[], dict[str, float]] | None:
    """Per-epoch ``val_<metric>`` values on ``valid`` (train items masked for ranking metrics;
    ``rmse``/``mae`` are rating errors), or None without validation data. ``metrics`` default to
    the model's :attr:`~recrepro.models.base.Recommender.validation_metrics` (the first is the
    metric the study tunes the model on)."""
    if valid is None or len(valid) == 0:
        return None
    from recrepro.evaluation.evaluate import validation_score

    names = tuple(metrics or model.validation_metrics)
    return lambda: {f"val_{m}": validation_score(model, train, valid, metric=m) for m in names}


def higher_is_better(metric: str) -> bool:
    """True if a larger ``metric`` is better (NDCG), False for errors (RMSE)."""
    from recrepro.evaluation.evaluate import higher_is_better as evaluator_says

    return evaluator_says(metric)
