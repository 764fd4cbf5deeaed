"""TFRS two-tower retrieval models (seeds 000 and 002).

All the seed systems of this family are the TensorFlow Recommenders retrieval recipe: a query
(user) tower and a candidate (movie) tower of embeddings, trained with ``tfrs.tasks.Retrieval``
(in-batch softmax over the batch's movies), and recommendations by brute-force search over all
movie embeddings. Brute-force search is exactly the product of the user embedding with every
movie embedding, which ``score`` computes directly; ``FactorizedTopK`` is computed by the shared
evaluator (``factorized_top@K``) for every model rather than inside training, where it would
only slow the epochs down.

The seeds key movies by title; MovieLens 100K titles are not unique (several distinct movies
share a title), so every model here keys movies by their MovieLens id.

Seed 000's systems are the notebook ``2022506030-SrinivasanK.ipynb`` of
github.com/Srini-23/HarpyIntern_Project1 (the seed is its README). The seed text gives no
numbers; the notebook does, and the ``defaults`` below are the notebook's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, ClassVar

import numpy as np

from recrepro.data.interactions import Interactions
from recrepro.models._tf import (
    dense_stack,
    import_tensorflow,
    make_optimizer,
    make_train_step,
    retrieval_task,
    seed_from,
    train_epochs,
)
from recrepro.models.base import Recommender
from recrepro.models.registry import register

TIMESTAMP_BUCKETS = 100


@cache
def keras_classes(tf: Any) -> dict[str, type]:
    """Keras classes built once TensorFlow is imported (keeps this module TF-free at import)."""
    import tensorflow_recommenders as tfrs

    class FeatureTower(tf.keras.Model):
        """Concatenates one sub-model per input feature, then applies a Dense head (if any)."""

        def __init__(self, parts: dict[str, Any], head: list[Any]) -> None:
            super().__init__()
            self.parts = parts
            self.head = head

        def call(self, features: dict[str, Any]) -> Any:
            outputs = [part(features[name]) for name, part in self.parts.items()]
            x = outputs[0] if len(outputs) == 1 else tf.concat(outputs, axis=1)
            for layer in self.head:
                x = layer(x)
            return x

    class Concat(tf.keras.Model):
        """Applies every part to the same input, concatenates the outputs, then the head."""

        def __init__(self, parts: list[Any], head: list[Any] | None = None) -> None:
            super().__init__()
            self.parts = parts
            self.head = head or []

        def call(self, inputs: Any) -> Any:
            x = tf.concat([part(inputs) for part in self.parts], axis=1)
            for layer in self.head:
                x = layer(x)
            return x

    class Lookup(tf.keras.Model):
        """``StringLookup`` of the raw ids (feature ``key`` of a dict input, or the input
        itself) to contiguous indices, then ``tower`` on the indices."""

        def __init__(self, vocabulary: list[str], key: str, tower: Any) -> None:
            super().__init__()
            # No mask or OOV token: vocabulary[i] -> i, so index-based layers work unchanged.
            self.lookup = tf.keras.layers.StringLookup(
                vocabulary=vocabulary, mask_token=None, num_oov_indices=0
            )
            self.key = key
            self.tower = tower

        def call(self, inputs: Any) -> Any:
            if isinstance(inputs, dict):
                return self.tower({**inputs, self.key: self.lookup(inputs[self.key])})
            return self.tower(self.lookup(inputs))

    class TimeFeature(tf.keras.layers.Layer):
        """A value in [0, 1] (a timestamp, a release year) -> bucket embedding concatenated
        with the raw value (TFRS featurization tutorial)."""

        def __init__(self, dim: int) -> None:
            super().__init__()
            bounds = np.linspace(0.0, 1.0, TIMESTAMP_BUCKETS + 1)[1:-1].tolist()
            self.bucket = tf.keras.layers.Discretization(bin_boundaries=bounds)
            self.embedding = tf.keras.layers.Embedding(TIMESTAMP_BUCKETS, dim)

        def call(self, t: Any) -> Any:
            t = tf.cast(t, tf.float32)
            return tf.concat([self.embedding(self.bucket(t)), t[:, None]], axis=1)

    class TwoTower(tfrs.Model):
        """``tfrs.Model`` whose loss is the retrieval task on (query, candidate) embeddings."""

        def __init__(self, query: Any, candidate: Any, batch_size: int) -> None:
            super().__init__()
            self.query = query
            self.candidate = candidate
            self.task = retrieval_task(tf, batch_size)

        def compute_loss(self, features: dict[str, Any], training: bool = False) -> Any:
            return self.task(
                self.query(features), self.candidate(features["item"]), compute_metrics=False
            )

    return {
        "FeatureTower": FeatureTower,
        "Concat": Concat,
        "Lookup": Lookup,
        "TimeFeature": TimeFeature,
        "TwoTower": TwoTower,
    }


class RetrievalRecommender(Recommender):
    """Base of the TFRS retrieval family; subclasses only change defaults and features.

    Hyperparameters: ``embedding_dim``; ``hidden_units`` (Dense layers after each tower's
    embedding, ReLU between them, the last one with the class's ``output_activation``; the
    towers' output size is then ``hidden_units[-1]``; empty for the basic models);
    ``optimizer``/``learning_rate``; ``epochs``; ``batch_size``; ``string_lookup`` (towers start
    with a ``StringLookup`` over the raw ids, as in the seed code, instead of integer indices);
    ``timestamp_features`` (the query tower also sees the interaction time: a
    bucketised-timestamp embedding plus the normalised timestamp; without ``hidden_units`` a
    linear ``Dense(embedding_dim)`` then maps the concatenation back to the candidates' size);
    ``patience`` (early stopping on the first of ``validation_metrics``; 0 trains all epochs).
    """

    defaults: ClassVar[dict[str, Any]] = {
        "embedding_dim": 32,
        "hidden_units": [],
        "optimizer": "adagrad",
        "learning_rate": 0.1,
        "epochs": 3,
        "batch_size": 8192,
        "string_lookup": False,
        "timestamp_features": False,
        "patience": 0,
    }
    #: Activation of each tower's last Dense layer (an architecture choice of the seed code).
    output_activation: ClassVar[str | None] = None
    #: Validation metrics logged per epoch (``val_<metric>``); the first one is monitored.
    validation_metrics: ClassVar[tuple[str, ...]] = ("ndcg@10",)

    # -- features -------------------------------------------------------------------------------
    def _ids(self, kind: str, index: np.ndarray) -> np.ndarray:
        """Integer indices, or the raw MovieLens ids as strings with ``string_lookup``."""
        if not self.params.get("string_lookup"):
            return index.astype(np.int32)
        column = self._user_ids if kind == "user" else self._item_ids
        return column[index]

    def train_features(self, train: Interactions) -> dict[str, np.ndarray]:
        """Per-interaction features fed to the towers."""
        features = {"user": self._ids("user", train.user), "item": self._ids("item", train.item)}
        if self.params.get("timestamp_features"):
            features["timestamp"] = self._scale_time(train.timestamp)
        return features

    def query_features(self, users: np.ndarray) -> dict[str, np.ndarray]:
        """Query features for ranking; the query time is the user's last training interaction."""
        features = {"user": self._ids("user", users)}
        if self.params.get("timestamp_features"):
            features["timestamp"] = self._scale_time(self._last_time[users])
        return features

    def _scale_time(self, ts: np.ndarray) -> np.ndarray:
        return ((ts - self._time_range[0]) / max(1, np.ptp(self._time_range))).astype(np.float32)

    # -- towers (over integer indices; ``fit`` adds the StringLookup) ---------------------------
    def _id_embedding(self, tf: Any, kind: str, size: int) -> Any:
        return tf.keras.layers.Embedding(size, self.params["embedding_dim"])

    def tower_head(self, tf: Any, n_parts: int) -> list[Any]:
        """The Dense layers after a tower's embeddings (see the class docstring)."""
        if self.params.get("hidden_units"):
            return dense_stack(tf, self.params["hidden_units"], self.output_activation)
        return [tf.keras.layers.Dense(self.params["embedding_dim"])] if n_parts > 1 else []

    def build_query_tower(self, tf: Any, train: Interactions) -> Any:
        parts = {"user": self._id_embedding(tf, "user", train.n_users)}
        if self.params.get("timestamp_features"):
            parts["timestamp"] = keras_classes(tf)["TimeFeature"](self.params["embedding_dim"])
        return keras_classes(tf)["FeatureTower"](parts, self.tower_head(tf, len(parts)))

    def build_candidate_tower(self, tf: Any, train: Interactions) -> Any:
        layers = [self._id_embedding(tf, "item", train.n_items), *self.tower_head(tf, 1)]
        return tf.keras.Sequential(layers)

    def _with_lookup(self, tf: Any, kind: str, tower: Any) -> Any:
        if not self.params.get("string_lookup"):
            return tower
        vocabulary = self._user_ids if kind == "user" else self._item_ids
        return keras_classes(tf)["Lookup"](list(vocabulary), kind, tower)

    def build_keras_model(self, tf: Any, train: Interactions) -> Any:
        """The ``tfrs.Model`` trained by ``fit`` (its ``compute_loss`` defines the objective)."""
        return keras_classes(tf)["TwoTower"](
            self.query_tower, self.candidate_tower, self.params["batch_size"]
        )

    # -- contract -------------------------------------------------------------------------------
    def _remember_data(self, train: Interactions) -> None:
        """Vocabularies and time statistics of the training data used by the features."""
        self.n_users, self.n_items = train.n_users, train.n_items
        self._user_ids = train.catalogue.users["user_id"].astype(str).to_numpy()
        self._item_ids = train.catalogue.items["item_id"].astype(str).to_numpy()
        self._time_range = np.array([train.timestamp.min(), train.timestamp.max()], np.float64)
        self._last_time = np.zeros(train.n_users, np.float64)
        np.maximum.at(self._last_time, train.user, train.timestamp)
        self._last_time[np.bincount(train.user, minlength=train.n_users) == 0] = self._time_range[1]

    def fit(
        self, train: Interactions, valid: Interactions | None, rng: np.random.Generator
    ) -> RetrievalRecommender:
        tf = import_tensorflow(seed_from(rng))
        self._remember_data(train)
        self.query_tower = self._with_lookup(tf, "user", self.build_query_tower(tf, train))
        self.candidate_tower = self._with_lookup(tf, "item", self.build_candidate_tower(tf, train))
        self.keras_model = self.build_keras_model(tf, train)
        optimizer = make_optimizer(tf, self.params["optimizer"], self.params["learning_rate"])
        monitor = self.validation_metrics[0]
        train_epochs(
            self,
            make_train_step(tf, self.keras_model, optimizer),
            self.train_features(train),
            epochs=self.params["epochs"],
            batch_size=self.params["batch_size"],
            rng=rng,
            validate=validation_callback(self, train, valid, self.validation_metrics),
            monitor=f"val_{monitor}",
            mode="max" if _higher_is_better(monitor) else "min",
            patience=self.params.get("patience", 0),
            get_weights=self.keras_model.get_weights,
            set_weights=self.keras_model.set_weights,
        )
        return self

    def embeddings(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """User (query) embeddings for ``users`` and the embeddings of every catalogue item."""
        query = self.query_tower(self.query_features(users)).numpy()
        return query, self.item_embeddings()

    def item_embeddings(self) -> np.ndarray:
        """Candidate-tower embeddings of every catalogue item (``[n_items, dim]``)."""
        return self.candidate_tower(self._ids("item", np.arange(self.n_items))).numpy()

    def score(self, users: np.ndarray) -> np.ndarray:
        query, candidates = self.embeddings(np.asarray(users))
        return (query @ candidates.T).astype(np.float32)


def _higher_is_better(metric: str) -> bool:
    from recrepro.evaluation.evaluate import higher_is_better

    return higher_is_better(metric)


def validation_callback(
    model: Recommender,
    train: Interactions,
    valid: Interactions | None,
    metrics: Sequence[str] = ("ndcg@10",),
) -> Callable[[], dict[str, float]] | None:
    """Per-epoch ``val_<metric>`` values on ``valid`` (train items masked for ranking metrics;
    ``rmse``/``mae`` are rating errors), or None without validation data."""
    if valid is None or len(valid) == 0:
        return None
    from recrepro.evaluation.evaluate import validation_score

    return lambda: {f"val_{m}": validation_score(model, train, valid, metric=m) for m in metrics}


@register("two_tower")
class TwoTower(RetrievalRecommender):
    """Two-tower retrieval model of seed 002 (1), which follows the TFRS basic retrieval tutorial.

    Faithful: user and movie towers are 32-dimensional embeddings over vocabularies of the ids,
    trained with the retrieval task and Adagrad (learning rate 0.1) for three epochs on batches of
    8192, recommendations by brute-force search. Differs: movies keyed by id, not title (titles
    are not unique); training uses the split's training interactions only.
    """

    source = "Seed 002 (1); TFRS basic retrieval tutorial"


#: Training settings of seed 000's notebook for its two basic models (Adagrad(0.5), batch 4096,
#: 3 epochs, 64-dimensional embeddings).
_SEED_000_BASIC = {
    **RetrievalRecommender.defaults,
    "embedding_dim": 64,
    "learning_rate": 0.5,
    "batch_size": 4096,
    "epochs": 3,
}


@register("collaborative")
class Collaborative(RetrievalRecommender):
    """Collaborative model of seed 000 (1): TFRS retrieval over user and movie id embeddings.

    Faithful (the seed's notebook, see the module docstring): 64-dimensional user and movie
    embeddings, the retrieval task, Adagrad with learning rate 0.5, 3 epochs on batches of 4096,
    brute-force search. Differs: the towers embed integer indices; the notebook puts a
    ``StringLookup`` in front, a bijection that does not change the model (``basic_retrieval``
    keeps it); movies are keyed by id, not title; only the split's training interactions are
    used; the in-training ``FactorizedTopK`` metric is computed by the evaluator instead.
    """

    source = "Seed 000 (1); Srini-23/HarpyIntern_Project1 notebook, model 1"
    defaults: ClassVar[dict[str, Any]] = dict(_SEED_000_BASIC)


@register("basic_retrieval")
class BasicRetrieval(RetrievalRecommender):
    """Basic MovieLens model of seed 000 (2): ``StringLookup`` + ``Embedding`` towers.

    Faithful: each tower is ``Sequential([StringLookup(vocabulary of ids), Embedding(., 64)])``,
    the retrieval loss in a ``tfrs.Model``, Adagrad with learning rate 0.5, 3 epochs on batches
    of 4096 (the seed's notebook). Differs: the lookup has no mask/OOV rows (the notebook's two
    extra embedding rows are never used); movies keyed by id, not title; ``FactorizedTopK`` is
    computed by the evaluator. Identical in function to ``collaborative``: the pair checks that
    the lookup layer does not matter.
    """

    source = "Seed 000 (2); Srini-23/HarpyIntern_Project1 notebook, model 2"
    defaults: ClassVar[dict[str, Any]] = {**_SEED_000_BASIC, "string_lookup": True}


@register("enhanced_retrieval")
class EnhancedRetrieval(RetrievalRecommender):
    """Enhanced MovieLens model of seed 000 (3): an extra Dense layer per tower, Adam.

    Faithful (the seed's notebook): ``StringLookup`` + ``Embedding(., 64)`` followed by
    ``Dense(32, activation="relu")`` in both towers, the retrieval task, Adam with learning rate
    0.01, 5 epochs on batches of 4096. The notebook loads the timestamps but its towers never
    read them, so ``timestamp_features`` is off in the faithful setting; switching it on feeds a
    bucketised-timestamp embedding and the normalised timestamp to the query tower (queries at
    ranking time use the user's last training timestamp). Differs: movies keyed by id;
    ``FactorizedTopK`` is computed by the evaluator.
    """

    source = "Seed 000 (3); Srini-23/HarpyIntern_Project1 notebook, model 3"
    output_activation: ClassVar[str | None] = "relu"
    defaults: ClassVar[dict[str, Any]] = {
        **_SEED_000_BASIC,
        "string_lookup": True,
        "hidden_units": [32],
        "optimizer": "adam",
        "learning_rate": 0.01,
        "epochs": 5,
    }
