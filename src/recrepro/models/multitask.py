"""Joint rating + retrieval models (TFRS multitask recipe): seed 003, and the base of seed 004.

:class:`JointRecommender` is the model of the TFRS multitask tutorial: user and movie towers,
a rating head on the concatenated embeddings (``tfrs.tasks.Ranking``, MSE) and the retrieval
task on their dot products, with the loss ``rating_weight * L_rating + retrieval_weight *
L_retrieval``. ``multitask`` weights both; ``rating_nn`` (seed 004) only the rating task.
"""

from __future__ import annotations

from functools import cache
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from recrepro.data.interactions import Interactions
from recrepro.errors import ConfigError
from recrepro.models._sparse import row_blocks
from recrepro.models._tf import rating_head, retrieval_task
from recrepro.models.registry import register
from recrepro.models.retrieval import RetrievalRecommender, keras_classes

#: Rows of (user, movie) pairs pushed through the rating head at once when predicting.
_PAIRS_PER_CALL = 1 << 17


@cache
def joint_classes(tf: Any) -> dict[str, type]:
    """Keras classes of the joint model, built once TensorFlow is imported."""
    import tensorflow_recommenders as tfrs

    class JointModel(tfrs.Model):
        """Weighted sum of the rating (MSE) and retrieval losses; a zero weight skips retrieval."""

        def __init__(
            self,
            query: Any,
            candidate: Any,
            rating: Any,
            rating_weight: float,
            retrieval_weight: float,
            batch_size: int,
        ) -> None:
            super().__init__()
            self.query, self.candidate, self.rating = query, candidate, rating
            self.rating_weight, self.retrieval_weight = rating_weight, retrieval_weight
            self.ranking_task = tfrs.tasks.Ranking(loss=tf.keras.losses.MeanSquaredError())
            self.retrieval_task = retrieval_task(tf, batch_size)

        def compute_loss(self, features: dict[str, Any], training: bool = False) -> Any:
            query = self.query(features)
            candidate = self.candidate(features["item"])
            # The rating term is computed even at weight 0, as in the TFRS multitask tutorial: it
            # builds the rating head (the tutorial's retrieval-only model still predicts ratings,
            # from an untrained head) and its zero-weighted gradients change nothing.
            predicted = self.rating(tf.concat([query, candidate], axis=1))
            loss = self.rating_weight * self.ranking_task(
                labels=features["rating"], predictions=predicted[:, 0], compute_metrics=False
            )
            if self.retrieval_weight:
                loss += self.retrieval_weight * self.retrieval_task(
                    query, candidate, compute_metrics=False
                )
            return loss

    class ItemMetadata(tf.keras.layers.Layer):
        """Movie index -> release-year embedding (+ scaled year) and the sum of genre embeddings."""

        def __init__(self, year: np.ndarray | None, genres: np.ndarray | None, dim: int) -> None:
            super().__init__()
            self.year = None if year is None else tf.constant(year, tf.float32)
            self.genres = None if genres is None else tf.constant(genres, tf.float32)
            self.year_embedding = keras_classes(tf)["TimeFeature"](dim)
            self.genre_embedding = tf.keras.layers.Dense(dim, use_bias=False)

        def call(self, items: Any) -> Any:
            parts = []
            if self.year is not None:
                parts.append(self.year_embedding(tf.gather(self.year, items)))
            if self.genres is not None:
                parts.append(self.genre_embedding(tf.gather(self.genres, items)))
            return tf.concat(parts, axis=1)

    return {"JointModel": JointModel, "ItemMetadata": ItemMetadata}


def scaled_years(items: pd.DataFrame) -> np.ndarray | None:
    """Release years scaled to [0, 1] (missing years get the median), or None if none known."""
    year = pd.to_numeric(items["year"], errors="coerce").astype(float).to_numpy()
    if np.isnan(year).all():
        return None
    year = np.where(np.isnan(year), np.nanmedian(year), year)
    return ((year - year.min()) / max(1.0, np.ptp(year))).astype(np.float32)


