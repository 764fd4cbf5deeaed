"""EASE^R: an embarrassingly shallow linear item-item autoencoder with a closed-form solution."""

from __future__ import annotations

import numpy as np
import scipy.linalg.lapack as lapack
import scipy.sparse as sp

from recrepro.core.errors import ConfigError, ModelNotApplicable, TrainingError
from recrepro.models._sparse import ItemItemRecommender, row_blocks
from recrepro.models.registry import register

#: Peak bytes per item pair of :func:`ease_weights`: the float64 inverse plus float32 weights.
BYTES_PER_ITEM_PAIR = 12


@register("ease")
class EASE(ItemItemRecommender):
    """EASE^R (Steck 2019, WWW): ``min_B ||X - X B||^2 + l2 ||B||^2`` subject to ``diag(B) = 0``.

    With the Gram matrix ``G = X^T X + l2 I`` of the binary user x item training matrix ``X`` and
    ``P = G^-1``, the solution is ``B_ij = -P_ij / P_jj`` (``B_jj = 0``); user scores are
    ``x_u B``. ``G``, ``P`` and ``B`` are dense ``n_items x n_items`` matrices (about 12 bytes
    per item pair at the peak: 10 GiB for 30,000 items), so ``fit`` refuses catalogues larger
    than ``max_items`` with :class:`~recrepro.core.errors.ModelNotApplicable` before allocating
    anything.

    Hyperparameters: ``l2`` (ridge penalty), ``max_items`` (largest catalogue accepted).
    """

    #: closed-form float64 NumPy/SciPy solve, no randomness: same numbers on any CPU
    exact_across_cpus = True
    source = "Steck (2019), WWW"
    citation = r"""
@inproceedings{steck2019embarrassingly,
  author    = {Steck, Harald},
  title     = {Embarrassingly Shallow Autoencoders for Sparse Data},
  booktitle = {The World Wide Web Conference (WWW '19)},
  pages     = {3251--3257},
  year      = {2019},
  doi       = {10.1145/3308558.3313710}
}
"""
    colour, marker, hatch = "#2CA02C", "D", "xx"
    search_space = {"l2": {"low": 10.0, "high": 10000.0, "log": True}}
    defaults = {"l2": 500.0, "max_items": 30_000}

    def item_weights(self, matrix: sp.csr_matrix) -> np.ndarray:
        n_items, max_items = matrix.shape[1], int(self.params["max_items"])
        if n_items > max_items:
            raise ModelNotApplicable(
                f"model 'ease' does not fit this dataset: its catalogue has {n_items} items, more "
                f"than max_items={max_items}; the dense item-item matrices would need about "
                f"{ease_memory_bytes(n_items) / 2**30:.1f} GiB of memory; raise max_items "
                f"(config models: {{ease: {{max_items: {n_items}}}}}) on a machine with that much, "
                "or drop ease for this dataset"
            )
        if float(self.params["l2"]) <= 0:
            raise ConfigError(f"model 'ease': l2 must be positive, got {self.params['l2']}")
        return ease_weights(matrix, float(self.params["l2"]))


def ease_memory_bytes(n_items: int) -> int:
    """Peak memory of :func:`ease_weights` for ``n_items`` items (the dense matrices only)."""
    return BYTES_PER_ITEM_PAIR * n_items * n_items


def ease_weights(matrix: sp.csr_matrix, l2: float) -> np.ndarray:
    """The closed-form EASE^R item-item matrix (float32, zero diagonal).

    Memory-lean: the Gram matrix is built densely block by block (never as a sparse
    ``n_items x n_items`` product), inverted in place by LAPACK (Cholesky ``dpotrf`` then
    ``dpotri``, float64), and turned into float32 weights column block by column block.
    """
    n_items = matrix.shape[1]
    columns = sp.csc_matrix(matrix, dtype=np.float64)
    items_by_users = columns.T.tocsr()
    gram = np.empty((n_items, n_items), order="F")  # Fortran order: LAPACK works in place
    for block in row_blocks(n_items, n_items):
        gram[:, block] = (items_by_users @ columns[:, block]).toarray()
    gram[np.diag_indices(n_items)] += l2
    factor, info = lapack.dpotrf(gram, lower=False, overwrite_a=True, clean=False)
    if info == 0:
        inverse, info = lapack.dpotri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise TrainingError(f"model 'ease': the Gram matrix is not positive definite (LAPACK info {info})")
    del gram, factor  # the same buffer as ``inverse``: its upper triangle now holds P = G^-1
    diagonal = inverse.diagonal().copy()
    weights = np.empty((n_items, n_items), np.float32)
    for block in row_blocks(n_items, n_items):
        # Column j of P: its upper part is stored in column j, its lower part in row j.
        part = np.triu(inverse[:, block], k=-block.start)
        below = inverse[block, block.stop :].T
        part[block.stop :] = below
        lower = np.tril(inverse[block, block].T, k=-1)
        part[block] += lower
        part /= -diagonal[None, block]
        part[np.arange(block.start, block.stop), np.arange(block.stop - block.start)] = 0.0
        weights[:, block] = part
    return weights
