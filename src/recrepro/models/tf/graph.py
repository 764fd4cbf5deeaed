"""LightGCN propagation of the gnn model (imports TensorFlow: import only inside ``fit``).

Shapes: ``N`` graph nodes (users ``0..n_users-1``, then movies), ``d`` embedding size.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
import tensorflow as tf
from tensorflow.python.ops.linalg.sparse import sparse_csr_matrix_ops as csr


def sparse_tensor(matrix: sp.spmatrix) -> tf.sparse.SparseTensor:
    """A SciPy sparse matrix as an ordered ``tf.sparse.SparseTensor`` (float32)."""
    coo = matrix.tocoo()
    indices = np.column_stack([coo.row, coo.col]).astype(np.int64)
    tensor = tf.sparse.SparseTensor(indices, coo.data.astype(np.float32), coo.shape)
    return tf.sparse.reorder(tensor)


class GNNLayer(tf.keras.layers.Layer):
    """LightGCN propagation ``[N, d] -> [N, d]``: ``mean(E, A E, A^2 E, ..., A^L E)`` for the
    ``[N, N]`` sparse ``adjacency`` ``A`` and ``L = n_layers``.

    ``A`` is held as a CSR matrix (TensorFlow's ``CSRSparseMatrix``): its product and gradient
    cost a ninth of ``tf.sparse.sparse_dense_matmul``'s on ML-100K (3 layers, d = 128: 18 against
    150 CPU-ms per training step, equal to float32 round-off).
    """

    def __init__(self, adjacency: tf.sparse.SparseTensor, n_layers: int) -> None:
        super().__init__()
        self.adjacency = csr.CSRSparseMatrix(adjacency)
        self.n_layers = n_layers

    def call(self, table: tf.Tensor) -> tf.Tensor:
        outputs, x = [table], table
        for _ in range(self.n_layers):
            x = csr.matmul(self.adjacency, x)
            outputs.append(x)
        return tf.add_n(outputs) / float(len(outputs))


class GraphNodes(tf.keras.layers.Layer):
    """One ``[N, d]`` embedding table for all graph nodes and its propagation by
    :class:`GNNLayer`."""

    def __init__(self, adjacency: tf.sparse.SparseTensor, dim: int, n_layers: int) -> None:
        super().__init__()
        self.n_nodes = int(adjacency.dense_shape[0])
        self.table = tf.keras.layers.Embedding(self.n_nodes, dim)
        self.gnn = GNNLayer(adjacency, n_layers)

    def propagate(self) -> tf.Tensor:
        """``[N, d]`` propagated embeddings of every node."""
        return self.gnn(self.table(tf.range(self.n_nodes)))


class NodeTower(tf.keras.Model):
    """Propagated embeddings ``[B, d]`` of the nodes ``offset + ids`` (``ids``: ``[B]``, or
    ``inputs[key]``). Used for ranking; training propagates once per step for both towers
    (:class:`recrepro.models.tf.keras_models.GraphRetrievalModel`)."""

    def __init__(self, nodes: GraphNodes, offset: int, key: str | None) -> None:
        super().__init__()
        self.nodes, self.offset, self.key = nodes, offset, key

    def call(self, inputs: Any) -> tf.Tensor:
        ids = inputs[self.key] if self.key else inputs
        return self.gather(self.nodes.propagate(), ids)

    def gather(self, propagated: tf.Tensor, ids: tf.Tensor) -> tf.Tensor:
        """Rows ``offset + ids`` of already ``propagated`` node embeddings ``[N, d]``."""
        return tf.gather(propagated, tf.cast(ids, tf.int32) + self.offset)
