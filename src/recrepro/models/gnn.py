"""Graph neural network retrieval model of seed 001 (1).

The three systems of seed 001 are TFRS retrieval models (a user tower, a movie tower, the
retrieval task, brute-force search) that differ only in how the user representation is built:
graph propagation here, nearest-neighbour averaging in ``knn_embedding``, recent interactions in
``session``. :class:`recrepro.models.tf.bases.IndexRetrieval` holds what they share.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from recrepro.data.interactions import Interactions
from recrepro.models.registry import register
from recrepro.models.tf.bases import RETRIEVAL_SPACE, IndexRetrieval


def normalized_adjacency(train: Interactions) -> sp.csr_matrix:
    """Symmetrically normalised adjacency ``D^-1/2 A D^-1/2`` of the user-movie graph (float32).

    Nodes are the users (``0..n_users-1``) then the movies (``n_users + item``); ``A`` has a 1
    between a user and each movie they interacted with in ``train`` (repeats count once) and no
    self-loops. Nodes without edges get a zero row (no division by zero).
    """
    r = train.matrix()
    a = sp.bmat([[None, r], [r.T, None]], format="csr")
    degree = np.asarray(a.sum(axis=1)).ravel()
    inv_sqrt = np.divide(1.0, np.sqrt(degree), out=np.zeros_like(degree), where=degree > 0)
    d = sp.diags(inv_sqrt)
    out = (d @ a @ d).tocsr().astype(np.float32)
    out.sort_indices()
    return out


@register("gnn")
class GNN(IndexRetrieval):
    """GNN retrieval model of seed 001 (1): user and movie embeddings propagated over the graph.

    A ``GNNLayer`` aggregates embeddings over the user-movie interaction graph built from the
    *training* interactions only, LightGCN-style (He et al. 2020, SIGIR): with ``E`` the table of
    all user and movie embeddings and ``Â = D^-1/2 A D^-1/2`` the normalised bipartite adjacency
    (a ``tf.sparse.SparseTensor``), the final embeddings are ``mean(E, ÂE, ..., Â^L E)`` with
    ``L = n_layers``. Users are queries and movies candidates of the TFRS retrieval task (in-batch
    softmax); ranking is brute-force search over all propagated movie embeddings. The full table
    (2,625 nodes on ML-100k, cheap) is propagated once per training step and shared by both
    towers (:class:`~recrepro.models.tf.keras_models.GraphRetrievalModel`).

    Faithful: user and movie embeddings, a custom GNN layer over user-movie interactions, the
    retrieval task, brute-force search. Differs: the seed gives neither the aggregation rule nor
    any hyperparameter, so the layer is LightGCN's (no transforms or non-linearities) with its
    default 2 layers, and training uses the TFRS tutorial values shared by the seed family
    (embedding 32, Adagrad lr 0.1, batch 8192, 3 epochs); movies are keyed by id, not title.
    ``n_layers: 0`` (an ablation for the reproduction's cause experiments) propagates nothing.
    """

    #: TensorFlow float32 kernels and their reduction order differ by CPU (oneDNN build)
    exact_across_cpus = False
    source = "Seed 001 (1); LightGCN propagation (He et al. 2020, SIGIR); TFRS retrieval tutorial"
    citation = r"""
@inproceedings{he2020lightgcn,
  author    = {He, Xiangnan and Deng, Kuan and Wang, Xiang and Li, Yan and Zhang, Yongdong and
               Wang, Meng},
  title     = {{LightGCN}: Simplifying and Powering Graph Convolution Network for
               Recommendation},
  booktitle = {Proceedings of the 43rd International ACM SIGIR Conference on Research and
               Development in Information Retrieval (SIGIR)},
  pages     = {639--648},
  year      = {2020},
  doi       = {10.1145/3397271.3401063}
}
""" + IndexRetrieval.citation
    colour, marker, hatch = "#D62728", "s", "oo"
    search_space = {**RETRIEVAL_SPACE, "n_layers": [1, 2, 3]}
    defaults: ClassVar[dict[str, Any]] = {**IndexRetrieval.defaults, "n_layers": 2}

    def _graph_nodes(self, tf: Any, train: Interactions) -> Any:
        """The node table shared by both towers, built once per ``fit``."""
        from recrepro.models.tf.graph import GraphNodes, sparse_tensor

        if getattr(self, "_nodes_train", None) is not train:
            adjacency = sparse_tensor(normalized_adjacency(train))
            n_layers = self.positive("n_layers", minimum=0)  # 0: no propagation (plain MF)
            self._nodes = GraphNodes(adjacency, self.params["embedding_dim"], n_layers)
            self._nodes_train = train
        return self._nodes

    def build_query_tower(self, tf: Any, train: Interactions) -> Any:
        from recrepro.models.tf.graph import NodeTower

        return NodeTower(self._graph_nodes(tf, train), 0, "user")

    def build_candidate_tower(self, tf: Any, train: Interactions) -> Any:
        from recrepro.models.tf.graph import NodeTower

        return NodeTower(self._graph_nodes(tf, train), train.n_users, None)

    def build_keras_model(self, tf: Any, train: Interactions) -> Any:
        from recrepro.models.tf.keras_models import GraphRetrievalModel

        return GraphRetrievalModel(
            self.query_tower, self.candidate_tower, **self.objective_options(tf, train)
        )

    def fit(self, train: Interactions, valid: Interactions | None, rng: np.random.Generator) -> GNN:
        self._nodes_train = None
        super().fit(train, valid, rng)
        self._nodes_train = None  # do not keep a reference to the training data
        return self
