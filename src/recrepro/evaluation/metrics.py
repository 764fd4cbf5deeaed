"""Vectorised top-K ranking, accuracy and beyond-accuracy metrics (pure NumPy/SciPy).

Nothing here knows about models: functions take score matrices, top-K item lists and sparse
relevance matrices, and return per-user (or per-interaction) arrays, so the evaluator can
aggregate them and the statistics can pair them across models.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

RANKING_METRICS = ("hit", "precision", "recall", "ndcg", "map", "mrr")

#: Bound on the temporary ``[interactions, items]`` comparison array of ``factorized_top_k``.
_CHUNK_ELEMENTS = 1 << 22


def _check_ks(ks: Sequence[int], max_k: int | None = None) -> list[int]:
    ks = [int(k) for k in ks]
    if not ks or min(ks) < 1:
        raise ValueError(f"cut-offs must be a non-empty list of positive integers, got {ks}")
    if max_k is not None and max(ks) > max_k:
        raise ValueError(f"cut-off {max(ks)} exceeds the {max_k} ranked items available")
    return ks


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest scores of each row, best first (``[n_rows, min(k, n_items)]``).

    Equal scores are ordered by item index (lower first), also at the cut-off boundary, so the
    result is deterministic. Masked items (``-inf``) come last. Scores must not contain NaN.
    Cost is linear in the matrix size plus ``O(k log k)`` per row: ``np.partition`` finds the
    k-th largest value of each row, the items above it (and the lowest-indexed items equal to
    it) are selected, and only those ``k`` are sorted.
    """
    scores = np.asarray(scores)
    if scores.ndim != 2:
        raise ValueError(f"scores must be a 2-D array, got shape {scores.shape}")
    n_rows, n_items = scores.shape
    if k < 1:
        raise ValueError(f"k must be positive, got {k}")
    k = min(int(k), n_items)
    # k-th largest value per row: element n_items - k of the ascending partition.
    kth = np.partition(scores, n_items - k, axis=1)[:, n_items - k][:, None]
    above = scores > kth
    tied = scores == kth
    # Of the items tied with the k-th value, keep the lowest-indexed ones that still fit. Only
    # rows with more ties than room need the (row-wise cumulative) count, in a compact dtype.
    room = k - above.sum(axis=1, keepdims=True)
    crowded = np.flatnonzero(tied.sum(axis=1, keepdims=True) > room)
    if len(crowded):
        counts = np.cumsum(tied[crowded], axis=1, dtype=np.int32)
        tied[crowded] &= counts <= room[crowded]
    selected = above | tied
    cand = np.nonzero(selected)[1].reshape(n_rows, k)  # ascending item index within each row
    cand_scores = np.take_along_axis(scores, cand, axis=1)
    order = np.argsort(-cand_scores, axis=1, kind="stable")  # stable: ties keep index order
    return np.take_along_axis(cand, order, axis=1)


