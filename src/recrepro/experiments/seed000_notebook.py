"""Seed 000's notebook under its own set-up: its three TFRS models trained on all 100K ratings
and scored, as the notebook prints them, by ``FactorizedTopK`` on the training ratings.

The notebook (``2022506030-SrinivasanK.ipynb`` of github.com/Srini-23/HarpyIntern_Project1,
the repository whose README is seed 000) loads ``tfds.load("movielens/100k-ratings",
split="train")`` -- all 100,000 ratings, the dataset's only split -- and trains on all of them:

* model 1 (``collaborative``): ``StringLookup(mask_token=None)`` + ``Embedding(., 64)`` towers,
  ``tfrs.tasks.Retrieval(metrics=tfrs.metrics.FactorizedTopK(movies.batch(128).map(movie_model)))``,
  ``model.compile(optimizer=tf.keras.optimizers.Adagrad(0.5))``,
  ``model.fit(ratings.batch(4096), epochs=3)`` (the TFRS quickstart's code);
* model 2 (``basic_retrieval``): the same with ``StringLookup()`` towers;
* model 3 (``enhanced_retrieval``): ``Embedding(., 64)`` then ``Dense(32, activation="relu")``
  in both towers, ``FactorizedTopK(..., ks=[5, 10])``, ``Adam(0.01)``,
  ``model.fit(ratings.batch(4096), epochs=5)`` (the timestamps are loaded but unused).

It never calls ``model.evaluate``: its numbers are the Keras progress bar of ``fit`` (one line
per epoch), i.e. for each epoch the share of that epoch's training ratings whose movie the
query ranked in the top K of all movies, each batch scored by the forward pass of its own
training step (the weights before that step's update; the metric is reset every epoch).

Here each model is fitted with that recipe by our own model code (towers, keras model, loss,
optimiser, compiled step of :class:`~recrepro.models.tf.bases.RetrievalRecommender`) on all
the parsed ratings (``<data_dir>/ratings.parquet``), and the same quantity is recorded: before
each optimiser step the batch's ratings are scored with the current weights by the rule of the
notebook's ``tfrs.metrics.FactorizedTopK`` over every movie's candidate embedding
(:func:`tfrs_rule_hits`), as its ``tfrs.tasks.Retrieval`` does in every training step, and
averaged over the epoch. That metric is score-based: the rated movie's
score ``sum(q * c)`` against the top-K scores of a matrix product, which include the movie
itself, so a round-off that puts its own matrix-product score above ``sum(q * c)`` costs it a
place; the study's evaluator (:func:`recrepro.evaluation.metrics.factorized_top_k`: fewer than K
*other* movies strictly above) does not, so it gives somewhat higher values at small K (e.g.
top@1 0.0089 against TFRS's 0.0057 for ``collaborative`` after training on CPU; at K = 100 they
agree to 0.001). Both are reported. As ``ratings.batch(4096)`` reads the TFDS file in the same
(pre-shuffled) order every epoch, the ratings are put in one random order drawn from the seed
and batched in that order every epoch (``reshuffle=True``: a new order per epoch, as the study's
training loop does).

Metrics, for ``<model>`` in :data:`MODELS` and K in :data:`KS`:

* ``<model>.factorized_top@K_train``: the notebook's number, the last epoch's in-training
  share by the rule of TFRS's ``tfrs.metrics.FactorizedTopK`` (``..._train_epoch<e>``: epoch
  ``e``);
* ``<model>.factorized_top@K_train_after``: the same metric on the same ratings once after
  training (what ``model.evaluate(ratings.batch(4096))`` would print; not in the notebook);
* ``<model>.factorized_top@K_train_evaluator`` and ``..._train_after_evaluator``: the same two
  with the study's evaluator rule instead (see below);
* ``<model>.loss``: the last epoch's mean over steps of the batch loss (summed over the batch,
  as ``tfrs.tasks.Retrieval``'s); ``<model>.loss_progbar``: the same as Keras 2's progress bar
  prints it, the notebook's ``loss`` column (the epoch's last step counted twice:
  ``(sum of the step losses + the last one) / (steps + 1)``; ``..._epoch<e>``: epoch ``e``);
* ``<model>.cpu_seconds``: ``time.process_time`` of the fit and its scoring (TensorFlow's
  import excluded; machine load and thread count change it).

Nulls under the same metric, on the same ratings: ``random.factorized_top@K_train`` (uniform
random scores drawn from the seed) and ``popularity.factorized_top@K_train`` (each movie's
number of ratings, the same for every user); for the loss, ``uniform.loss_progbar``: the loss of
constant scores on the same batches (a model that learnt nothing: ``b ln b`` per batch of ``b``).

Differences from the notebook: movies are keyed by MovieLens id, not title (1,682 movies; the
notebook's title vocabulary merges the 18 titles shared by two movies, and its candidate list
repeats them); the notebook ran on a Colab GPU in July 2024 (``pip install
tensorflow-recommenders`` of that date), this runs the installed versions on CPU, from another
random initialisation and rating order. The notebook's small-K values are lower than ours (e.g.
top@5 0.0077 against about 0.0091 for model 1) while top@50 and top@100 agree; its numbers are
close to ours at K - 1 (the evaluator rule), as if the rated movie's own candidate score came out
above ``sum(q * c)`` in most batches on its GPU.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recrepro.core.errors import ConfigError, DataError

log = logging.getLogger(__name__)

DESCRIPTION = (
    "Seed 000's notebook (Srini-23/HarpyIntern_Project1): its 3 TFRS models trained on all 100K "
    "ratings with its recipe; FactorizedTopK on the training ratings as its fit() progress bar "
    "prints it, and after training; random and popularity nulls"
)

#: Our registered models for the notebook's models 1, 2 and 3.
MODELS = ("collaborative", "basic_retrieval", "enhanced_retrieval")
#: ``FactorizedTopK``'s default ks (models 1 and 2 print them; model 3 prints only 5 and 10).
KS = (1, 5, 10, 50, 100)

_BASIC = {
    "embedding_dim": 64,  # tf.keras.layers.Embedding(<vocabulary>.vocab_size(), 64)
    "hidden_units": [],
    "optimizer": "adagrad",
    "learning_rate": 0.5,  # tf.keras.optimizers.Adagrad(0.5)
    "batch_size": 4096,  # ratings.batch(4096)
    "epochs": 3,  # epochs=3
    "objective": "in_batch",  # tfrs.tasks.Retrieval (no logQ correction, no l2)
    "l2": 0.0,
    "timestamp_features": False,
    "patience": 0,
}
#: The notebook's recipe of each model, as our models' hyperparameters (every value is in the
#: notebook's code; see the module docstring).
RECIPES: dict[str, dict[str, Any]] = {
    "collaborative": {**_BASIC, "string_lookup": False},  # StringLookup(mask_token=None): a bijection
    "basic_retrieval": {**_BASIC, "string_lookup": True},
    "enhanced_retrieval": {
        **_BASIC,
        "string_lookup": True,
        "hidden_units": [32],  # Dense(32, activation="relu") after the embedding, both towers
        "output_activation": "relu",
        "optimizer": "adam",
        "learning_rate": 0.01,  # tf.keras.optimizers.Adam(0.01)
        "epochs": 5,  # epochs=5
        "title_text": False,
    },
}

#: What the notebook prints (cells 1, 3 and 5 of its last version; ``fit``'s progress bar, the
#: last epoch's line): ``factorized_top_k/top_K_categorical_accuracy`` and ``loss`` per epoch.
NOTEBOOK_NUMBERS: dict[str, dict[int, dict[str, float]]] = {
    "collaborative": {
        1: {"top@1": 9.0e-05, "top@5": 0.0019, "top@10": 0.0051, "top@50": 0.0450, "top@100": 0.1008,
            "loss": 33087.2988},
        2: {"top@1": 1.2e-04, "top@5": 0.0047, "top@10": 0.0143, "top@50": 0.1053, "top@100": 0.2096,
            "loss": 31011.4221},
        3: {"top@1": 3.8e-04, "top@5": 0.0077, "top@10": 0.0222, "top@50": 0.1449, "top@100": 0.2698,
            "loss": 30416.5624},
    },
    "basic_retrieval": {
        1: {"top@1": 5.0e-05, "top@5": 0.0015, "top@10": 0.0052, "top@50": 0.0437, "top@100": 0.0982,
            "loss": 33097.6167},
        2: {"top@1": 1.3e-04, "top@5": 0.0050, "top@10": 0.0145, "top@50": 0.1059, "top@100": 0.2115,
            "loss": 31016.7501},
        3: {"top@1": 3.5e-04, "top@5": 0.0081, "top@10": 0.0225, "top@50": 0.1452, "top@100": 0.2684,
            "loss": 30424.7710},
    },
    "enhanced_retrieval": {
        1: {"top@5": 0.0026, "top@10": 0.0061, "loss": 32319.9238},
        2: {"top@5": 0.0044, "top@10": 0.0095, "loss": 31469.4475},
        3: {"top@5": 0.0058, "top@10": 0.0136, "loss": 30948.1596},
        4: {"top@5": 0.0078, "top@10": 0.0188, "loss": 30583.5393},
        5: {"top@5": 0.0110, "top@10": 0.0245, "loss": 30337.4820},
    },
}  # fmt: skip


def seed000_notebook(
    data_dir: Path,
    split_dir: Path | None,
    seed: int,
    *,
    models: Sequence[str] = MODELS,
    epochs: int | None = None,
    max_ratings: int | None = None,
    reshuffle: bool = False,
) -> dict[str, float]:
    """The notebook's models and the two nulls on all the parsed ratings, for one seed.

    ``epochs`` (all models) and ``max_ratings`` (a random subsample drawn from the seed) make
    quick runs for tests; None keeps the notebook's epochs and all ratings. ``split_dir`` must be
    None: the notebook trains and scores on all ratings.
    """
    if split_dir is not None:
        raise ConfigError("seed000_notebook trains on all ratings; give no split")
    unknown = sorted(set(models) - set(RECIPES))
    if unknown:
        raise ConfigError(
            f"seed000_notebook: unknown model(s) {', '.join(unknown)}; known: {', '.join(MODELS)}"
        )
    from recrepro.core.logs import import_quietly

    ratings = load_ratings(Path(data_dir), seed, max_ratings)
    metrics = null_metrics(ratings, seed)
    batch_sizes = {int(RECIPES[name]["batch_size"]) for name in models}
    if len(batch_sizes) == 1:  # the notebook's: 4096 for every model
        metrics["uniform.loss_progbar"] = uniform_loss(len(ratings), batch_sizes.pop())
    for library in ("tensorflow", "tensorflow_recommenders"):  # once, outside the models' clocks
        import_quietly(library)
    for index, name in enumerate(models):
        params = dict(RECIPES[name])
        if epochs is not None:
            params["epochs"] = int(epochs)
        rng = np.random.default_rng([seed, index])
        t0 = time.process_time()
        values = fit_and_record(name, params, ratings, rng, reshuffle=reshuffle)
        values["cpu_seconds"] = time.process_time() - t0
        log.info(
            "%s: top@100 %.4f in training (last epoch), %.4f after; %.1f CPU-s", name,
            values["factorized_top@100_train"], values["factorized_top@100_train_after"],
            values["cpu_seconds"],
        )  # fmt: skip
        metrics.update({f"{name}.{key}": value for key, value in values.items()})
    return metrics


def run(data_dir: Path, split_dir: Path | None, seed: int) -> dict[str, float]:
    """The registry's entry point: :func:`seed000_notebook` with the notebook's recipe."""
    return seed000_notebook(data_dir, split_dir, seed)


def load_ratings(data_dir: Path, seed: int, max_ratings: int | None = None):
    """All parsed ratings (``ratings.parquet``) as Interactions over the dataset's catalogue;
    with ``max_ratings``, that many drawn at random (from ``seed``), in file order."""
    from recrepro.data.interactions import Interactions
    from recrepro.data.loading import load_catalogue

    path = data_dir / "ratings.parquet"
    if not path.is_file():
        raise DataError(f"{path} is missing; prepare the dataset first (recrepro prepare)")
    frame = pd.read_parquet(path)
    if max_ratings is not None and max_ratings < len(frame):
        rows = np.sort(np.random.default_rng([seed, 999]).choice(len(frame), max_ratings, replace=False))
        frame = frame.iloc[rows]
    return Interactions.from_frame(frame, load_catalogue(data_dir))


def factorized(scores: np.ndarray, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Hits ``[len(rows), len(KS)]`` of ``factorized_top@K`` (see the module docstring)."""
    from recrepro.evaluation.metrics import factorized_top_k

    hits = factorized_top_k(scores, rows, items, KS)
    return np.stack([hits[f"factorized_top@{k}"] for k in KS], axis=1)


