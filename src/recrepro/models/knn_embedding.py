"""K-nearest-neighbour embedding retrieval model of seed 001 (2)."""

from __future__ import annotations

from functools import cache
from typing import Any, ClassVar

import numpy as np

from recrepro.data.interactions import Interactions
from recrepro.models.gnn import IndexRetrieval
from recrepro.models.registry import register

#: Most similarity entries (float32) :class:`KNNLayer` holds at once: 64 MiB.
SIMILARITY_BLOCK = 16 * 2**20


@cache
def knn_classes(tf: Any) -> dict[str, type]:
    """Keras classes of the KNN model, built once TensorFlow is imported."""

    class KNNLayer(tf.keras.layers.Layer):
        """Averages each row's embedding with those of its ``k`` nearest other rows (cosine)."""

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
        """User embedding table read through :class:`KNNLayer`."""

        def __init__(self, n_users: int, dim: int, k: int) -> None:
            super().__init__()
            self.n_users = n_users
            self.embedding = tf.keras.layers.Embedding(n_users, dim)
            self.knn = KNNLayer(k)

        def call(self, features: dict[str, Any]) -> Any:
            return self.knn(features["user"], self.embedding(tf.range(self.n_users)))

    return {"KNNLayer": KNNLayer, "KNNUserTower": KNNUserTower}


@register("knn_embedding")
class KNNEmbedding(IndexRetrieval):
    """KNN retrieval model of seed 001 (2): a user is the average of itself and its neighbours.

    A ``KNNLayer`` on the current user embedding table ``E`` (recomputed in every call, so the
    neighbours follow training) represents user ``u`` as
    ``q_u = (e_u + sum_{v in N_k(u)} e_v) / (k + 1)``, where ``N_k(u)`` are the ``k`` users
    ``v != u`` with the highest cosine similarity ``e_u.e_v / (|e_u| |e_v|)`` (ties to the lower
    index). Neighbour selection carries no gradient; the averaged embeddings do. Movies are a
    plain embedding tower; training is the TFRS retrieval task (in-batch softmax), ranking is
    brute-force search over all movies.

    Faithful: user and movie embeddings, a custom layer that finds and averages the k nearest
    neighbours' embeddings, the retrieval task, brute-force search. Differs: the seed states
    neither k, the similarity nor whether the user itself is included, so k = 10 (``k``), cosine
    similarity, and the user's own embedding weighted like one neighbour; training uses the TFRS
    tutorial values shared by the seed family (embedding 32, Adagrad lr 0.1, batch 8192,
    3 epochs); movies are keyed by id, not title.
    """

    source = "Seed 001 (2); TFRS retrieval tutorial"
    defaults: ClassVar[dict[str, Any]] = {**IndexRetrieval.defaults, "k": 10}

    def build_query_tower(self, tf: Any, train: Interactions) -> Any:
        k = min(self.positive("k"), max(train.n_users - 1, 1))
        return knn_classes(tf)["KNNUserTower"](train.n_users, self.params["embedding_dim"], k)
