"""Bases of the TF model family (TF-free at import; ``fit`` imports TensorFlow and the Keras
modules of :mod:`recrepro.models.tf`).

* :class:`RetrievalRecommender`: a query (user) tower and a candidate (movie) tower trained with
  a retrieval objective, ranking by brute-force search (the TFRS retrieval recipe);
* :class:`IndexRetrieval`: the same over integer indices, for models that build their own user
  tower (gnn, knn_embedding, session);
* :class:`recrepro.models.tf.joint.JointRecommender` (its own module): two towers, a rating
  head and the weighted rating + retrieval loss (the TFRS multitask recipe).

Every retrieval-trained model takes the hyperparameters ``objective`` (:data:`OBJECTIVES`;
``in_batch`` is the seeds' ``tfrs.tasks.Retrieval``), ``l2`` (weight of the embedding tables'
squared norms in the loss; 0 in the seeds) and ``max_softmax_items`` (largest catalogue the
``full_softmax`` objective accepts).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from recrepro.core.errors import ConfigError, ModelNotApplicable
from recrepro.data.interactions import Interactions
from recrepro.models.base import Recommender
from recrepro.models.tf.runtime import import_tensorflow, make_optimizer, seed_from
from recrepro.models.tf.training import (
    higher_is_better,
    make_train_step,
    train_epochs,
    validation_callback,
)

#: Retrieval objectives: the seeds' in-batch softmax, the same with the logQ correction, and
#: the softmax over the whole catalogue (see :mod:`recrepro.models.tf.objectives`).
OBJECTIVES = ("in_batch", "in_batch_logq", "full_softmax")
#: The time of a ranking query (hyperparameter ``query_time``; see :class:`RetrievalRecommender`).
QUERY_TIMES = ("last_train", "interaction")
#: The tuned setting's search space of the retrieval-trained models (their declared
#: ``search_space``, extended by some): objective (contract 1), optimiser, log learning rate,
#: size, L2 (0 or log-spaced), batch size and an epoch cap with early stopping (patience 2 in
#: search trials).
RETRIEVAL_SPACE: dict[str, Any] = {
    "objective": list(OBJECTIVES),
    "optimizer": ["adagrad", "adam"],
    "learning_rate": {"low": 0.001, "high": 0.5, "log": True},
    "embedding_dim": [32, 64, 128],
    "l2": [0.0, 1.0e-6, 1.0e-5, 1.0e-4],
    "batch_size": [2048, 4096, 8192],
    "epochs": {"low": 4, "high": 16},
    "patience": 2,
}


def sampling_probability(train: Interactions) -> np.ndarray:
    """``[n_items]`` probability that a training row's item is ``i``: its frequency in
    ``train`` (the in-batch sampling probability of the logQ correction)."""
    counts = np.bincount(train.item, minlength=train.n_items).astype(np.float64)
    return counts / max(1, len(train))


class RetrievalRecommender(Recommender):
    """Base of the TFRS retrieval family; subclasses only change defaults and features.

    Hyperparameters: ``embedding_dim``; ``hidden_units`` (Dense layers after each tower's
    embedding, ReLU between them, the last one with the class's ``output_activation``; the
    towers' output size is then ``hidden_units[-1]``; empty for the basic models);
    ``optimizer``/``learning_rate``; ``epochs``; ``batch_size``; ``string_lookup`` (towers start
    with a ``StringLookup`` over the raw ids, as in the seed code, instead of integer indices);
    ``timestamp_features`` (the query tower also sees the interaction time: a
    bucketised-timestamp embedding over ``time_buckets`` equal-width buckets plus the normalised
    timestamp; without ``hidden_units`` a linear ``Dense(embedding_dim)`` then maps the
    concatenation back to the candidates' size); ``query_time`` (the time in a ranking query:
    ``last_train``, the user's last training interaction, for every metric; ``interaction``
    also scores ``factorized_top@K`` per test interaction with that interaction's own time, as
    the TFRS tutorials' ``FactorizedTopK`` does with the test rows' features);
    ``patience`` (early stopping on the first of ``validation_metrics``, the metric the study
    tunes on; 0 trains all epochs);
    ``objective``, ``l2`` and ``max_softmax_items`` (module docstring).
    """

    libraries: ClassVar[tuple[str, ...]] = ("tensorflow", "tensorflow_recommenders")
    defaults: ClassVar[dict[str, Any]] = {
        "embedding_dim": 32,
        "hidden_units": [],
        "optimizer": "adagrad",
        "learning_rate": 0.1,
        "epochs": 3,
        "batch_size": 8192,
        "string_lookup": False,
        "timestamp_features": False,
        "time_buckets": 100,
        "query_time": "last_train",
        "patience": 0,
        "objective": "in_batch",
        "l2": 0.0,
        "max_softmax_items": 100_000,
    }
    #: Activation of each tower's last Dense layer (an architecture choice of the seed code).
    output_activation: ClassVar[str | None] = None
    #: The family's recipe (models that follow more add their own entries).
    citation: ClassVar[str] = r"""
@misc{tfrsBasicRetrieval,
  author       = {{TensorFlow Recommenders Authors}},
  title        = {Recommending movies: retrieval},
  howpublished = {\url{https://www.tensorflow.org/recommenders/examples/basic_retrieval}},
  year         = {2020},
  note         = {TensorFlow Recommenders tutorial}
}
"""
    search_space: ClassVar[dict[str, Any]] = RETRIEVAL_SPACE

    # -- features -------------------------------------------------------------------------------
    def _ids(self, kind: str, index: np.ndarray) -> np.ndarray:
        """Integer indices, or the raw MovieLens ids as strings with ``string_lookup``."""
        if not self.params.get("string_lookup"):
            return np.asarray(index).astype(np.int32)
        column = self._user_ids if kind == "user" else self._item_ids
        return column[index]

    def train_features(self, train: Interactions) -> dict[str, np.ndarray]:
        """Per-interaction features: the query tower's, and ``item``, the catalogue index of the
        row's movie (the keras model maps it to the candidate tower's input)."""
        features = {"user": self._ids("user", train.user), "item": train.item.astype(np.int32)}
        if self.params.get("timestamp_features"):
            features["timestamp"] = self._scale_time(train.timestamp)
        return features

    def query_features(self, users: np.ndarray) -> dict[str, np.ndarray]:
        """Query features for ranking; the query time is the user's last training interaction."""
        features = {"user": self._ids("user", users)}
        if self.params.get("timestamp_features"):
            features["timestamp"] = self._scale_time(self._last_time[users])
        return features

    def interaction_scores(self, test: Interactions) -> np.ndarray | None:
        """With ``query_time: interaction`` and timestamp features, each test interaction's
        query uses its own time (see the class docstring); otherwise None."""
        if not self.params.get("timestamp_features") or self.params["query_time"] != "interaction":
            return None
        features = {
            "user": self._ids("user", test.user),
            "timestamp": self._scale_time(test.timestamp),
        }
        query = self.query_tower(features).numpy()
        return (query @ self.item_embeddings().T).astype(np.float32)

    def _scale_time(self, ts: np.ndarray) -> np.ndarray:
        return ((ts - self._time_range[0]) / max(1, np.ptp(self._time_range))).astype(np.float32)

    # -- towers (over integer indices; ``fit`` adds the StringLookup) ---------------------------
    def _id_embedding(self, tf: Any, kind: str, size: int) -> Any:
        return tf.keras.layers.Embedding(size, self.params["embedding_dim"])

    def tower_head(self, tf: Any, n_parts: int) -> list[Any]:
        """The Dense layers after a tower's embeddings (see the class docstring)."""
        from recrepro.models.tf.layers import dense_stack

        if self.params.get("hidden_units"):
            return dense_stack(self.params["hidden_units"], self.output_activation)
        return [tf.keras.layers.Dense(self.params["embedding_dim"])] if n_parts > 1 else []

    def build_query_tower(self, tf: Any, train: Interactions) -> Any:
        from recrepro.models.tf.layers import FeatureTower, TimeFeature

        parts = {"user": self._id_embedding(tf, "user", train.n_users)}
        if self.params.get("timestamp_features"):
            parts["timestamp"] = TimeFeature(
                self.params["embedding_dim"], self.positive("time_buckets", minimum=2)
            )
        return FeatureTower(parts, self.tower_head(tf, len(parts)))

    def build_candidate_tower(self, tf: Any, train: Interactions) -> Any:
        layers = [self._id_embedding(tf, "item", train.n_items), *self.tower_head(tf, 1)]
        return tf.keras.Sequential(layers)

    def _with_lookup(self, tf: Any, kind: str, tower: Any) -> Any:
        if not self.params.get("string_lookup"):
            return tower
        from recrepro.models.tf.layers import Lookup

        vocabulary = self._user_ids if kind == "user" else self._item_ids
        return Lookup(list(vocabulary), kind, tower)

    def objective_options(self, tf: Any, train: Interactions) -> dict[str, Any]:
        """Keyword arguments of the keras models: candidate inputs, objective, sampling
        probabilities and ``l2``."""
        return {
            "candidate_inputs": tf.constant(self._ids("item", np.arange(train.n_items))),
            "objective": self.params.get("objective", "in_batch"),
            "sampling_probability": sampling_probability(train),
            "l2": float(self.params["l2"]),
        }

    def build_keras_model(self, tf: Any, train: Interactions) -> Any:
        """The ``tfrs.Model`` trained by ``fit`` (its ``compute_loss`` defines the objective)."""
        from recrepro.models.tf.keras_models import RetrievalModel

        return RetrievalModel(
            self.query_tower, self.candidate_tower, **self.objective_options(tf, train)
        )

    # -- contract -------------------------------------------------------------------------------
    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        objective, l2 = self.params.get("objective", "in_batch"), float(self.params["l2"])
        if objective not in OBJECTIVES:
            raise ConfigError(
                f"model '{self.name}': unknown objective '{objective}'; "
                f"known: {', '.join(OBJECTIVES)}"
            )
        if not l2 >= 0:
            raise ConfigError(f"model '{self.name}': l2 must be >= 0, got {l2}")
        if self.params.get("query_time", "last_train") not in QUERY_TIMES:
            raise ConfigError(
                f"model '{self.name}': unknown query_time '{self.params['query_time']}'; "
                f"known: {', '.join(QUERY_TIMES)}"
            )

    def check_objective(self, train: Interactions) -> None:
        """Refuse catalogues too large for the full softmax
        (:class:`~recrepro.core.errors.ModelNotApplicable`); called before TF is imported."""
        objective = self.params.get("objective", "in_batch")
        limit = int(self.params.get("max_softmax_items", 0))
        if objective == "full_softmax" and train.n_items > limit:
            raise ModelNotApplicable(
                f"model '{self.name}' with objective full_softmax does not fit this dataset: its "
                f"catalogue has {train.n_items} items, more than max_softmax_items={limit}; use "
                "objective in_batch_logq, or raise max_softmax_items"
            )

    def positive(self, name: str, minimum: int = 1) -> int:
        """Hyperparameter ``name`` as an integer >= ``minimum`` (ConfigError otherwise)."""
        value = self.params[name]
        if int(value) != value or value < minimum:
            raise ConfigError(
                f"model '{self.name}': {name} must be an integer >= {minimum}, got {value}"
            )
        return int(value)

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
        self.check_objective(train)
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
            validate=validation_callback(self, train, valid),
            monitor=f"val_{monitor}",
            mode="max" if higher_is_better(monitor) else "min",
            patience=self.params.get("patience", 0),
            get_weights=self.keras_model.get_weights,
            set_weights=self.keras_model.set_weights,
        )
        return self

    def embeddings(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """User (query) embeddings ``[len(users), d]`` and those of every catalogue item
        ``[n_items, d]``."""
        query = self.query_tower(self.query_features(users)).numpy()
        return query, self.item_embeddings()

    def item_embeddings(self) -> np.ndarray:
        """Candidate-tower embeddings of every catalogue item (``[n_items, d]``)."""
        return self.candidate_tower(self._ids("item", np.arange(self.n_items))).numpy()

    def score(self, users: np.ndarray) -> np.ndarray:
        query, candidates = self.embeddings(np.asarray(users))
        return (query @ candidates.T).astype(np.float32)


#: Options of the TFRS towers that the index-based models do not have (they build their towers).
_TOWER_OPTIONS = (
    "hidden_units", "string_lookup", "timestamp_features", "time_buckets", "query_time"
)


class IndexRetrieval(RetrievalRecommender):
    """TFRS retrieval over integer user/movie indices whose subclasses build the user tower.

    The movie (candidate) tower is a plain ``embedding_dim`` embedding of the movie index, so the
    base family's StringLookup, Dense-head and timestamp options are not hyperparameters here.
    Training features are the (user, movie) pairs of the training interactions.
    """

    defaults: ClassVar[dict[str, Any]] = {
        k: v for k, v in RetrievalRecommender.defaults.items() if k not in _TOWER_OPTIONS
    }

    def _ids(self, kind: str, index: np.ndarray) -> np.ndarray:
        return np.asarray(index).astype(np.int32)

    def train_features(self, train: Interactions) -> dict[str, np.ndarray]:
        return {"user": self._ids("user", train.user), "item": self._ids("item", train.item)}

    def query_features(self, users: np.ndarray) -> dict[str, np.ndarray]:
        return {"user": self._ids("user", users)}

    def build_candidate_tower(self, tf: Any, train: Interactions) -> Any:
        return tf.keras.layers.Embedding(train.n_items, self.params["embedding_dim"])