def _named(hits: np.ndarray, suffix: str) -> dict[str, float]:
    means = hits.mean(axis=0) if hits.ndim == 2 else hits
    return {f"factorized_top@{k}_{suffix}": float(v) for k, v in zip(KS, means, strict=True)}


def null_metrics(ratings, seed: int) -> dict[str, float]:
    """``random.*`` and ``popularity.*``: the metric with score matrices that ignore training."""
    n_users, n_items = ratings.n_users, ratings.n_items
    counts = np.bincount(ratings.item, minlength=n_items).astype(np.float32)
    nulls = {
        "random": np.random.default_rng([seed, 7]).random((n_users, n_items), dtype=np.float32),
        "popularity": np.broadcast_to(counts, (n_users, n_items)),
    }
    out: dict[str, float] = {}
    for name, scores in nulls.items():
        hits = factorized(scores, ratings.user, ratings.item)
        out.update({f"{name}.{key}": value for key, value in _named(hits, "train").items()})
    return out


def fit_and_record(
    name: str, params: dict[str, Any], ratings, rng: np.random.Generator, reshuffle: bool = False
) -> dict[str, float]:
    """Fit model ``name`` (a :class:`RetrievalRecommender`) with ``params`` on ``ratings`` as
    :meth:`RetrievalRecommender.fit` does without validation data, recording the notebook's
    in-training ``FactorizedTopK`` per epoch; then score the ratings once more after training."""
    from recrepro.models.registry import build_model
    from recrepro.models.tf.bases import RetrievalRecommender
    from recrepro.models.tf.runtime import import_tensorflow, make_optimizer, seed_from
    from recrepro.models.tf.training import make_train_step

    model = build_model(name, params)
    if not isinstance(model, RetrievalRecommender):
        raise ConfigError(f"seed000_notebook: model '{name}' is not a TFRS retrieval model")
    model.check_objective(ratings)
    tf = import_tensorflow(seed_from(rng))
    model._remember_data(ratings)
    model.query_tower = model._with_lookup(tf, "user", model.build_query_tower(tf, ratings))
    model.candidate_tower = model._with_lookup(tf, "item", model.build_candidate_tower(tf, ratings))
    model.keras_model = model.build_keras_model(tf, ratings)
    optimizer = make_optimizer(tf, model.params["optimizer"], model.params["learning_rate"])
    step = make_train_step(tf, model.keras_model, optimizer)
    features = model.train_features(ratings)
    batch_size, n = int(model.params["batch_size"]), len(ratings)
    order = rng.permutation(n)
    out: dict[str, float] = {}
    for epoch in range(1, int(model.params["epochs"]) + 1):
        if reshuffle and epoch > 1:
            order = rng.permutation(n)
        tfrs_hits, ours, losses = [], [], []
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            # the batch scored with the weights of its own step, before the update
            tfrs_hits.append(tfrs_rule_hits(tf, model, ratings.user[idx], ratings.item[idx]))
            users, rows = np.unique(ratings.user[idx], return_inverse=True)
            ours.append(factorized(model.score(users), rows, ratings.item[idx]))
            losses.append(step({key: values[idx] for key, values in features.items()}))
        epoch_hits = np.concatenate(tfrs_hits).mean(axis=0)
        model.log_epoch(loss=float(np.mean(losses)), **_named(epoch_hits, "train"))
        out.update(_named(epoch_hits, f"train_epoch{epoch}"))
        out[f"loss_progbar_epoch{epoch}"] = progbar_mean(losses)
    out.update(_named(epoch_hits, "train"))
    out.update(_named(np.concatenate(ours), "train_evaluator"))
    out["loss"] = float(np.mean(losses))
    out["loss_progbar"] = progbar_mean(losses)
    after = [
        tfrs_rule_hits(tf, model, ratings.user[start : start + batch_size],
                       ratings.item[start : start + batch_size])
        for start in range(0, n, batch_size)
    ]  # fmt: skip
    out.update(_named(np.concatenate(after), "train_after"))
    users = np.arange(ratings.n_users)
    out.update(_named(factorized(model.score(users), ratings.user, ratings.item), "train_after_evaluator"))
    return out