def _hit_matrix(top: np.ndarray, relevant: sp.spmatrix) -> tuple[np.ndarray, np.ndarray]:
    """Boolean ``[n_rows, K]`` matrix ``relevant[row, top[row, j]]`` and ``|rel|`` per row."""
    n_rows, n_items = relevant.shape
    if top.shape[0] != n_rows:
        raise ValueError(f"top has {top.shape[0]} rows but relevant has {n_rows}")
    rel_rows, rel_cols = relevant.nonzero()
    keys = np.unique(rel_rows.astype(np.int64) * n_items + rel_cols)  # sorted, deduplicated
    n_relevant = np.bincount(keys // n_items, minlength=n_rows)
    query = np.arange(n_rows, dtype=np.int64)[:, None] * n_items + top
    if len(keys) == 0:
        return np.zeros(top.shape, bool), n_relevant
    pos = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    return keys[pos] == query, n_relevant


def _safe_divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` with 0 where ``den`` is 0."""
    num = np.asarray(num, np.float64)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def ranking_metrics(
    top: np.ndarray, relevant: sp.spmatrix, ks: Sequence[int]
) -> dict[str, np.ndarray]:
    """Per-user top-K metrics, keyed ``f"{metric}@{k}"`` for each metric of ``RANKING_METRICS``.

    ``top[u]`` lists item indices best first (at least ``max(ks)`` of them); ``relevant`` is a
    binary users x items matrix aligned with the rows of ``top``. With ``rel_r`` = 1 if the item
    at rank ``r`` (1-based) is relevant, ``hits@k = sum_{r<=k} rel_r`` and ``R = |relevant(u)|``:

    * ``hit@k = 1 if hits@k > 0 else 0``
    * ``precision@k = hits@k / k``
    * ``recall@k = hits@k / R``
    * ``ndcg@k = DCG@k / IDCG@k``, ``DCG@k = sum_{r<=k} rel_r / log2(r + 1)``,
      ``IDCG@k = sum_{r<=min(R, k)} 1 / log2(r + 1)`` (binary gain)
    * ``map@k = sum_{r<=k} rel_r * precision@r / min(R, k)`` (average precision at k)
    * ``mrr@k = 1 / r_1`` for the rank ``r_1`` of the first relevant item if ``r_1 <= k``, else 0

    Users with ``R = 0`` get 0 for every metric (the evaluator excludes them anyway).
    These match ranx 0.3.21 (``hit_rate``, ``precision``, ``recall``, ``ndcg``, ``map``, ``mrr``)
    except ``map@k``: ranx divides by ``R`` instead of ``min(R, k)``, so the two agree whenever
    ``R <= k`` and ours is ``R / k`` times ranx's otherwise. ``min(R, k)`` makes a perfect top-k
    list score 1 (the RecBole/TorchMetrics convention).
    """
    ks = _check_ks(ks, top.shape[1])
    max_k = max(ks)
    hits, n_rel = _hit_matrix(np.asarray(top)[:, :max_k], relevant)
    ranks = np.arange(1, max_k + 1, dtype=np.float64)
    discounts = 1.0 / np.log2(ranks + 1.0)
    cum_hits = np.cumsum(hits, axis=1, dtype=np.float64)
    cum_dcg = np.cumsum(hits * discounts, axis=1)
    cum_ap = np.cumsum(hits * (cum_hits / ranks), axis=1)
    ideal = np.cumsum(discounts)
    first = np.where(hits.any(axis=1), hits.argmax(axis=1) + 1, max_k + 1)  # 1-based rank

    out: dict[str, dict[int, np.ndarray]] = {m: {} for m in RANKING_METRICS}
    for k in ks:
        n_hits = cum_hits[:, k - 1]
        n_ideal = np.minimum(n_rel, k)
        out["hit"][k] = (n_hits > 0).astype(np.float64)
        out["precision"][k] = n_hits / k
        out["recall"][k] = _safe_divide(n_hits, n_rel)
        idcg = np.where(n_ideal > 0, ideal[np.maximum(n_ideal, 1) - 1], 0.0)
        out["ndcg"][k] = _safe_divide(cum_dcg[:, k - 1], idcg)
        out["map"][k] = _safe_divide(cum_ap[:, k - 1], n_ideal)
        out["mrr"][k] = np.where(first <= k, 1.0 / first, 0.0)
    return {f"{m}@{k}": out[m][k] for m in RANKING_METRICS for k in ks}


def factorized_top_k(
    scores: np.ndarray, rows: np.ndarray, items: np.ndarray, ks: Sequence[int]
) -> dict[str, np.ndarray]:
    """TFRS ``FactorizedTopK``-style accuracy per interaction, keyed ``f"factorized_top@{k}"``.

    Interaction ``j`` is the true item ``items[j]`` of score row ``rows[j]`` (unmasked scores,
    so items seen in training compete too). It is a hit at ``k`` (value 1.0) when fewer than
    ``k`` items score strictly higher than the true item: ``#{i : s[i] > s[true]} < k``.
    """
    ks = _check_ks(ks)
    scores = np.asarray(scores)
    rows = np.asarray(rows, np.int64)
    items = np.asarray(items, np.int64)
    n_greater = np.empty(len(rows), np.int64)
    chunk = max(1, _CHUNK_ELEMENTS // max(scores.shape[1], 1))
    for start in range(0, len(rows), chunk):
        r, i = rows[start : start + chunk], items[start : start + chunk]
        true = scores[r, i][:, None]
        n_greater[start : start + chunk] = (scores[r] > true).sum(axis=1)
    return {f"factorized_top@{k}": (n_greater < k).astype(np.float64) for k in ks}


def rating_errors(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """``rmse = sqrt(mean((pred - true)^2))`` and ``mae = mean(|pred - true|)``."""
    pred = np.asarray(pred, np.float64).ravel()
    true = np.asarray(true, np.float64).ravel()
    if pred.shape != true.shape or pred.size == 0:
        raise ValueError(f"need equal, non-empty arrays, got {pred.size} and {true.size} values")
    err = pred - true
    return {"rmse": float(np.sqrt(np.mean(err**2))), "mae": float(np.mean(np.abs(err)))}


def coverage(top_items: np.ndarray, n_items: int) -> float:
    """Catalogue coverage: fraction of the ``n_items`` items that appear in any top-K list."""
    return len(np.unique(np.asarray(top_items))) / n_items


def mean_popularity(top_items: np.ndarray, item_counts: np.ndarray) -> float:
    """Mean training count of the recommended items, averaged within each list then over users."""
    counts = np.asarray(item_counts, np.float64)[np.asarray(top_items)]
    return float(counts.mean(axis=1).mean())


def novelty(top_items: np.ndarray, item_counts: np.ndarray, n_users: int) -> float:
    """Mean self-information ``-log2((count + 1) / (n_users + 1))`` of recommended items.

    Averaged within each list, then over users; unseen items get the largest value
    ``log2(n_users + 1)``.
    """
    counts = np.asarray(item_counts, np.float64)[np.asarray(top_items)]
    info = -np.log2((counts + 1.0) / (n_users + 1.0))
    return float(info.mean(axis=1).mean())
