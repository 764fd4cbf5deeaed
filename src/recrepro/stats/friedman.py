"""Across all models: Friedman test, average ranks, and the critical-difference diagram's groups.

Users are the blocks (Demšar 2006 uses data sets): each user ranks the k models, rank 1 = best
(direction-aware: lowest for rmse/mae), ties get average ranks; scipy's Friedman statistic is
corrected for ties. The diagram's bars no longer come from a mean-rank (Nemenyi) post-hoc test,
which Benavoli, Corani & Mangili (JMLR 2016) argue against: they join models that the all-pairs
paired tests with Holm correction (``pairwise.csv``, comparison ``all_pairs``) do not separate,
so the diagram says exactly what the tests say.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

FRIEDMAN_COLUMNS = (
    "dataset", "protocol", "setting", "metric", "statistic", "p_value", "n_users", "n_models",
)
RANK_COLUMNS = ("dataset", "protocol", "setting", "metric", "model", "avg_rank")
CLIQUE_COLUMNS = ("dataset", "protocol", "setting", "metric", "clique", "model", "avg_rank")


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


def cliques(models: Sequence[str], ranks: Sequence[float], different: set[frozenset[str]]
            ) -> list[list[str]]:
    """Groups joined by a bar in the critical-difference diagram: maximal runs of models,
    sorted by average rank, in which no pair is significantly different (``different`` holds
    the significant pairs of the all-pairs family); singletons are left out."""
    order = [m for _, m in sorted(zip(ranks, models, strict=True))]
    groups: list[list[str]] = []
    last = -1
    for i in range(len(order)):
        j = i
        while j + 1 < len(order) and all(
            frozenset((order[j + 1], order[m])) not in different for m in range(i, j + 1)
        ):
            j += 1
        if j > i and j > last:
            groups.append(order[i : j + 1])
            last = j
    return groups


def friedman_tables(
    matrix: pd.DataFrame, group: dict[str, str], higher_is_better: bool,
    different: set[frozenset[str]],
) -> tuple[dict[str, object], list[dict[str, object]], list[dict[str, object]]]:
    """Friedman row, rank rows and clique rows of one group's users x models frame.

    Only users with a value for every model count; the caller ensures >= 3 models, >= 2 users.
    ``different``: the pairs the all-pairs tests found significantly different.
    """
    complete = matrix.dropna()
    values = complete.to_numpy(dtype=np.float64)
    n, k = values.shape
    models = list(complete.columns)
    statistic, p_value = friedman(values)
    ranks = average_ranks(values, higher_is_better)
    summary = {**group, "statistic": statistic, "p_value": p_value, "n_users": n, "n_models": k}
    rank_of = dict(zip(models, ranks, strict=True))
    rank_rows = [{**group, "model": m, "avg_rank": float(r)} for m, r in rank_of.items()]
    clique_rows = [
        {**group, "clique": i + 1, "model": m, "avg_rank": float(rank_of[m])}
        for i, members in enumerate(cliques(models, ranks, different))
        for m in members
    ]
    return summary, rank_rows, clique_rows
