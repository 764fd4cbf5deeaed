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
) -> tf.Tensor:
    """In-batch softmax (``tfrs.tasks.Retrieval``) computed over the distinct candidates.

    Args:
      query: ``[B, d]`` query embeddings.
      candidates: ``[U, d]`` embeddings of the batch's distinct candidates.
      positive: ``[B]`` int32 index in ``candidates`` of each row's own candidate.
      multiplicity: ``[U]`` number of rows of the batch whose candidate is ``u``.
      log_q: ``[U]`` log sampling probability of each candidate (logQ correction), or None.

    Returns:
      The scalar loss ``sum_i [-z_{i,u(i)} + logsumexp_u (z_iu + log m_u)]`` with
      ``z = q c^T - log q`` (see the module docstring), equal to TFRS's up to round-off.
    """
    scores = tf.linalg.matmul(query, candidates, transpose_b=True)  # [B, U]
    if log_q is not None:
        scores = scores - log_q[None, :]
    log_m = tf.math.log(tf.cast(multiplicity, scores.dtype))
    cross_entropy = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=positive, logits=scores + log_m[None, :]
    )  # [B]: -(z_pos + log m_pos) + logsumexp
    return tf.reduce_sum(cross_entropy) + tf.reduce_sum(tf.gather(log_m, positive))


def full_softmax(query: tf.Tensor, catalogue: tf.Tensor, positive: tf.Tensor) -> tf.Tensor:
    """Softmax cross-entropy over the whole catalogue.

    Args:
      query: ``[B, d]`` query embeddings.
      catalogue: ``[N, d]`` embeddings of every catalogue item.
      positive: ``[B]`` int32 catalogue index of each row's item.

    Returns:
      The scalar loss ``sum_i [-s_{i,item(i)} + logsumexp_n s_in]``.
    """
    scores = tf.linalg.matmul(query, catalogue, transpose_b=True)  # [B, N]
    return tf.reduce_sum(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=positive, logits=scores)
    )


def squared_norms(tables: list[tf.Variable]) -> tf.Tensor:
    """``sum_t ||E_t||_F^2`` over embedding tables ``E_t`` (the L2 penalty before its weight)."""
    return tf.add_n([tf.reduce_sum(tf.square(t)) for t in tables]) if tables else tf.constant(0.0)
