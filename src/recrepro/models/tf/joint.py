"""Base of the joint rating + retrieval models (TFRS multitask recipe): multitask (seed 003) and
rating_nn (seed 004). TF-free at import; ``fit`` imports TensorFlow."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from recrepro.core.errors import ConfigError
from recrepro.data.interactions import Interactions
from recrepro.models.tf.bases import RetrievalRecommender

#: Rows of (user, movie) pairs pushed through the rating head at once when predicting.
_PAIRS_PER_CALL = 1 << 17


def scaled_years(items: pd.DataFrame) -> np.ndarray | None:
    """Release years scaled to [0, 1] (missing years get the median), or None if none known."""
    year = pd.to_numeric(items["year"], errors="coerce").astype(float).to_numpy()
    if np.isnan(year).all():
        return None
    year = np.where(np.isnan(year), np.nanmedian(year), year)
    return ((year - year.min()) / max(1.0, np.ptp(year))).astype(np.float32)


class JointRecommender(RetrievalRecommender):
    """Two towers, a rating head and the weighted rating + retrieval loss (TFRS multitask).

    The loss is ``rating_weight * L_rating + retrieval_weight * L_retrieval`` (rating: MSE of a
    rating head on the concatenated user and movie embeddings; retrieval: the ``objective``).
    Extra hyperparameters: ``rating_hidden_units`` (ReLU layers of the rating head before its
    linear output), ``rating_weight``, ``retrieval_weight`` and ``item_metadata`` (the movie
    tower also embeds the release year and genres; a linear ``Dense(embedding_dim)`` or the
    ``hidden_units`` then map the concatenation to the tower's output size). ``predict`` is the
    rating head; ``score`` is the retrieval dot product (overridden where only ratings are
    learned). Per epoch the history records the validation metric the study tunes on
    (:attr:`validation_metrics`; ``val_ndcg@10`` by default, ``val_rmse`` when only ratings are
    learned) and ``val_rmse``.
    """

    predicts_ratings: ClassVar[bool] = True
    defaults: ClassVar[dict[str, Any]] = {
        **RetrievalRecommender.defaults,
        "rating_hidden_units": [256, 128],
        "rating_weight": 1.0,
        "retrieval_weight": 1.0,
        "item_metadata": False,
    }

    @property
    def validation_metrics(self) -> tuple[str, ...]:
        """The study's metric (by default NDCG@10, or RMSE when only ratings are learned),
        then RMSE, the rating head's error."""
        own = self.default_validation_metric if self.params["retrieval_weight"] else "rmse"
        return tuple(dict.fromkeys((self.validation_metric or own, "rmse")))

    def train_features(self, train: Interactions) -> dict[str, np.ndarray]:
        return {**super().train_features(train), "rating": train.rating.astype(np.float32)}

    def build_candidate_tower(self, tf: Any, train: Interactions) -> Any:
        if not self.params["item_metadata"]:
            return super().build_candidate_tower(tf, train)
        from recrepro.models.tf.layers import Concat
        from recrepro.models.tf.towers import ItemMetadata

        genres = train.catalogue.genre_matrix
        metadata = ItemMetadata(
            scaled_years(train.catalogue.items),
            genres if genres.shape[1] else None,
            self.params["embedding_dim"],
        )
        parts = [self._id_embedding(tf, "item", train.n_items), metadata]
        return Concat(parts, self.tower_head(tf, len(parts)))

    def build_keras_model(self, tf: Any, train: Interactions) -> Any:
        from recrepro.models.tf.keras_models import JointModel
        from recrepro.models.tf.layers import rating_head

        weights = [float(self.params[k]) for k in ("rating_weight", "retrieval_weight")]
        if min(weights) < 0 or max(weights) == 0:
            raise ConfigError(
                f"model '{self.name}': rating_weight and retrieval_weight must be >= 0 and not "
                f"both 0, got {weights}"
            )
        self.rating_model = rating_head(self.params["rating_hidden_units"])
        return JointModel(
            self.query_tower,
            self.candidate_tower,
            rating=self.rating_model,
            rating_weight=weights[0],
            retrieval_weight=weights[1],
            **self.objective_options(tf, train),
        )

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Rating-head predictions for (user, item) index pairs."""
        users, items = np.asarray(users), np.asarray(items)
        query, candidates = self.embeddings(np.arange(self.n_users))
        out = np.empty(len(users), np.float32)
        for start in range(0, len(users), _PAIRS_PER_CALL):
            sl = slice(start, start + _PAIRS_PER_CALL)
            pairs = np.concatenate([query[users[sl]], candidates[items[sl]]], axis=1)
            out[sl] = self.rating_model(pairs).numpy()[:, 0]
        return out

    def predicted_ratings(self, users: np.ndarray) -> np.ndarray:
        """``[len(users), n_items]`` rating-head predictions for every catalogue item."""
        users = np.asarray(users)
        pairs_u = np.repeat(users, self.n_items)
        pairs_i = np.tile(np.arange(self.n_items), len(users))
        return self.predict(pairs_u, pairs_i).reshape(len(users), self.n_items)

