"""Retrieval losses of the TF models (imports TensorFlow: import only inside ``fit``).

Every loss is summed over the batch, like ``tfrs.tasks.Retrieval`` (whose Keras loss uses
``Reduction.SUM``). Scores are dot products of query and candidate embeddings.

In-batch softmax over distinct candidates
-----------------------------------------
``tfrs.tasks.Retrieval`` scores each of the ``B`` queries against the ``B`` candidates of the
batch and takes row ``i``'s own column ``i`` as the positive: with ``s_ij = q_i . c_j``,

    loss = sum_i [ -s_ii + logsumexp_j s_ij ].

A movie that occurs several times in the batch has the same embedding in each of its columns,
so its score appears ``m_u`` times (its multiplicity) in every row's logsumexp; for a row whose
positive is that movie, its own column and its duplicates all count, the duplicates as
negatives (TFRS does not remove accidental hits by default). Hence, over the ``U`` distinct
movies ``u`` of the batch,

    logsumexp_j s_ij = logsumexp_u (s_iu + log m_u),    s_ii = s_{i, u(i)},

which needs a ``[B, U]`` score matrix instead of ``[B, B]`` (``U <= 1,682`` on MovieLens 100K
against ``B = 8,192``). As a sparse cross-entropy with labels ``u(i)`` on the logits
``z_iu = s_iu + log m_u``: ``-s_{i,u(i)} + logsumexp_u z_iu = CE(z_i, u(i)) + log m_{u(i)}``.

With the logQ correction (TFRS's ``candidate_sampling_probability``), every column ``j`` is
shifted by ``-log p_j`` (``p`` clipped to ``[1e-6, 1]`` as in TFRS), the positive included; the
same identity holds with ``s_iu - log p_u``.

Distinct queries
----------------
The logsumexp term of row ``i`` depends on the row only through its query embedding ``q_i``
(every row of a batch is scored against the same candidates). When the query is a function of
the user alone (ID towers, the GNN and KNN towers; not the session or timestamp towers), rows
of the same user share it, so the losses take the ``Q`` distinct queries of the batch and each
row's query index ``r(i)``:

    loss = sum_i [ -z_{r(i), u(i)} + L_{r(i)} ],    L_q = logsumexp_u (z_qu + log m_u),

with a ``[Q, U]`` score matrix (``Q <= 943`` users on MovieLens 100K against ``B = 8,192``
rows): the same loss and gradients, a ninth of the matrix products at batch 8,192.
"""

from __future__ import annotations

import tensorflow as tf

#: Lower clip of sampling probabilities, as TFRS's ``SamplingProbablityCorrection``.
MIN_PROBABILITY = 1e-6


