"""RP3beta: item-item weights from a three-step random walk on the user-item graph, with the
popularity of the walk's end item discounted."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recrepro.core.errors import ConfigError
from recrepro.models._sparse import ItemItemRecommender, top_k_item_item
from recrepro.models.registry import register


@register("rp3beta")
class RP3beta(ItemItemRecommender):
    """RP3beta (Paudel et al. 2016, ACM TiiS): 3-step random-walk item weights, popularity-discounted.

    As implemented by Ferrari Dacrema et al. (2019, RecSys), whose strongest graph baseline it is.

    On the binary user x item training matrix ``X``, a walk goes user -> item with probability
    ``P_ui = x_ui / n_u`` and item -> user with ``P_iu = x_ui / n_i`` (``n_u`` items of user
    ``u``, ``n_i`` users of item ``i``: row-normalised transitions). The weight of item ``j`` for
    item ``i`` is the probability that a walk from ``i`` through a user reaches ``j``, each
    transition raised to the power ``alpha``, divided by ``j``'s popularity to the power
    ``beta``: ``W_ij = sum_u P_iu^alpha P_uj^alpha / n_j^beta`` (0 for items nobody has); an item
    is not its own neighbour, and each item keeps its ``top_k`` largest weights (row ``i``). A
    user's score for item ``j`` is ``sum_i x_ui W_ij``, the third step of the walk from the user.
    Weights are computed in blocks of items, so memory stays bounded by the sparse model.

    Hyperparameters (defaults: the reference implementation's): ``alpha`` (>= 0; 1 is the plain
    walk), ``beta`` (>= 0; 0 is P3alpha, larger values favour the long tail), ``top_k`` (>= 1,
    neighbours kept per item).
    """

    #: float64 NumPy/SciPy products and powers, no randomness; the power kernels (NumPy's SIMD
    #: dispatch) may round differently by CPU, so verify allows a margin
    exact_across_cpus = False
    source = "Paudel et al. (2016), ACM TiiS; Ferrari Dacrema et al. (2019), RecSys"
    citation = r"""
@article{paudel2016updatable,
  author  = {Paudel, Bibek and Christoffel, Fabian and Newell, Chris and Bernstein, Abraham},
  title   = {Updatable, Accurate, Diverse, and Scalable Recommendations for Interactive
             Applications},
  journal = {ACM Transactions on Interactive Intelligent Systems},
  volume  = {7},
  number  = {1},
  pages   = {1:1--1:34},
  year    = {2016},
  doi     = {10.1145/2955101}
}
"""
    colour, marker, hatch = "#AD494A", "d", "oo"
    defaults = {"alpha": 1.0, "beta": 0.6, "top_k": 100}
    #: Ferrari Dacrema et al.'s space: alpha and beta uniform on [0, 2], top_k 5-800 (log: half
    #: of ML-100K's 1,682 items at most; their 5-1000 was for larger catalogues).
    search_space = {
        "alpha": {"low": 0.0, "high": 2.0},
        "beta": {"low": 0.0, "high": 2.0},
        "top_k": {"low": 5, "high": 800, "log": True},
    }

    def item_weights(self, matrix: sp.csr_matrix) -> sp.csr_matrix:
        alpha, beta, top_k = (float(self.params["alpha"]), float(self.params["beta"]),
                              int(self.params["top_k"]))  # fmt: skip
        if alpha < 0 or beta < 0 or top_k < 1:
            raise ConfigError(
                f"model 'rp3beta': need alpha >= 0, beta >= 0 and top_k >= 1, got {alpha}, {beta}, "
                f"{top_k}"
            )
        return rp3beta_weights(matrix, alpha, beta, top_k)


def rp3beta_weights(matrix: sp.csr_matrix, alpha: float, beta: float, top_k: int) -> sp.csr_matrix:
    """Row ``i``: the ``top_k`` largest RP3beta weights ``W_ij`` of item ``i`` (float32, zero
    diagonal; see :class:`RP3beta`)."""
    users_by_items = sp.csr_matrix(matrix, dtype=np.float64)
    users_by_items.data[:] = 1.0
    n_items = users_by_items.shape[1]
    user_degree = np.asarray(users_by_items.sum(axis=1)).ravel()
    item_degree = np.asarray(users_by_items.sum(axis=0)).ravel()
    # P_ui (users x items) and P_iu (items x users), each row-normalised; empty rows stay empty.
    p_ui = sp.diags(1.0 / np.maximum(user_degree, 1.0)) @ users_by_items
    p_iu = (sp.diags(1.0 / np.maximum(item_degree, 1.0)) @ users_by_items.T).tocsr()
    if alpha != 1.0:
        p_ui.data **= alpha
        p_iu.data **= alpha
    discount = np.zeros(n_items)
    held = item_degree > 0
    discount[held] = item_degree[held] ** -beta
    return top_k_item_item(
        n_items, lambda block: (p_iu[block] @ p_ui).toarray() * discount[None, :], top_k
    )
