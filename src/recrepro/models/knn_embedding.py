"""K-nearest-neighbour embedding retrieval model of seed 001 (2)."""

from __future__ import annotations

from typing import Any, ClassVar

from recrepro.data.interactions import Interactions
from recrepro.models.registry import register
from recrepro.models.tf.bases import RETRIEVAL_SPACE, IndexRetrieval


@register("knn_embedding")
class KNNEmbedding(IndexRetrieval):
    """KNN retrieval model of seed 001 (2): a user is the average of itself and its neighbours.

    A ``KNNLayer`` (:mod:`recrepro.models.tf.knn`) on the current user embedding table ``E``
    (recomputed in every call, so the neighbours follow training) represents user ``u`` as
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
    3 epochs); movies are keyed by id, not title. ``k: 0`` (an ablation for the reproduction's
    cause experiments) uses each user's own embedding.
    """

    #: TensorFlow float32 kernels and their reduction order differ by CPU (oneDNN build)
    exact_across_cpus = False
    source = "Seed 001 (2); TFRS retrieval tutorial"
    colour, marker, hatch = "#FF9896", "^", "--"
    search_space = {**RETRIEVAL_SPACE, "k": [5, 10, 20]}
    defaults: ClassVar[dict[str, Any]] = {**IndexRetrieval.defaults, "k": 10}

    def build_query_tower(self, tf: Any, train: Interactions) -> Any:
        from recrepro.models.tf.knn import KNNUserTower

        k = min(self.positive("k", minimum=0), max(train.n_users - 1, 0))  # 0: no neighbours
        return KNNUserTower(train.n_users, self.params["embedding_dim"], k)