class JointRecommender(RetrievalRecommender):
    """Two towers, a rating head and the weighted rating + retrieval loss (see module docstring).

    Extra hyperparameters: ``rating_hidden_units`` (ReLU layers of the rating head before its
    linear output), ``rating_weight``, ``retrieval_weight`` and ``item_metadata`` (the movie
    tower also embeds the release year and genres; a linear ``Dense(embedding_dim)`` or the
    ``hidden_units`` then map the concatenation to the tower's output size). ``predict`` is the
    rating head; ``score`` is the retrieval dot product (overridden where only ratings are
    learned). Per epoch the history records ``val_rmse`` and, when the retrieval task is on,
    ``val_ndcg@10``.
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
    def validation_metrics(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("ndcg@10", "rmse") if self.params["retrieval_weight"] else ("rmse",)

    def train_features(self, train: Interactions) -> dict[str, np.ndarray]:
        return {**super().train_features(train), "rating": train.rating.astype(np.float32)}

    def build_candidate_tower(self, tf: Any, train: Interactions) -> Any:
        if not self.params["item_metadata"]:
            return super().build_candidate_tower(tf, train)
        genres = train.catalogue.genre_matrix
        metadata = joint_classes(tf)["ItemMetadata"](
            scaled_years(train.catalogue.items),
            genres if genres.shape[1] else None,
            self.params["embedding_dim"],
        )
        parts = [self._id_embedding(tf, "item", train.n_items), metadata]
        return keras_classes(tf)["Concat"](parts, self.tower_head(tf, len(parts)))

    def build_keras_model(self, tf: Any, train: Interactions) -> Any:
        weights = [float(self.params[k]) for k in ("rating_weight", "retrieval_weight")]
        if min(weights) < 0 or max(weights) == 0:
            raise ConfigError(
                f"model '{self.name}': rating_weight and retrieval_weight must be >= 0 and not "
                f"both 0, got {weights}"
            )
        self.rating_model = rating_head(tf, self.params["rating_hidden_units"])
        return joint_classes(tf)["JointModel"](
            self.query_tower, self.candidate_tower, self.rating_model, *weights,
            self.params["batch_size"],
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


@register("multitask")
class Multitask(JointRecommender):
    """Multitask model of seed 003: rating prediction and retrieval trained jointly.

    Faithful: user and movie embedding towers shared by a ranking task (a neural network on the
    two representations predicts the rating, MSE) and a retrieval task, trained on the weighted
    sum of the two losses (``rating_weight``, ``retrieval_weight``); the movie representation
    includes movie metadata (release year and genres); movie-to-movie similarity from the movie
    embeddings (:meth:`similar_items`, :meth:`item_similarities`). The seed gives no numbers, so
    the TFRS multitask tutorial's apply: 32-dimensional embeddings, rating head Dense(256, ReLU)
    -> Dense(128, ReLU) -> Dense(1), both weights 1.0 (its joint model), Adagrad with learning
    rate 0.1, 3 epochs on batches of 8192.

    Differs: the year is embedded per bucket (plus the scaled year, as for timestamps in the
    TFRS featurization tutorial) and the genres as a sum of genre embeddings, then a linear
    Dense layer maps [id embedding, year, genres] to 32 dimensions; the seed's budget is not in
    MovieLens 100K. ``score`` (the ranking evaluated by top-K metrics) is the retrieval dot
    product, i.e. brute-force search over movie embeddings as in the tutorial's recommendations;
    ``predict`` (RMSE/MAE) is the rating head. Movies keyed by id, not title.
    """

    source = "Seed 003; TFRS multitask tutorial"
    defaults: ClassVar[dict[str, Any]] = {**JointRecommender.defaults, "item_metadata": True}

    def similar_items(self, item_index: int, k: int = 10) -> np.ndarray:
        """Indices of the ``k`` movies most cosine-similar to ``item_index`` (itself excluded)."""
        similarity = self._cosine(np.array([item_index]))[0]
        similarity[item_index] = -np.inf
        return np.argsort(-similarity, kind="stable")[:k]

    def item_similarities(self, k: int = 10) -> pd.DataFrame:
        """The ``k`` most similar movies of every movie: columns ``item``, ``rank`` (1..k),
        ``similar_item`` (MovieLens ids) and ``similarity`` (cosine of movie embeddings).

        Computed a block of movies at a time (never the whole movies x movies matrix), with the
        evaluator's deterministic top-k (ties to the lower index, as in :meth:`similar_items`).
        """
        from recrepro.evaluation.metrics import top_k

        unit = self._unit_item_embeddings()
        k = min(k, self.n_items)
        tops, values = [], []
        for block in row_blocks(self.n_items, self.n_items):
            similarity = unit[block] @ unit.T
            rows = np.arange(block.stop - block.start)
            similarity[rows, rows + block.start] = -np.inf
            top = top_k(similarity, k)
            tops.append(top)
            values.append(np.take_along_axis(similarity, top, axis=1))
        top = np.concatenate(tops)
        ids = self._item_ids.astype(np.int64)
        return pd.DataFrame(
            {
                "item": np.repeat(ids, k),
                "rank": np.tile(np.arange(1, k + 1), self.n_items),
                "similar_item": ids[top.ravel()],
                "similarity": np.concatenate(values).ravel(),
            }
        )

    def _cosine(self, items: np.ndarray) -> np.ndarray:
        """Cosine similarities ``[len(items), n_items]`` of movie (candidate) embeddings."""
        unit = self._unit_item_embeddings()
        return unit[items] @ unit.T

    def _unit_item_embeddings(self) -> np.ndarray:
        """Movie (candidate) embeddings scaled to unit length (float64)."""
        emb = self.item_embeddings().astype(np.float64)
        return emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
