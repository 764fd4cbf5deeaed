"""Multitask model of seed 003: the TFRS multitask recipe (joint rating + retrieval).

The joint model itself, :class:`recrepro.models.tf.joint.JointRecommender`, is shared with
``rating_nn`` (seed 004), which keeps only the rating task.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from recrepro.models._sparse import row_blocks
from recrepro.models.registry import register
from recrepro.models.tf.bases import RETRIEVAL_SPACE
from recrepro.models.tf.joint import JointRecommender


@register("multitask")
class Multitask(JointRecommender):
    """Multitask model of seed 003: rating prediction and retrieval trained jointly.

    Faithful: user and movie embedding towers shared by a ranking task (a neural network on the
    two representations predicts the rating, MSE) and a retrieval task, trained on the weighted
    sum of the two losses (``rating_weight``, ``retrieval_weight``); the movie representation
    includes movie metadata (release year and genres); movie-to-movie similarity from the movie
    embeddings (:meth:`similar_items`, :meth:`item_similarities`). The seed gives no numbers, so
    the TFRS multitask tutorial's apply: 32-dimensional embeddings, rating head Dense(256, ReLU)
    -> Dense(128, ReLU) -> Dense(1), both weights 1.0 (its joint model), Adagrad with learning
    rate 0.1, 3 epochs on batches of 8192.

    Differs: the year is embedded per bucket (plus the scaled year, as for timestamps in the
    TFRS featurization tutorial) and the genres as a sum of genre embeddings, then a linear
    Dense layer maps [id embedding, year, genres] to 32 dimensions; the seed's budget is not in
    MovieLens 100K. ``score`` (the ranking evaluated by top-K metrics) is the retrieval dot
    product, i.e. brute-force search over movie embeddings as in the tutorial's recommendations;
    ``predict`` (RMSE/MAE) is the rating head. Movies keyed by id, not title.
    """

    #: TensorFlow float32 kernels and their reduction order differ by CPU (oneDNN build)
    exact_across_cpus = False
    source = "Seed 003; TFRS multitask tutorial"
    citation = r"""
@misc{tfrsMultitask,
  author       = {{TensorFlow Recommenders Authors}},
  title        = {Multi-task recommenders},
  howpublished = {\url{https://www.tensorflow.org/recommenders/examples/multitask}},
  year         = {2020},
  note         = {TensorFlow Recommenders tutorial}
}
"""
    colour, marker, hatch = "#7F7F00", "P", ".."
    search_space = {**RETRIEVAL_SPACE, "rating_weight": [0.1, 1.0]}
    defaults: ClassVar[dict[str, Any]] = {**JointRecommender.defaults, "item_metadata": True}

    def similar_items(self, item_index: int, k: int = 10) -> np.ndarray:
        """Indices of the ``k`` movies most cosine-similar to ``item_index`` (itself excluded)."""
        similarity = self._cosine(np.array([item_index]))[0]
        similarity[item_index] = -np.inf
        return np.argsort(-similarity, kind="stable")[:k]

    def item_similarities(self, k: int = 10) -> pd.DataFrame:
        """The ``k`` most similar movies of every movie: columns ``item``, ``rank`` (1..k),
        ``similar_item`` (MovieLens ids) and ``similarity`` (cosine of movie embeddings).

        Computed a block of movies at a time (never the whole movies x movies matrix), with the
        evaluator's deterministic top-k (ties to the lower index, as in :meth:`similar_items`).
        """
        from recrepro.evaluation.metrics import top_k

        unit = self._unit_item_embeddings()
        k = min(k, self.n_items)
        tops, values = [], []
        for block in row_blocks(self.n_items, self.n_items):
            similarity = unit[block] @ unit.T
            rows = np.arange(block.stop - block.start)
            similarity[rows, rows + block.start] = -np.inf
            top = top_k(similarity, k)
            tops.append(top)
            values.append(np.take_along_axis(similarity, top, axis=1))
        top = np.concatenate(tops)
        ids = self._item_ids.astype(np.int64)
        return pd.DataFrame(
            {
                "item": np.repeat(ids, k),
                "rank": np.tile(np.arange(1, k + 1), self.n_items),
                "similar_item": ids[top.ravel()],
                "similarity": np.concatenate(values).ravel(),
            }
        )

    def _cosine(self, items: np.ndarray) -> np.ndarray:
        """Cosine similarities ``[len(items), n_items]`` of movie (candidate) embeddings."""
        unit = self._unit_item_embeddings()
        return unit[items] @ unit.T

    def _unit_item_embeddings(self) -> np.ndarray:
        """Movie (candidate) embeddings scaled to unit length (float64)."""
        emb = self.item_embeddings().astype(np.float64)
        return emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
