"""EASE^R: an embarrassingly shallow linear item-item autoencoder with a closed-form solution."""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from recrepro.errors import ConfigError
from recrepro.models._sparse import ItemItemRecommender
from recrepro.models.registry import register


@register("ease")
class EASE(ItemItemRecommender):
    """EASE^R (Steck 2019, WWW): ``min_B ||X - X B||^2 + l2 ||B||^2`` subject to ``diag(B) = 0``.

    With the Gram matrix ``G = X^T X + l2 I`` of the binary user x item training matrix ``X`` and
    ``P = G^-1``, the solution is ``B_ij = -P_ij / P_jj`` (``B_jj = 0``); user scores are
    ``x_u B``. ``B`` is a dense ``n_items x n_items`` matrix, so catalogues larger than
    ``max_items`` are refused up front.

    Hyperparameters: ``l2`` (ridge penalty), ``max_items`` (largest catalogue accepted).
    """

    source = "Steck (2019), WWW"
    defaults = {"l2": 500.0, "max_items": 50_000}

    def item_weights(self, matrix: sp.csr_matrix) -> np.ndarray:
        n_items, max_items = matrix.shape[1], int(self.params["max_items"])
        if n_items > max_items:
            gib = 2 * 8 * n_items**2 / 2**30
            raise ConfigError(
                f"model 'ease': the catalogue has {n_items} items, more than "
                f"max_items={max_items}; the dense item-item matrices would need about "
                f"{gib:.0f} GiB; use itemknn or raise max_items"
            )
        if float(self.params["l2"]) <= 0:
            raise ConfigError(f"model 'ease': l2 must be positive, got {self.params['l2']}")
        return ease_weights(matrix, float(self.params["l2"]))


def ease_weights(matrix: sp.csr_matrix, l2: float) -> np.ndarray:
    """The closed-form EASE^R item-item matrix (float32, zero diagonal)."""
    gram = (matrix.T @ matrix).toarray().astype(np.float64)
    gram[np.diag_indices_from(gram)] += l2
    factor = scipy.linalg.cho_factor(gram, overwrite_a=True)
    weights = scipy.linalg.cho_solve(factor, np.eye(len(gram)), overwrite_b=True)
    weights /= -np.diag(weights)[None, :]
    weights[np.diag_indices_from(weights)] = 0.0
    return weights.astype(np.float32)
