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

    The GRU is Keras's (``reset_after``, its weights and initialisation), computed by
    :func:`history_gru`: the input half of every gate, ``e_i W + b``, depends only on the movie,
    so it is computed once per catalogue movie (``[N + 1, 3d]``) and gathered, instead of once
    per row and step (``[B, L, 3d]``); about half of the GRU's multiplications at ``B = 8192``.
    """

    def __init__(self, n_items: int, dim: int, n_users: int | None, history: bool = True) -> None:
        super().__init__()
        self.items = tf.keras.layers.Embedding(n_items + 1, dim, mask_zero=True) if history else None
        self.gru = tf.keras.layers.GRU(dim) if history else None
        self.user = tf.keras.layers.Embedding(n_users, dim) if n_users else None

    def call(self, features: dict[str, tf.Tensor]) -> tf.Tensor:
        if self.gru is None:
            return self.user(features["user"])
        if not self.gru.built:  # the weights in the order Keras's own call would create them
            self.items.build(None)
            self.gru.build(tf.TensorShape([None, None, self.items.output_dim]))
        query = history_gru(self.items.embeddings, self.gru.cell, features["history"])
        if self.user is not None:
            query = query + self.user(features["user"])
        return query


def history_gru(table: tf.Tensor, cell: Any, history: tf.Tensor) -> tf.Tensor:
    """Final state of a Keras ``GRUCell`` (``reset_after``, sigmoid/tanh) run over the movies
    ``history`` ``[B, L]`` (embedding rows of ``table`` ``[N + 1, d]``; 0 = padding, left-aligned
    and skipped as Keras's masking does): ``[B, d]``, zeros for an empty history.

    Same function as ``GRU(mask_zero embedding(history))``; equal up to float round-off.
    """
    input_bias, recurrent_bias = tf.unstack(cell.bias)
    steps = tf.transpose(history)  # [L, B]: one unstacked slice per step (cheap gradients)
    projected = tf.gather(tf.matmul(table, cell.kernel) + input_bias, steps)  # [L, B, 3d]
    h = tf.zeros([tf.shape(history)[0], cell.units], projected.dtype)
    for x, present in zip(tf.unstack(projected), tf.unstack(tf.not_equal(steps, 0)), strict=True):
        x_z, x_r, x_h = tf.split(x, 3, axis=-1)
        r_z, r_r, r_h = tf.split(tf.matmul(h, cell.recurrent_kernel) + recurrent_bias, 3, axis=-1)
        z = tf.sigmoid(x_z + r_z)
        candidate = tf.tanh(x_h + tf.sigmoid(x_r + r_r) * r_h)
        h = tf.where(present[:, None], z * h + (1 - z) * candidate, h)
    return h


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
