"""Nearest-neighbour user tower of the knn_embedding model (imports TensorFlow: import only
inside ``fit``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

#: Most similarity entries (float32) :class:`KNNLayer` holds at once: 64 MiB.
SIMILARITY_BLOCK = 16 * 2**20


class KNNLayer(tf.keras.layers.Layer):
    """Averages each row's embedding with those of its ``k`` nearest other rows (cosine):
    ``ids [B]``, ``table [n, d]`` -> ``[B, d]``."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.k = k

    def neighbours(self, ids: Any, table: Any) -> Any:
        """Indices ``[len(ids), k]`` of the most cosine-similar rows of ``table``, self
        excluded, most similar first (ties: lower index first).

        The ``[len(ids), n_rows]`` similarities are computed for a block of ids at a time
        (at most ``SIMILARITY_BLOCK`` entries), so a batch of 8,192 users of ML-25M needs
        64 MiB per block rather than 5 GiB at once.
        """
        unit = tf.math.l2_normalize(table, axis=1)
        n_rows = tf.shape(table)[0]
        size = max(1, SIMILARITY_BLOCK // int(table.shape[0]))
        n_blocks = (tf.shape(ids)[0] + size - 1) // size

        def block(i: Any, found: Any) -> tuple[Any, Any]:
            part = ids[i * size : (i + 1) * size]
            sims = tf.matmul(tf.gather(unit, part), unit, transpose_b=True)
            own = tf.equal(tf.range(n_rows)[None, :], part[:, None])
            sims = tf.where(own, tf.constant(-np.inf, sims.dtype), sims)
            return i + 1, found.write(i, tf.math.top_k(sims, k=self.k, sorted=True).indices)

        found = tf.TensorArray(
            tf.int32, size=n_blocks, infer_shape=False, element_shape=[None, self.k]
        )
        _, found = tf.while_loop(lambda i, _: i < n_blocks, block, (tf.constant(0), found))
        return tf.reshape(found.concat(), [-1, self.k])

    def call(self, ids: Any, table: Any) -> Any:
        ids = tf.cast(ids, tf.int32)
        neighbours = tf.stop_gradient(self.neighbours(ids, table))
        total = tf.gather(table, ids) + tf.reduce_sum(tf.gather(table, neighbours), axis=1)
        return total / float(self.k + 1)

class KNNUserTower(tf.keras.Model):
    """User embedding table read through :class:`KNNLayer`: ``{"user": [B]} -> [B, d]``
    (``k = 0``: the plain embedding, an ablation)."""

    def __init__(self, n_users: int, dim: int, k: int) -> None:
        super().__init__()
        self.n_users = n_users
        self.embedding = tf.keras.layers.Embedding(n_users, dim)
        self.knn = KNNLayer(k)

    def call(self, features: dict[str, Any]) -> Any:
        if self.knn.k == 0:  # no neighbours: the user's own embedding
            return self.embedding(features["user"])
        return self.knn(features["user"], self.embedding(tf.range(self.n_users)))
