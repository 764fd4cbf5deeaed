"""Item-based k-nearest-neighbour top-N recommendation."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recrepro.core.errors import ConfigError
from recrepro.models._sparse import ItemItemRecommender, top_k_item_item
from recrepro.models.registry import register


@register("itemknn")
class ItemKNN(ItemItemRecommender):
    """Item-based kNN (Sarwar et al. 2001, WWW; Deshpande & Karypis 2004, ACM TOIS).

    On the binary user x item training matrix ``X``, the similarity of items ``i`` and ``j`` is
    the shrunk cosine ``c_ij / (sqrt(n_i) * sqrt(n_j) + shrink)``, where ``c_ij`` counts users with
    both items and ``n_i`` users with item ``i``; an item is not its own neighbour. Each item keeps
    only its ``neighbors`` most similar items (row ``j`` of the sparse ``S``), and a user's score
    for item ``i`` is ``sum_j x_uj * S_ji``: the similarities of ``i`` to the items the user has.
    Similarities are computed in blocks of items, so memory stays bounded by the sparse model.

    Hyperparameters: ``neighbors`` (items kept per item), ``shrink`` (cosine shrinkage term that
    damps similarities supported by few users).
    """

    #: sparse NumPy/SciPy similarities, no randomness: same numbers on any CPU
    exact_across_cpus = True
    source = "Deshpande & Karypis (2004), ACM TOIS; Sarwar et al. (2001), WWW"
    citation = r"""
@inproceedings{sarwar2001item,
  author    = {Sarwar, Badrul and Karypis, George and Konstan, Joseph and Riedl, John},
  title     = {Item-Based Collaborative Filtering Recommendation Algorithms},
  booktitle = {Proceedings of the 10th International Conference on World Wide Web (WWW)},
  pages     = {285--295},
  year      = {2001},
  doi       = {10.1145/371920.372071}
}

@article{deshpande2004item,
  author  = {Deshpande, Mukund and Karypis, George},
  title   = {Item-Based Top-{N} Recommendation Algorithms},
  journal = {ACM Transactions on Information Systems},
  volume  = {22},
  number  = {1},
  pages   = {143--177},
  year    = {2004},
  doi     = {10.1145/963770.963776}
}
"""
    colour, marker, hatch = "#BCBD22", "^", ".."
    search_space = {
        "neighbors": {"low": 10, "high": 1000, "log": True},
        "shrink": {"low": 0.0, "high": 100.0},
    }
    defaults = {"neighbors": 100, "shrink": 10.0}

    def item_weights(self, matrix: sp.csr_matrix) -> sp.csr_matrix:
        neighbors, shrink = int(self.params["neighbors"]), float(self.params["shrink"])
        if neighbors < 1 or shrink < 0:
            raise ConfigError(
                f"model 'itemknn': need neighbors >= 1 and shrink >= 0, got {neighbors}, {shrink}"
            )
        return cosine_neighbors(matrix, neighbors, shrink)


def cosine_neighbors(matrix: sp.csr_matrix, neighbors: int, shrink: float) -> sp.csr_matrix:
    """Row ``j``: the ``neighbors`` highest shrunk cosine similarities of item ``j`` (float32)."""
    n_items = matrix.shape[1]
    users_by_items = matrix.astype(np.float64)
    items_by_users = users_by_items.T.tocsr()
    norms = np.sqrt(np.asarray(items_by_users.sum(axis=1)).ravel())

    def shrunk_cosine(block: slice) -> np.ndarray:
        co = (items_by_users[block] @ users_by_items).toarray()
        return co / (norms[block, None] * norms[None, :] + shrink + 1e-12)

    return top_k_item_item(n_items, shrunk_cosine, neighbors)
