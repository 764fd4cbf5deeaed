"""Deep & Cross Network (DCN V2) rating model: the TFRS DCN tutorial's MovieLens 100K recipe.

The network (:class:`recrepro.models.tf.dcn.DCNModel`) embeds each categorical feature of a
rating, concatenates the embeddings, crosses them explicitly with ``tfrs.layers.dcn.Cross`` and
feeds the result to ReLU layers and a linear output, trained on the MSE of the ratings.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from recrepro.core.errors import ConfigError
from recrepro.data.interactions import Interactions
from recrepro.models.base import Recommender
from recrepro.models.registry import register
from recrepro.models.tf.runtime import import_tensorflow, make_optimizer, seed_from
from recrepro.models.tf.training import (
    higher_is_better,
    make_train_step,
    train_epochs,
    validation_callback,
)

#: TFDS's ``bucketized_user_age`` of MovieLens: the lowest age of the user's range (1 below 18).
AGE_THRESHOLDS = (18, 25, 35, 45, 50, 56)
#: User features the tutorial embeds beside the ids, in its order, as the users table names them.
USER_FEATURES = ("zip_code", "occupation", "gender", "age")
#: (user, movie) pairs pushed through the network at once when predicting.
_PAIRS_PER_CALL = 1 << 16


def user_feature_indices(users: pd.DataFrame) -> dict[str, tuple[np.ndarray, int]]:
    """Per user (row of the catalogue's users table), the index of each demographic feature the
    table has, and the feature's vocabulary size: ``{name: ([n_users] int32, size)}``.

    ``age`` is bucketised as TFDS does (:data:`AGE_THRESHOLDS`; ML-1M's ages are already those
    buckets); the other features index their sorted distinct values (missing values: one more).
    """
    out = {}
    for name in USER_FEATURES:
        if name not in users.columns:
            continue
        column = users[name]
        if name == "age":
            ages = pd.to_numeric(column, errors="coerce").fillna(0).to_numpy()
            codes = np.searchsorted(AGE_THRESHOLDS, ages, side="right")
            out[name] = (codes.astype(np.int32), len(AGE_THRESHOLDS) + 1)
        else:
            values = column.astype("string").fillna("")
            categories = sorted(values.unique())
            codes = pd.Categorical(values, categories=categories).codes
            out[name] = (codes.astype(np.int32), len(categories))
    return out


@register("dcn")
class DCN(Recommender):
    """Deep & Cross Network rating model: feature embeddings, a cross layer, ReLU layers, MSE.

    Faithful (TFRS tutorial "Deep & Cross Network (DCN)", its MovieLens 100K part, model "DCN
    (stacked)"): 32-dimensional embeddings of the movie id, user id, zip code, occupation, gender
    and bucketized age (TFDS's buckets 1, 18, 25, 35, 45, 50, 56), concatenated (192 values), one
    full-rank ``tfrs.layers.dcn.Cross`` (Glorot-uniform kernel), Dense(192, ReLU) twice and a linear
    Dense(1); the MSE of the ratings; Adam with learning rate 0.01, 8 epochs on batches of 8192,
    no validation. The tutorial's other two models are hyperparameter variants: low-rank DCN
    (``projection_dim: 20``) and the DNN (``cross_layers: 0, deep_layers: [192, 192, 192]``).

    Hyperparameters: ``embedding_dim``; ``user_features`` (embed the users' demographics, those
    of :data:`USER_FEATURES` the dataset has; false: the two ids only); ``cross_layers`` (stacked
    cross layers, 0 for a plain DNN); ``projection_dim`` (rank of each cross layer's matrix; None:
    full rank); ``deep_layers`` (units of the ReLU layers); ``optimizer``/``learning_rate``;
    ``epochs``; ``batch_size``; ``patience`` (early stopping on the validation metric, best weights
    kept; 0 trains all epochs). ``predict`` is the network; ``score`` ranks every movie by its
    predicted rating. Differs: the batches are reshuffled every epoch (the tutorial caches one
    shuffled order); the embedding tables have no out-of-vocabulary row (never used there).
    """

    #: TensorFlow float32 kernels and their reduction order differ by CPU (oneDNN build)
    exact_across_cpus = False
    predicts_ratings = True
    default_validation_metric = "rmse"
    libraries: ClassVar[tuple[str, ...]] = ("tensorflow", "tensorflow_recommenders")
    source = "TFRS DCN tutorial; DCN V2 (Wang et al., 2021)"
    citation = r"""
@misc{tfrsDcn,
  author       = {{TensorFlow Recommenders Authors}},
  title        = {Deep \& Cross Network ({DCN})},
  howpublished = {\url{https://www.tensorflow.org/recommenders/examples/dcn}},
  year         = {2020},
  note         = {TensorFlow Recommenders tutorial}
}

@inproceedings{wang2021dcn,
  author    = {Wang, Ruoxi and Shivanna, Rakesh and Cheng, Derek Zhiyuan and Jain, Sagar and
               Lin, Dong and Hong, Lichan and Chi, Ed H.},
  title     = {{DCN V2}: Improved Deep \& Cross Network and Practical Lessons for Web-scale
               Learning to Rank Systems},
  booktitle = {Proceedings of the Web Conference 2021 (WWW '21)},
  pages     = {1785--1797},
  year      = {2021},
  doi       = {10.1145/3442381.3450078}
}
"""
    colour, marker, hatch = "#C49C94", "p", ".."
    #: rating prediction only: tuned on validation RMSE
    task = "rating"
    #: The tutorial's architecture choices (cross depth, rank, the ReLU stack) and its optimiser
    #: settings, with early stopping on validation RMSE (patience 3) under an epoch cap.
    search_space: ClassVar[dict[str, Any]] = {
        "optimizer": ["adagrad", "adam"],
        "learning_rate": {"low": 0.0003, "high": 0.03, "log": True},
        "embedding_dim": [16, 32, 64],
        "user_features": [True, False],
        "cross_layers": [0, 1, 2],
        "projection_dim": [None, 20],
        "deep_layers": [[192, 192], [192, 192, 192], [256, 128]],
        "batch_size": [1024, 4096, 8192],
        "epochs": {"low": 4, "high": 20},
        "patience": 3,
    }
    defaults: ClassVar[dict[str, Any]] = {
        "embedding_dim": 32,
        "user_features": True,
        "cross_layers": 1,
        "projection_dim": None,
        "deep_layers": [192, 192],
        "optimizer": "adam",
        "learning_rate": 0.01,
        "epochs": 8,
        "batch_size": 8192,
        "patience": 0,
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        p = self.params
        for name in ("embedding_dim", "epochs", "batch_size"):
            if not _is_int(p[name]) or p[name] < 1:
                raise ConfigError(f"model '{self.name}': {name} must be an integer >= 1, got {p[name]}")
        for name in ("cross_layers", "patience"):
            if not _is_int(p[name]) or p[name] < 0:
                raise ConfigError(f"model '{self.name}': {name} must be an integer >= 0, got {p[name]}")
        if p["projection_dim"] is not None and (not _is_int(p["projection_dim"]) or p["projection_dim"] < 1):
            raise ConfigError(
                f"model '{self.name}': projection_dim must be null (full rank) or an integer >= 1, "
                f"got {p['projection_dim']}"
            )
        if not all(_is_int(n) and n >= 1 for n in p["deep_layers"]):
            raise ConfigError(
                f"model '{self.name}': deep_layers must be a list of integers >= 1, got {p['deep_layers']}"
            )

    @property
    def validation_metrics(self) -> tuple[str, ...]:
        """The study's metric for this model (RMSE by default), then RMSE."""
        return tuple(dict.fromkeys((self.validation_metric or self.default_validation_metric, "rmse")))

    # -- features -------------------------------------------------------------------------------
    def features(self, users: np.ndarray, items: np.ndarray) -> dict[str, np.ndarray]:
        """The network's input for (user, movie) index pairs, in the tutorial's feature order."""
        users = np.asarray(users)
        out = {"item": np.asarray(items).astype(np.int32), "user": users.astype(np.int32)}
        for name, (codes, _) in self._user_table.items():
            out[name] = codes[users]
        return out

    # -- contract -------------------------------------------------------------------------------
    def fit(self, train: Interactions, valid: Interactions | None, rng: np.random.Generator) -> DCN:
        tf = import_tensorflow(seed_from(rng))
        from recrepro.models.tf.dcn import DCNModel

        self.n_users, self.n_items = train.n_users, train.n_items
        self._user_table = user_feature_indices(train.catalogue.users) if self.params["user_features"] else {}
        vocabularies = [
            ("item", train.n_items),
            ("user", train.n_users),
            *((name, size) for name, (_, size) in self._user_table.items()),
        ]
        self.keras_model = DCNModel(
            vocabularies,
            embedding_dim=self.params["embedding_dim"],
            cross_layers=self.params["cross_layers"],
            projection_dim=self.params["projection_dim"],
            deep_layers=self.params["deep_layers"],
        )
        optimizer = make_optimizer(tf, self.params["optimizer"], self.params["learning_rate"])
        monitor = self.validation_metrics[0]
        features = {**self.features(train.user, train.item), "rating": train.rating.astype(np.float32)}
        train_epochs(
            self,
            make_train_step(tf, self.keras_model, optimizer),
            features,
            epochs=self.params["epochs"],
            batch_size=self.params["batch_size"],
            rng=rng,
            validate=validation_callback(self, train, valid),
            monitor=f"val_{monitor}",
            mode="max" if higher_is_better(monitor) else "min",
            patience=self.params["patience"],
            get_weights=self.keras_model.get_weights,
            set_weights=self.keras_model.set_weights,
        )
        return self

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """The network's predicted ratings for (user, movie) index pairs."""
        users, items = np.asarray(users), np.asarray(items)
        out = np.empty(len(users), np.float32)
        for start in range(0, len(users), _PAIRS_PER_CALL):
            sl = slice(start, start + _PAIRS_PER_CALL)
            out[sl] = self.keras_model(self.features(users[sl], items[sl])).numpy()[:, 0]
        return out

    def score(self, users: np.ndarray) -> np.ndarray:
        """``[len(users), n_items]``: the predicted rating of every catalogue movie."""
        users = np.asarray(users)
        pairs_u = np.repeat(users, self.n_items)
        pairs_i = np.tile(np.arange(self.n_items), len(users))
        return self.predict(pairs_u, pairs_i).reshape(len(users), self.n_items)


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)
