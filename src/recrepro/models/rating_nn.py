"""Keras collaborative-filtering rating model of seed 004."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from recrepro.data.interactions import Interactions
from recrepro.models.registry import register
from recrepro.models.tf.joint import JointRecommender


@register("rating_nn")
class RatingNN(JointRecommender):
    """Rating-prediction network of seed 004: user and movie embeddings, an MLP, MSE, Adam.

    Faithful: user and movie embedding layers whose concatenation feeds a neural network that
    regresses the rating, trained with the mean squared error and the Adam optimiser while
    being validated on held-out ratings; movies recommended by predicted rating
    (:meth:`recommend_movies`, and ``score`` = predicted ratings of every movie, evaluated by
    Recall@K like the seed). The seed gives no sizes, so the TFRS ranking tutorial's network is
    used (32-dimensional embeddings, Dense(256, ReLU) -> Dense(64, ReLU) -> Dense(1)); Adam keeps
    the Keras default learning rate 0.001. Differs: the seed's validation split is the split's
    validation set, used for early stopping (``patience`` 3 epochs without a lower validation
    RMSE, best weights kept, at most 20 epochs); batches of 256 (the seed gives none; Keras' default
    32 would be slow). This is the joint model of ``multitask`` with only the rating task
    (``retrieval_weight`` 0), as in the TFRS multitask tutorial's rating-specialised model.
    """

    #: TensorFlow float32 kernels and their reduction order differ by CPU (oneDNN build)
    exact_across_cpus = False
    source = "Seed 004; TFRS basic ranking tutorial"
    citation = r"""
@misc{banerjee2020keras,
  author       = {Banerjee, Siddhartha},
  title        = {Collaborative Filtering for Movie Recommendations},
  howpublished = {\url{https://keras.io/examples/structured_data/collaborative_filtering_movielens/}},
  year         = {2020},
  note         = {Keras code example}
}

@misc{tfrsBasicRanking,
  author       = {{TensorFlow Recommenders Authors}},
  title        = {Recommending movies: ranking},
  howpublished = {\url{https://www.tensorflow.org/recommenders/examples/basic_ranking}},
  year         = {2020},
  note         = {TensorFlow Recommenders tutorial}
}
"""
    colour, marker, hatch = "#000000", "X", "xx"
    #: rating prediction only: tuned on validation RMSE
    task = "rating"
    search_space = {
        "optimizer": ["adagrad", "adam"],
        "learning_rate": {"low": 0.0001, "high": 0.01, "log": True},
        "embedding_dim": [16, 32, 64],
        "batch_size": [256, 1024, 4096],
        "epochs": {"low": 5, "high": 20},
        "patience": 3,
    }
    #: No retrieval task, hence no retrieval objective (``l2`` still applies to the embeddings).
    defaults: ClassVar[dict[str, Any]] = {
        **{
            k: v
            for k, v in JointRecommender.defaults.items()
            if k not in ("objective", "max_softmax_items")
        },
        "rating_hidden_units": [256, 64],
        "rating_weight": 1.0,
        "retrieval_weight": 0.0,
        "optimizer": "adam",
        "learning_rate": 0.001,
        "epochs": 20,
        "batch_size": 256,
        "patience": 3,
    }

    def fit(
        self, train: Interactions, valid: Interactions | None, rng: np.random.Generator
    ) -> RatingNN:
        super().fit(train, valid, rng)
        seen = train if valid is None else train.concat(valid)
        self._seen = seen.matrix()
        return self

    def score(self, users: np.ndarray) -> np.ndarray:
        """Predicted ratings of every catalogue item."""
        return self.predicted_ratings(users)

    def recommend_movies(self, user_index: int, k: int = 10) -> np.ndarray:
        """Indices of the ``k`` movies with the highest predicted rating that ``user_index`` has
        not rated in the data given to ``fit`` (training and validation)."""
        scores = self.score(np.array([user_index]))[0].astype(np.float64)
        scores[self._seen[user_index].indices] = -np.inf
        order = np.argsort(-scores, kind="stable")
        return order[: min(k, int(np.isfinite(scores).sum()))]
