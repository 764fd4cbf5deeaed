"""Helpers shared by the classic baselines: item-to-item models on the binary user-item matrix.

Not a model module (the leading underscore keeps the registry from importing it as one).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from recrepro.data.interactions import Interactions
from recrepro.models.base import Recommender

#: Memory budget for one dense block of an item-item computation (bytes).
BLOCK_BYTES = 64 * 2**20


def dense_rows(matrix: sp.spmatrix | np.ndarray) -> np.ndarray:
    """A sparse or dense product as a C-contiguous float32 array."""
    if sp.issparse(matrix):
        matrix = matrix.toarray()
    return np.ascontiguousarray(matrix, dtype=np.float32)


def row_blocks(n_rows: int, n_cols: int, itemsize: int = 8) -> list[slice]:
    """Consecutive row slices such that a dense ``[block, n_cols]`` array fits ``BLOCK_BYTES``."""
    size = max(1, BLOCK_BYTES // max(1, n_cols * itemsize))
    return [slice(start, min(start + size, n_rows)) for start in range(0, n_rows, size)]


def top_k_per_row(block: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``k`` largest strictly positive entries of each row of a dense block (no NaN).

    Returns ``(row, col, value)`` arrays (rows relative to the block). Ties at the boundary are
    broken towards the lower column index, so the result is deterministic. The selection is the
    evaluator's partition-based :func:`~recrepro.evaluation.metrics.top_k` (linear per row, not
    a full sort), which orders exactly like a stable sort of the negated values.
    """
    from recrepro.evaluation.metrics import top_k

    n_rows, n_cols = block.shape
    k = min(k, n_cols)
    if k == 0:
        empty = np.empty(0, np.int64)
        return empty, empty, np.empty(0, block.dtype)
    cols = top_k(block, k)
    values = np.take_along_axis(block, cols, axis=1)
    rows = np.repeat(np.arange(n_rows), k).reshape(n_rows, k)
    keep = values > 0
    return rows[keep], cols[keep], values[keep]


def top_k_item_item(
    n_items: int, block_scores: Callable[[slice], np.ndarray], k: int
) -> sp.csr_matrix:
    """An ``n_items x n_items`` float32 matrix keeping, per row, the ``k`` largest strictly
    positive scores of ``block_scores(rows)`` (a dense ``[rows, n_items]`` array, computed one
    memory-bounded row block at a time) with the diagonal zeroed: an item is never its own
    neighbour. Ties as in :func:`top_k_per_row`."""
    rows, cols, vals = [], [], []
    for block in row_blocks(n_items, n_items):
        scores = block_scores(block)
        local = np.arange(block.stop - block.start)
        scores[local, local + block.start] = 0.0
        r, c, v = top_k_per_row(scores, k)
        rows.append(r + block.start)
        cols.append(c)
        vals.append(v)
    data = np.concatenate(vals).astype(np.float32)
    return sp.csr_matrix((data, (np.concatenate(rows), np.concatenate(cols))), shape=(n_items, n_items))


class ItemItemRecommender(Recommender):
    """Scores ``x_u @ W``: the user's binary training row times an item-item weight matrix."""

    def fit(
        self, train: Interactions, valid: Interactions | None, rng: np.random.Generator
    ) -> ItemItemRecommender:
        self.n_users, self.n_items = train.n_users, train.n_items
        self.seen_ = train.matrix("binary")
        self.weights_ = self.item_weights(self.seen_)
        return self

    @abstractmethod
    def item_weights(self, matrix: sp.csr_matrix) -> sp.csr_matrix | np.ndarray:
        """The ``[n_items, n_items]`` weights learned from the binary users x items ``matrix``."""

    def score(self, users: np.ndarray) -> np.ndarray:
        return dense_rows(self.seen_[np.asarray(users)] @ self.weights_)