def distinct_candidates(items: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """The distinct candidates of a batch.

    Args:
      items: ``[B]`` integer candidate ids of the batch's rows.

    Returns:
      ``unique [U]`` (ids in order of first occurrence), ``positive [B]`` (row ``i``'s position
      in ``unique``) and ``multiplicity [U]`` (float32 count of each id in ``items``).
    """
    unique, positive, counts = tf.unique_with_counts(items, out_idx=tf.int32)
    return unique, positive, tf.cast(counts, tf.float32)


def log_q_correction(probability: tf.Tensor) -> tf.Tensor:
    """``log p`` with ``p`` clipped to ``[1e-6, 1]`` (subtract it from the scores)."""
    return tf.math.log(tf.clip_by_value(probability, MIN_PROBABILITY, 1.0))


def in_batch_softmax(
    query: tf.Tensor,
    candidates: tf.Tensor,
    positive: tf.Tensor,
    multiplicity: tf.Tensor,
    log_q: tf.Tensor | None = None,
    rows: tf.Tensor | None = None,
) -> tf.Tensor:
    """In-batch softmax (``tfrs.tasks.Retrieval``) computed over the distinct candidates.

    Args:
      query: ``[Q, d]`` query embeddings (``Q = B`` without ``rows``).
      candidates: ``[U, d]`` embeddings of the batch's distinct candidates.
      positive: ``[B]`` int32 index in ``candidates`` of each row's own candidate.
      multiplicity: ``[U]`` number of rows of the batch whose candidate is ``u``.
      log_q: ``[U]`` log sampling probability of each candidate (logQ correction), or None.
      rows: ``[B]`` int32 index in ``query`` of each row's query (distinct queries), or None
        when row ``i``'s query is ``query[i]``.

    Returns:
      The scalar loss ``sum_i [-z_{r(i),u(i)} + logsumexp_u (z_{r(i)u} + log m_u)]`` with
      ``z = q c^T - log q`` (see the module docstring), equal to TFRS's up to round-off.
    """
    scores = tf.linalg.matmul(query, candidates, transpose_b=True)  # [Q, U]
    if log_q is not None:
        scores = scores - log_q[None, :]
    log_m = tf.math.log(tf.cast(multiplicity, scores.dtype))
    normaliser = tf.reduce_logsumexp(scores + log_m[None, :], axis=1)  # [Q]
    positives = _row_scores(query, candidates, positive, rows)  # [B]
    if log_q is not None:
        positives = positives - tf.gather(log_q, positive)
    return _sum_over_rows(normaliser, rows) - tf.reduce_sum(positives)


def full_softmax(
    query: tf.Tensor, catalogue: tf.Tensor, positive: tf.Tensor, rows: tf.Tensor | None = None
) -> tf.Tensor:
    """Softmax cross-entropy over the whole catalogue.

    Args:
      query: ``[Q, d]`` query embeddings (``Q = B`` without ``rows``).
      catalogue: ``[N, d]`` embeddings of every catalogue item.
      positive: ``[B]`` int32 catalogue index of each row's item.
      rows: ``[B]`` int32 index in ``query`` of each row's query, or None (row ``i``: ``query[i]``).

    Returns:
      The scalar loss ``sum_i [-s_{r(i),item(i)} + logsumexp_n s_{r(i)n}]``.
    """
    scores = tf.linalg.matmul(query, catalogue, transpose_b=True)  # [Q, N]
    normaliser = tf.reduce_logsumexp(scores, axis=1)  # [Q]
    positives = _row_scores(query, catalogue, positive, rows)
    return _sum_over_rows(normaliser, rows) - tf.reduce_sum(positives)


def _row_scores(
    query: tf.Tensor, candidates: tf.Tensor, positive: tf.Tensor, rows: tf.Tensor | None
) -> tf.Tensor:
    """``[B]`` score of each row's query with its own candidate."""
    row_query = query if rows is None else tf.gather(query, rows)
    return tf.reduce_sum(row_query * tf.gather(candidates, positive), axis=1)


def _sum_over_rows(per_query: tf.Tensor, rows: tf.Tensor | None) -> tf.Tensor:
    """``sum_i per_query[r(i)]`` (each distinct query counted once per row it serves)."""
    return tf.reduce_sum(per_query if rows is None else tf.gather(per_query, rows))


def distinct_queries(
    features: dict[str, tf.Tensor],
) -> tuple[dict[str, tf.Tensor], tf.Tensor | None]:
    """The batch's distinct query features when the query is the user alone.

    Args:
      features: the batch's features; ``item`` and ``rating`` are not query features.

    Returns:
      ``({"user": [Q]}, rows [B])`` (distinct users, each row's position among them) when
      ``user`` is the only query feature; otherwise ``(features, None)``.
    """
    if set(features) - {"item", "rating"} != {"user"}:
        return features, None
    users, rows = tf.unique(features["user"], out_idx=tf.int32)
    return {"user": users}, rows


def squared_norms(tables: list[tf.Variable]) -> tf.Tensor:
    """``sum_t ||E_t||_F^2`` over embedding tables ``E_t`` (the L2 penalty before its weight)."""
    return tf.add_n([tf.reduce_sum(tf.square(t)) for t in tables]) if tables else tf.constant(0.0)
