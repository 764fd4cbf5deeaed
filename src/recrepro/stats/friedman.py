"""Across all models: Friedman test, average ranks, Nemenyi post-hoc and critical difference.

Users are the blocks (Demšar 2006 uses data sets): each user ranks the k models, rank 1 = best
(direction-aware: lowest for rmse/mae), ties get average ranks. The Nemenyi test compares average
ranks with the studentized range distribution at infinite degrees of freedom:
``CD = q_alpha / sqrt(2) * sqrt(k (k + 1) / (6 N))`` where ``q_alpha`` is its 1 - alpha quantile.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import stats

FRIEDMAN_COLUMNS = (
    "dataset", "protocol", "setting", "metric", "statistic", "p_value", "n_users", "n_models",
    "critical_difference",
)
RANK_COLUMNS = ("dataset", "protocol", "setting", "metric", "model", "avg_rank")
NEMENYI_COLUMNS = (
    "dataset", "protocol", "setting", "metric", "model", "other", "rank_diff", "p_value",
    "significant",
)


def friedman(matrix: np.ndarray) -> tuple[float, float]:
    """Friedman chi-square and p-value of a users x models matrix (p = 1 if every user ties)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    if np.all(matrix == matrix[:, :1]):
        return 0.0, 1.0
    result = stats.friedmanchisquare(*matrix.T)
    return float(result.statistic), float(result.pvalue)


def average_ranks(matrix: np.ndarray, higher_is_better: bool = True) -> np.ndarray:
    """Mean rank of each model (column) over users (rows); rank 1 = best, ties averaged."""
    matrix = np.asarray(matrix, dtype=np.float64)
    return stats.rankdata(-matrix if higher_is_better else matrix, axis=1).mean(axis=0)


@lru_cache(maxsize=64)
def nemenyi_q(k: int, alpha: float = 0.05) -> float:
    """Demšar's critical value q_alpha for k models: studentized range quantile / sqrt(2)."""
    return float(stats.studentized_range.ppf(1 - alpha, k, math.inf)) / math.sqrt(2)


def critical_difference(k: int, n: int, alpha: float = 0.05) -> float:
    """Nemenyi critical difference of average ranks for k models over n blocks (users)."""
    return nemenyi_q(k, alpha) * math.sqrt(k * (k + 1) / (6 * n))


def nemenyi_pvalues(avg_ranks: np.ndarray, n: int) -> np.ndarray:
    """Symmetric k x k matrix of Nemenyi p-values (diagonal 1).

    ``p < alpha`` exactly when ``|R_i - R_j| > critical_difference(k, n, alpha)``.
    """
    avg_ranks = np.asarray(avg_ranks, dtype=np.float64)
    k = avg_ranks.size
    q = np.abs(avg_ranks[:, None] - avg_ranks[None, :]) / math.sqrt(k * (k + 1) / (12 * n))
    upper = np.triu_indices(k, 1)
    p = np.ones((k, k))
    p[upper] = np.clip(stats.studentized_range.sf(q[upper], k, math.inf), 0.0, 1.0)
    p.T[upper] = p[upper]
    return p


def friedman_tables(
    matrix: pd.DataFrame, group: dict[str, str], higher_is_better: bool, alpha: float
) -> tuple[dict[str, object], list[dict[str, object]], list[dict[str, object]]]:
    """Friedman row, rank rows and Nemenyi rows of one group's users x models frame.

    Only users with a value for every model count; the caller ensures >= 3 models, >= 2 users.
    """
    complete = matrix.dropna()
    values = complete.to_numpy(dtype=np.float64)
    n, k = values.shape
    models = list(complete.columns)
    statistic, p_value = friedman(values)
    ranks = average_ranks(values, higher_is_better)
    p_pairs = nemenyi_pvalues(ranks, n)
    summary = {
        **group, "statistic": statistic, "p_value": p_value, "n_users": n, "n_models": k,
        "critical_difference": critical_difference(k, n, alpha),
    }
    rank_rows = [
        {**group, "model": m, "avg_rank": float(r)} for m, r in zip(models, ranks, strict=True)
    ]
    nemenyi_rows = [
        {
            **group, "model": models[i], "other": models[j],
            "rank_diff": float(ranks[i] - ranks[j]), "p_value": float(p_pairs[i, j]),
            "significant": bool(p_pairs[i, j] < alpha),
        }
        for i, j in zip(*np.triu_indices(k, 1), strict=True)
    ]
    return summary, rank_rows, nemenyi_rows
