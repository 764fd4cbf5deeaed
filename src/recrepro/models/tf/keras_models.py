"""The ``tfrs.Model`` subclasses the TF models train (imports TensorFlow: import only inside
``fit``).

Shapes: ``B`` rows of a batch, ``Q`` queries embedded (the distinct users of the batch when the
query is the user alone, else ``B``), ``N`` catalogue items, ``K`` candidates scored by the
objective (``U`` distinct batch items for the in-batch objectives, ``N`` for the full softmax),
``d`` embedding size.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
import tensorflow_recommenders as tfrs

from recrepro.models.tf import objectives
from recrepro.models.tf.graph import NodeTower


class RetrievalModel(tfrs.Model):
    """Query and candidate towers trained with a retrieval ``objective`` plus ``l2`` times the
    squared norms of every embedding table.

    Args:
      query: tower ``{feature: [B, ...]} -> [B, d]``.
      candidate: tower ``[K] -> [K, d]`` over candidate inputs.
      candidate_inputs: ``[N]`` the candidate tower's input for each catalogue index (the index
        itself, or the raw id string for towers that start with a ``StringLookup``).
      objective: ``in_batch`` (``tfrs.tasks.Retrieval``, computed over distinct candidates),
        ``in_batch_logq`` (the same with the logQ correction) or ``full_softmax``.
      sampling_probability: ``[N]`` probability of each item in a batch (its frequency in the
        training data); required by ``in_batch_logq``.
      l2: weight of the embedding tables' squared Frobenius norms in the loss.

    ``features["item"]`` is the ``[B]`` int32 catalogue index of each row's item.
    """

    def __init__(
        self,
        query: Any,
        candidate: Any,
        candidate_inputs: tf.Tensor,
        objective: str = "in_batch",
        sampling_probability: Any = None,
        l2: float = 0.0,
    ) -> None:
        super().__init__()
        self.query, self.candidate = query, candidate
        self.candidate_inputs = candidate_inputs
        self.objective = objective
        self.l2 = float(l2)
        self.log_q = None
        if objective == "in_batch_logq":
            probability = tf.constant(sampling_probability, tf.float32)
            self.log_q = objectives.log_q_correction(probability)

    def encode(self, features: dict[str, tf.Tensor], items: tf.Tensor) -> tuple[Any, Any]:
        """Query embeddings ``[Q, d]`` of the query ``features`` and candidate embeddings
        ``[K, d]`` of the catalogue indices ``items`` (``[K]``)."""
        return self.query(features), self.candidate(tf.gather(self.candidate_inputs, items))

    def retrieval_terms(self, features: dict[str, tf.Tensor]) -> tuple[Any, Any, Any, Any]:
        """The retrieval loss, each row's query ``[B, d]``, the scored candidates ``[K, d]`` and
        each row's position ``[B]`` among them.

        Queries that depend on the user alone are embedded and scored once per distinct user of
        the batch (:func:`~recrepro.models.tf.objectives.distinct_queries`; the same loss).
        """
        items = tf.cast(features["item"], tf.int32)
        queries, rows = objectives.distinct_queries(features)
        if self.objective == "full_softmax":
            positive = items
            query, candidates = self.encode(queries, tf.range(tf.shape(self.candidate_inputs)[0]))
            loss = objectives.full_softmax(query, candidates, positive, rows)
        else:
            scored, positive, multiplicity = objectives.distinct_candidates(items)
            query, candidates = self.encode(queries, scored)
            log_q = None if self.log_q is None else tf.gather(self.log_q, scored)
            loss = objectives.in_batch_softmax(
                query, candidates, positive, multiplicity, log_q, rows
            )
        row_query = query if rows is None else tf.gather(query, rows)
        return loss, row_query, candidates, positive

    def penalty(self) -> tf.Tensor:
        """``l2 * sum ||E||^2`` over the embedding tables (0 without ``l2``)."""
        if not self.l2:
            return tf.constant(0.0)
        tables = [
            module.embeddings
            for module in self.submodules
            if isinstance(module, tf.keras.layers.Embedding)
        ]
        return self.l2 * objectives.squared_norms(tables)

    def compute_loss(self, features: dict[str, tf.Tensor], training: bool = False) -> tf.Tensor:
        loss = self.retrieval_terms(features)[0]
        return loss + self.penalty() if self.l2 else loss


class GraphRetrievalModel(RetrievalModel):
    """:class:`RetrievalModel` whose two :class:`NodeTower` share one graph: a training step
    propagates the node table once for both towers (not once per tower)."""

    def encode(self, features: dict[str, tf.Tensor], items: tf.Tensor) -> tuple[Any, Any]:
        query: NodeTower = self.query
        propagated = query.nodes.propagate()  # [n_users + n_items, d]
        return query.gather(propagated, features["user"]), self.candidate.gather(propagated, items)


class JointModel(RetrievalModel):
    """Weighted sum of the rating (MSE on ``features["rating"]``) and retrieval losses; a zero
    retrieval weight skips retrieval. ``rating`` maps concatenated ``[B, 2d]`` embeddings to ``[B, 1]``."""

    def __init__(
        self,
        query: Any,
        candidate: Any,
        candidate_inputs: tf.Tensor,
        rating: Any,
        rating_weight: float,
        retrieval_weight: float,
        objective: str = "in_batch",
        sampling_probability: Any = None,
        l2: float = 0.0,
    ) -> None:
        super().__init__(query, candidate, candidate_inputs, objective, sampling_probability, l2)
        self.rating = rating
        self.rating_weight, self.retrieval_weight = rating_weight, retrieval_weight
        self.ranking_task = tfrs.tasks.Ranking(loss=tf.keras.losses.MeanSquaredError())

    def compute_loss(self, features: dict[str, tf.Tensor], training: bool = False) -> tf.Tensor:
        loss = tf.constant(0.0)
        if self.retrieval_weight:
            retrieval, query, candidates, positive = self.retrieval_terms(features)
            loss += self.retrieval_weight * retrieval
            rows = tf.gather(candidates, positive)  # [B, d]
        else:
            query, rows = self.encode(features, tf.cast(features["item"], tf.int32))
        # The rating term is computed even at weight 0, as in the TFRS multitask tutorial: it
        # builds the rating head (the tutorial's retrieval-only model still predicts ratings, from
        # an untrained head) and its zero-weighted gradients change nothing.
        predicted = self.rating(tf.concat([query, rows], axis=1))
        loss += self.rating_weight * self.ranking_task(
            labels=features["rating"], predictions=predicted[:, 0], compute_metrics=False
        )
        return loss + self.penalty() if self.l2 else loss
