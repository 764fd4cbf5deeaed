"""The rating-error null: every rating predicted as the training mean."""

from __future__ import annotations

import numpy as np

from recrepro.data.interactions import Interactions
from recrepro.models.base import Recommender
from recrepro.models.registry import register


@register("global_mean")
class GlobalMeanRecommender(Recommender):
    """Predicts the mean training rating for every (user, movie): the floor a rating model must
    beat (its RMSE is the test ratings' spread around the training mean). Ranks movies by
    training-interaction count, as ``popularity`` does. No hyperparameters.
    """

    #: a mean and counts: same numbers on any CPU
    exact_across_cpus = True
    predicts_ratings = True
    default_validation_metric = "rmse"
    source = "Rating-error floor (global mean)"
    colour, marker, hatch = "#636363", "+", "++"
    defaults = {}

    def fit(
        self, train: Interactions, valid: Interactions | None, rng: np.random.Generator
    ) -> GlobalMeanRecommender:
        self.n_users, self.n_items = train.n_users, train.n_items
        self.mean_ = float(np.mean(train.rating, dtype=np.float64))
        self.counts_ = train.item_counts().astype(np.float32)
        return self

    def score(self, users: np.ndarray) -> np.ndarray:
        """``[len(users), n_items]``: training-interaction counts, the same for every user."""
        return np.tile(self.counts_, (len(users), 1))

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """``[len(users)]``: the training mean."""
        return np.full(len(np.asarray(users)), self.mean_, np.float32)
