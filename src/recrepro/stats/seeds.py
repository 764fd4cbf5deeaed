"""Across-seed summaries of the aggregate metrics (one value per run, from metrics.json)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from recrepro.core.layout import GROUP_KEY

SUMMARY_KEYS = (*GROUP_KEY, "metric")
SEED_SUMMARY_COLUMNS = (*SUMMARY_KEYS, "mean", "std", "ci_low", "ci_high", "n_seeds")


def t_interval(mean: np.ndarray, std: np.ndarray, n: np.ndarray, level: float = 0.95):
    """Student-t confidence interval of a mean from ``n`` values (NaN where ``n < 2``)."""
    n = np.asarray(n, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = stats.t.ppf(0.5 + level / 2, n - 1) * np.asarray(std) / np.sqrt(n)
    half = np.where(n >= 2, half, np.nan)
    return mean - half, mean + half


def seed_summary(metrics: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Mean, std (ddof=1), ``level`` t-based CI and number of seeds per run group and metric.

    ``metrics`` is the tidy frame of :func:`recrepro.stats.collect.load_metrics`.
    """
    grouped = metrics.groupby(list(SUMMARY_KEYS), sort=True)["value"]
    table = grouped.agg(mean="mean", std=lambda v: v.std(ddof=1), n_seeds="count").reset_index()
    n = table["n_seeds"].to_numpy()
    table["ci_low"], table["ci_high"] = t_interval(
        table["mean"].to_numpy(), table["std"].to_numpy(), n, level
    )
    return table.reindex(columns=list(SEED_SUMMARY_COLUMNS))
