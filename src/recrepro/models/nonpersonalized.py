"""Non-personalised reference points: random scores (the floor) and most-popular items."""

from __future__ import annotations

import numpy as np

from recrepro.data.interactions import Interactions
from recrepro.models.base import Recommender
from recrepro.models.registry import register


@register("random")
class RandomRecommender(Recommender):
    """Uniformly random scores: the sanity floor every model must beat.

    ``fit`` draws one seed from ``rng``; user ``u``'s scores come from a generator seeded by
    ``(seed, u)``, so they do not depend on how users are batched. No hyperparameters.
    """

    #: NumPy generator draws: same numbers on any CPU
    exact_across_cpus = True
    source = "Sanity baseline (uniform random ranking)"
    colour, marker, hatch = "#9E9E9E", "o", ""
    defaults = {}

    def fit(
        self, train: Interactions, valid: Interactions | None, rng: np.random.Generator
    ) -> RandomRecommender:
        self.n_users, self.n_items = train.n_users, train.n_items
        self.seed_ = int(rng.integers(2**63 - 1))
        return self

    def score(self, users: np.ndarray) -> np.ndarray:
        out = np.empty((len(users), self.n_items), np.float32)
        for row, user in enumerate(np.asarray(users)):
            out[row] = np.random.default_rng([self.seed_, int(user)]).random(self.n_items)
        return out


@register("popularity")
class PopularityRecommender(Recommender):
    """Most popular items first, the same list for everyone (e.g. Cremonesi et al. 2010, RecSys).

    Popularity is the number of training interactions per item. Scores are popularity ranks
    (``n_items - 1`` for the most popular item, down to 0) so that ties in the counts are broken
    deterministically, towards the lower item index, whatever sort the evaluator uses. The raw
    counts are kept in ``counts_``. No hyperparameters.
    """

    #: interaction counts: same numbers on any CPU
    exact_across_cpus = True
    source = "Cremonesi, Koren & Turrin (2010), RecSys"
    citation = r"""
@inproceedings{cremonesi2010performance,
  author    = {Cremonesi, Paolo and Koren, Yehuda and Turrin, Roberto},
  title     = {Performance of Recommender Algorithms on Top-{N} Recommendation Tasks},
  booktitle = {Proceedings of the 4th ACM Conference on Recommender Systems (RecSys)},
  pages     = {39--46},
  year      = {2010},
  doi       = {10.1145/1864708.1864721}
}
"""
    colour, marker, hatch = "#8C564B", "s", "//"
    defaults = {}

    def fit(
        self, train: Interactions, valid: Interactions | None, rng: np.random.Generator
    ) -> PopularityRecommender:
        self.n_users, self.n_items = train.n_users, train.n_items
        self.counts_ = train.item_counts()
        order = np.argsort(-self.counts_, kind="stable")
        self.scores_ = np.empty(self.n_items, np.float32)
        self.scores_[order] = np.arange(self.n_items - 1, -1, -1, dtype=np.float32)
        return self

    def score(self, users: np.ndarray) -> np.ndarray:
        return np.tile(self.scores_, (len(users), 1))
