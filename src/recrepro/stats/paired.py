"""Paired per-user comparisons of two models: test, effect size, bootstrap CI, correction.

Users are the units. ``diff = a - b`` (model minus other), in the metric's own units, so for
lower-is-better metrics (rmse, mae) a negative difference favours ``a``.

Wilcoxon signed-rank uses ``zero_method="zsplit"``: users on which both models score the same
(common with top-K metrics, e.g. both 0) are ranked and their ranks split evenly between the
positive and negative sums, as Demšar (2006) recommends. Ties among them therefore dilute the
effect instead of being dropped, and the matched-pairs rank-biserial correlation
``(R+ - R-) / (R+ + R-)`` describes all users compared. ``method`` is scipy's ``"auto"``: exact
for <= 50 users without ties or zeros, else a normal approximation with continuity correction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from recrepro.errors import DataError
from recrepro.rng import derive_seed
from recrepro.stats.config import StatsConfig, higher_is_better

WILCOXON_ZERO_METHOD = "zsplit"
#: Effect-size name reported for each test.
EFFECT_NAMES = {"wilcoxon": "rank_biserial", "ttest": "cohens_dz"}
PAIRWISE_COLUMNS = (
    "dataset", "protocol", "setting", "metric", "higher_is_better", "comparison", "model",
    "other", "test", "statistic", "p_raw", "p_adj", "correction", "effect", "effect_name",
    "diff_mean", "ci_low", "ci_high", "n_users", "significant",
)
#: Bound on the resampled values held in memory at once by :func:`bootstrap_ci`.
_BOOTSTRAP_CELLS = 4_000_000


@dataclass(frozen=True)
class PairedResult:
    """Outcome of one paired test of ``a`` against ``b``."""

    statistic: float
    p_value: float
    effect: float
    effect_name: str


def signed_rank_sums(diff: np.ndarray) -> tuple[float, float]:
    """R+ and R- of the differences' absolute ranks, zero differences split evenly."""
    diff = np.asarray(diff, dtype=np.float64)
    ranks = stats.rankdata(np.abs(diff))
    zero_half = ranks[diff == 0].sum() / 2
    return float(ranks[diff > 0].sum() + zero_half), float(ranks[diff < 0].sum() + zero_half)


def rank_biserial(diff: np.ndarray) -> float:
    """Matched-pairs rank-biserial correlation (Kerby 2014), in [-1, 1]; positive favours ``a``
    for higher-is-better metrics."""
    r_plus, r_minus = signed_rank_sums(diff)
    total = r_plus + r_minus
    return 0.0 if total == 0 else (r_plus - r_minus) / total


def cohens_dz(diff: np.ndarray) -> float:
    """Paired Cohen's d: mean difference over the standard deviation (ddof=1) of differences."""
    diff = np.asarray(diff, dtype=np.float64)
    mean = float(diff.mean())
    if mean == 0:
        return 0.0
    sd = float(diff.std(ddof=1)) if diff.size > 1 else 0.0
    return math.copysign(math.inf, mean) if sd == 0 else mean / sd


def paired_test(a: np.ndarray, b: np.ndarray, test: str = "wilcoxon") -> PairedResult:
    """Two-sided paired test of ``a`` against ``b``.

    Identical inputs give p = 1 and effect 0; for the t-test, differences that are all equal
    (up to rounding) but not zero give an infinite statistic and effect, and p = 0.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    diff = a - b
    if test == "wilcoxon":
        r_plus, r_minus = signed_rank_sums(diff)
        if not diff.any():
            return PairedResult(min(r_plus, r_minus), 1.0, 0.0, EFFECT_NAMES[test])
        result = stats.wilcoxon(a, b, zero_method=WILCOXON_ZERO_METHOD)
        effect = rank_biserial(diff)
    elif test == "ttest":
        if not diff.any():
            return PairedResult(0.0, 1.0, 0.0, EFFECT_NAMES[test])
        if np.allclose(diff, diff.mean(), rtol=1e-9, atol=0):  # no spread: scipy is unreliable
            infinite = math.copysign(math.inf, diff.mean())
            return PairedResult(infinite, 0.0, infinite, EFFECT_NAMES[test])
        result = stats.ttest_rel(a, b)
        effect = cohens_dz(diff)
    else:
        raise ValueError(f"unknown paired test {test!r}; use one of {', '.join(EFFECT_NAMES)}")
    return PairedResult(float(result.statistic), float(result.pvalue), effect, EFFECT_NAMES[test])


def bootstrap_ci(
    diff: np.ndarray, n_resamples: int, seed: int, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean difference, resampling users with replacement.

    Deterministic for a given ``seed``; NaN bounds if ``n_resamples`` is 0.
    """
    diff = np.asarray(diff, dtype=np.float64)
    if n_resamples == 0 or diff.size == 0:
        return math.nan, math.nan
    if np.all(diff == diff[0]):
        return float(diff[0]), float(diff[0])
    result = stats.bootstrap(
        (diff,), np.mean, n_resamples=n_resamples, batch=max(1, _BOOTSTRAP_CELLS // diff.size),
        vectorized=True, confidence_level=level, method="percentile",
        rng=np.random.default_rng(seed),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def adjust_pvalues(p_values: Sequence[float], method: str, alpha: float = 0.05) -> np.ndarray:
    """Family-wise adjusted p-values (statsmodels ``multipletests``: holm, fdr_bh, ...)."""
    p_values = np.asarray(p_values, dtype=np.float64)
    if p_values.size == 0:
        return p_values
    return multipletests(p_values, alpha=alpha, method=method)[1]


def compare_family(
    matrix: pd.DataFrame, other: str, comparison: str, group: Mapping[str, str],
    config: StatsConfig,
) -> list[dict[str, object]]:
    """Every model (column of the users x models ``matrix``) against ``other``, as one family.

    ``group`` holds dataset, protocol, setting and metric. Each pair uses the users both models
    have; p-values are adjusted over the family. The bootstrap seed is derived from the group and
    the pair, so the same pair gets the same CI in every family it appears in.
    """
    rows: list[dict[str, object]] = []
    for model in matrix.columns:
        if model == other:
            continue
        pair = matrix[[model, other]].dropna()
        if len(pair) < 2:
            raise DataError(
                f"{model} and {other} share {len(pair)} user(s) with {group['metric']} in "
                f"{'/'.join(group.values())}; their runs must use the same test split"
            )
        a, b = pair[model].to_numpy(), pair[other].to_numpy()
        result = paired_test(a, b, config.test)
        seed = derive_seed("stats.bootstrap", *group.values(), model, other)
        ci_low, ci_high = bootstrap_ci(a - b, config.bootstrap, seed)
        rows.append({
            **group, "higher_is_better": higher_is_better(group["metric"]),
            "comparison": comparison, "model": model, "other": other, "test": config.test,
            "statistic": result.statistic, "p_raw": result.p_value,
            "correction": config.correction, "effect": result.effect,
            "effect_name": result.effect_name, "diff_mean": float((a - b).mean()),
            "ci_low": ci_low, "ci_high": ci_high, "n_users": len(pair),
        })
    adjusted = adjust_pvalues([row["p_raw"] for row in rows], config.correction, config.alpha)
    for row, p_adj in zip(rows, adjusted, strict=True):
        row["p_adj"] = float(p_adj)
        row["significant"] = bool(p_adj < config.alpha)
    return rows