def progbar_mean(losses: Sequence[float]) -> float:
    """An epoch's loss as Keras 2's progress bar prints it: the mean over steps, except that the
    epoch-end update (``ProgbarLogger._finalize_progbar``) adds the last step's value once more,
    with weight 1: ``(sum of the step losses + the last one) / (steps + 1)``."""
    return float((np.sum(losses) + losses[-1]) / (len(losses) + 1))


def uniform_loss(n: int, batch_size: int) -> float:
    """The in-batch softmax loss of constant scores (a model that learnt nothing), as the progress
    bar prints it: a batch of ``b`` rows costs ``b * ln(b)`` (every row's softmax is uniform over
    the ``b`` columns, duplicates included)."""
    sizes = np.minimum(batch_size, n - np.arange(0, n, batch_size))
    return progbar_mean(sizes * np.log(sizes))


def tfrs_rule_hits(tf: Any, model, users: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Hits ``[len(users), len(KS)]`` of the rated ``(users, items)`` as the notebook's
    ``tfrs.metrics.FactorizedTopK`` counts them (score-based, candidates
    ``movies.batch(128).map(movie_model)`` with the current weights).

    TFRS puts the rated movie's score ``sum(q * c)`` before the top-K scores of ``q`` against
    every candidate (matrix products over candidate batches of 128, the movie itself included)
    and asks ``tf.math.in_top_k``, which is a hit when fewer than K of them are strictly greater.
    As K <= the retrieved 100, that is: fewer than K candidates score strictly above
    ``sum(q * c)`` in those products, which is what is counted here, in TensorFlow, without
    TFRS's ``tf.data`` pass over the candidates (which costs seconds per call in eager mode).
    ``tests/test_seed000_notebook.py`` checks it against ``FactorizedTopK`` itself.
    """
    query = model.query_tower(model.query_features(users))
    positive = tf.reduce_sum(query * model.candidate_tower(model._ids("item", items)), axis=1, keepdims=True)
    inputs = model._ids("item", np.arange(model.n_items))
    above = tf.zeros(tf.shape(positive)[0], tf.int32)
    for start in range(0, len(inputs), 128):
        candidates = model.candidate_tower(inputs[start : start + 128])
        scores = tf.linalg.matmul(query, candidates, transpose_b=True)
        above += tf.reduce_sum(tf.cast(scores > positive, tf.int32), axis=1)
    return above.numpy()[:, None] < np.asarray(KS)[None, :]
