"""Graph neural network retrieval model of seed 001 (1), and the base shared by the seed-001 models.

The three systems of seed 001 are TFRS retrieval models (a user tower, a movie tower, the
retrieval task, brute-force search) that differ only in how the user representation is built:
graph propagation here, nearest-neighbour averaging in ``knn_embedding``, recent interactions in
``session``. :class:`IndexRetrieval` holds what they share.
"""

from __future__ import annotations

from functools import cache
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from recrepro.data.interactions import Interactions
from recrepro.errors import ConfigError
from recrepro.models.registry import register
from recrepro.models.retrieval import RetrievalRecommender

#: Options of the TFRS towers that the seed-001 models do not have (their towers are built here).
_TOWER_OPTIONS = ("hidden_units", "string_lookup", "timestamp_features")


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

    def positive(self, name: str) -> int:
        """Hyperparameter ``name`` as an integer >= 1 (ConfigError otherwise)."""
        value = self.params[name]
        if int(value) != value or value < 1:
            raise ConfigError(f"model '{self.name}': {name} must be an integer >= 1, got {value}")
        return int(value)


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


@cache
def gnn_classes(tf: Any) -> dict[str, type]:
    """Keras classes of the GNN model, built once TensorFlow is imported."""

    class GNNLayer(tf.keras.layers.Layer):
        """LightGCN propagation: ``mean(E, A E, A^2 E, ..., A^L E)`` for ``L = n_layers``."""

        def __init__(self, adjacency: Any, n_layers: int) -> None:
            super().__init__()
            self.adjacency = adjacency
            self.n_layers = n_layers

        def call(self, table: Any) -> Any:
            outputs, x = [table], table
            for _ in range(self.n_layers):
                x = tf.sparse.sparse_dense_matmul(self.adjacency, x)
                outputs.append(x)
            return tf.add_n(outputs) / float(len(outputs))

    class GraphNodes(tf.keras.layers.Layer):
        """One embedding table for all graph nodes and its propagation by :class:`GNNLayer`."""

        def __init__(self, adjacency: Any, dim: int, n_layers: int) -> None:
            super().__init__()
            self.n_nodes = int(adjacency.dense_shape[0])
            self.table = tf.keras.layers.Embedding(self.n_nodes, dim)
            self.gnn = GNNLayer(adjacency, n_layers)

        def propagate(self) -> Any:
            return self.gnn(self.table(tf.range(self.n_nodes)))

    class NodeTower(tf.keras.Model):
        """Propagated embeddings of the nodes ``offset + ids`` (``ids`` = ``inputs[key]``)."""

        def __init__(self, nodes: Any, offset: int, key: str | None) -> None:
            super().__init__()
            self.nodes, self.offset, self.key = nodes, offset, key

        def call(self, inputs: Any) -> Any:
            ids = inputs[self.key] if self.key else inputs
            return tf.gather(self.nodes.propagate(), tf.cast(ids, tf.int32) + self.offset)

    return {"GNNLayer": GNNLayer, "GraphNodes": GraphNodes, "NodeTower": NodeTower}


def sparse_tensor(tf: Any, matrix: sp.spmatrix) -> Any:
    """A SciPy sparse matrix as an ordered ``tf.sparse.SparseTensor`` (float32)."""
    coo = matrix.tocoo()
    indices = np.column_stack([coo.row, coo.col]).astype(np.int64)
    tensor = tf.sparse.SparseTensor(indices, coo.data.astype(np.float32), coo.shape)
    return tf.sparse.reorder(tensor)


@register("gnn")
class GNN(IndexRetrieval):
    """GNN retrieval model of seed 001 (1): user and movie embeddings propagated over the graph.

    A ``GNNLayer`` aggregates embeddings over the user-movie interaction graph built from the
    *training* interactions only, LightGCN-style (He et al. 2020, SIGIR): with ``E`` the table of
    all user and movie embeddings and ``Â = D^-1/2 A D^-1/2`` the normalised bipartite adjacency
    (a ``tf.sparse.SparseTensor``), the final embeddings are ``mean(E, ÂE, ..., Â^L E)`` with
    ``L = n_layers``. Users are queries and movies candidates of the TFRS retrieval task (in-batch
    softmax); ranking is brute-force search over all propagated movie embeddings. The full table
    is propagated in every tower call (2,625 nodes on ML-100k, cheap): twice per training step,
    once for the query and once for the candidate tower, both from the same weights.

    Faithful: user and movie embeddings, a custom GNN layer over user-movie interactions, the
    retrieval task, brute-force search. Differs: the seed gives neither the aggregation rule nor
    any hyperparameter, so the layer is LightGCN's (no transforms or non-linearities) with its
    default 2 layers, and training uses the TFRS tutorial values shared by the seed family
    (embedding 32, Adagrad lr 0.1, batch 8192, 3 epochs); movies are keyed by id, not title.
    """

    source = "Seed 001 (1); LightGCN propagation (He et al. 2020, SIGIR); TFRS retrieval tutorial"
    defaults: ClassVar[dict[str, Any]] = {**IndexRetrieval.defaults, "n_layers": 2}

    def _graph_nodes(self, tf: Any, train: Interactions) -> Any:
        """The node table shared by both towers, built once per ``fit``."""
        if getattr(self, "_nodes_train", None) is not train:
            adjacency = sparse_tensor(tf, normalized_adjacency(train))
            n_layers = self.positive("n_layers")
            self._nodes = gnn_classes(tf)["GraphNodes"](
                adjacency, self.params["embedding_dim"], n_layers
            )
            self._nodes_train = train
        return self._nodes

    def build_query_tower(self, tf: Any, train: Interactions) -> Any:
        return gnn_classes(tf)["NodeTower"](self._graph_nodes(tf, train), 0, "user")

    def build_candidate_tower(self, tf: Any, train: Interactions) -> Any:
        nodes = self._graph_nodes(tf, train)
        return gnn_classes(tf)["NodeTower"](nodes, train.n_users, None)

    def fit(self, train: Interactions, valid: Interactions | None, rng: np.random.Generator) -> GNN:
        self._nodes_train = None
        super().fit(train, valid, rng)
        self._nodes_train = None  # do not keep a reference to the training data
        return self
