"""Model-specific towers: wide & deep's wide part, the session GRU, multitask's movie metadata
(imports TensorFlow: import only inside ``fit``).

Shapes: ``B`` rows, ``d`` embedding size, ``G`` genres, ``L`` history length.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from recrepro.models.tf.layers import TimeFeature


class WideUser(tf.keras.layers.Layer):
    """Query side of the wide part, ``{"user": [B]} -> [B, G + 1]``: the user's weights on the
    genre crosses, and a 1 that multiplies the movie bias."""

    def __init__(self, n_users: int, n_genres: int) -> None:
        super().__init__()
        self.genre_weights = tf.keras.layers.Embedding(
            n_users, n_genres, embeddings_initializer="zeros"
        )

    def call(self, features: dict[str, tf.Tensor]) -> tf.Tensor:
        w = self.genre_weights(features["user"])
        return tf.concat([w, tf.ones_like(w[:, :1])], axis=1)


class WideItem(tf.keras.layers.Layer):
    """Candidate side of the wide part, ``[B] -> [B, G + 1]``: the movie's (fixed) genre
    indicators and its bias."""

    def __init__(self, genres: np.ndarray) -> None:
        super().__init__()
        self.genres = tf.constant(genres, tf.float32)
        self.bias = tf.keras.layers.Embedding(len(genres), 1, embeddings_initializer="zeros")

    def call(self, items: tf.Tensor) -> tf.Tensor:
        return tf.concat([tf.gather(self.genres, items), self.bias(items)], axis=1)


class SessionTower(tf.keras.Model):
    """GRU over the embeddings of the recent movies (0 = padding, masked), plus the user's id
    embedding if ``n_users`` is given: ``{"history": [B, L], "user": [B]} -> [B, d]``. Without
    ``history`` (an ablation) the query is the user's id embedding alone.

    The GRU is unrolled over the fixed history length ``L``: the same outputs as its loop, a
    fifth less CPU time per training step at ``L = 10``.
    """

    def __init__(self, n_items: int, dim: int, n_users: int | None, history: bool = True) -> None:
        super().__init__()
        self.items = tf.keras.layers.Embedding(n_items + 1, dim, mask_zero=True) if history else None
        self.gru = tf.keras.layers.GRU(dim, unroll=True) if history else None
        self.user = tf.keras.layers.Embedding(n_users, dim) if n_users else None

    def call(self, features: dict[str, tf.Tensor]) -> tf.Tensor:
        if self.gru is None:
            return self.user(features["user"])
        query = self.gru(self.items(features["history"]))  # zeros for an empty history
        if self.user is not None:
            query = query + self.user(features["user"])
        return query


class ItemMetadata(tf.keras.layers.Layer):
    """Movie index ``[B]`` -> release-year embedding (+ scaled year), ``[B, d + 1]``, and the
    sum of genre embeddings, ``[B, d]``, concatenated."""

    def __init__(self, year: np.ndarray | None, genres: np.ndarray | None, dim: int) -> None:
        super().__init__()
        self.year = None if year is None else tf.constant(year, tf.float32)
        self.genres = None if genres is None else tf.constant(genres, tf.float32)
        self.year_embedding = TimeFeature(dim)
        self.genre_embedding = tf.keras.layers.Dense(dim, use_bias=False)

    def call(self, items: Any) -> tf.Tensor:
        parts = []
        if self.year is not None:
            parts.append(self.year_embedding(tf.gather(self.year, items)))
        if self.genres is not None:
            parts.append(self.genre_embedding(tf.gather(self.genres, items)))
        return tf.concat(parts, axis=1)


class TitleText(tf.keras.layers.Layer):
    """Mean word embedding of each movie's title, ``[B] -> [B, d]``: the TFRS deep-retrieval
    tutorial's ``TextVectorization`` -> ``Embedding(mask_zero=True)`` ->
    ``GlobalAveragePooling1D`` over the fixed token matrix ``tokens`` (``[N, L]``, 0 = padding)."""

    def __init__(self, tokens: np.ndarray, vocabulary_size: int, dim: int) -> None:
        super().__init__()
        self.tokens = tf.constant(tokens, tf.int32)
        self.embedding = tf.keras.layers.Embedding(vocabulary_size + 1, dim, mask_zero=True)

    def call(self, items: tf.Tensor) -> tf.Tensor:
        ids = tf.gather(self.tokens, tf.cast(items, tf.int32))  # [B, L]
        mask = tf.cast(ids > 0, tf.float32)[..., None]
        total = tf.reduce_sum(self.embedding(ids) * mask, axis=1)
        return total / tf.maximum(tf.reduce_sum(mask, axis=1), 1.0)

