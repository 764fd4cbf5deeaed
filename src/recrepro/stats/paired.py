"""Paired per-user comparisons of two models: test, effect size, bootstrap CIs, correction,
and a direction-aware decision.

Users are the units. ``diff = a - b`` (model minus other) in the metric's units, so for
lower-is-better metrics (rmse, mae) a negative difference favours ``a``.

Tests (all two-sided; the decision then reads the direction from the sign of the test's own
effect, so "better"/"worse" always agrees with the quantity tested):

- ``signflip``: paired randomization test of the mean difference (each user's difference keeps
  or flips its sign with probability 1/2). Exact enumeration when ``2**n <= permutations``, else
  Monte Carlo with ``p = min(1, 2 * min(P>=, P<=))``, ``P = (1 + count) / (1 + permutations)``
  (scipy's ``permutation_test`` convention). Effect: Cohen's d_z. Test, table (means) and the
  bootstrap CI all speak of the mean difference.
- ``wilcoxon``: signed-rank test, scipy ``zero_method="zsplit"`` (zero differences are ranked
  and their ranks split evenly between R+ and R-, Demšar 2006). ``method="auto"``: exact for
  <= 50 users without ties or zeros, else the normal approximation *without* continuity
  correction (scipy's default ``correction=False``). Effect: matched-pairs rank-biserial
  ``(R+ - R-) / (R+ + R-)`` over *all* users including zero differences, i.e. Kerby's (2014)
  formula with the zsplit ranks; because zeros enter the denominator it is smaller in magnitude
  than Kerby's version that drops them. It is about ranks, not means: it can disagree in sign
  with the mean difference, and then the decision follows the rank effect.
- ``ttest``: paired t-test, effect Cohen's d_z.

Rating errors are tested on the quantity the tables show, pooled over ratings: for ``rmse`` the
per-user unit is the user's sum of squared errors, for ``mae`` the sum of absolute errors, each
divided by the mean number of test ratings per user, so the mean unit difference is the
difference of pooled MSE (resp. MAE) over all the users' test ratings (see :func:`units`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from recrepro.errors import DataError
from recrepro.evaluation import catalogue
from recrepro.rng import derive_seed
from recrepro.stats.config import StatsConfig, higher_is_better

WILCOXON_ZERO_METHOD = "zsplit"
#: Effect-size name reported for each test.
EFFECT_NAMES = {"wilcoxon": "rank_biserial", "ttest": "cohens_dz", "signflip": "cohens_dz"}
PAIRWISE_COLUMNS = (
    "dataset", "protocol", "setting", "metric", "higher_is_better", "comparison", "model",
    "other", "other_setting", "test", "statistic", "p_raw", "p_adj", "correction",
    "family_size", "effect", "effect_name", "effect_ci_low", "effect_ci_high", "diff_mean",
    "ci_low", "ci_high", "sd_diff", "n_users", "n_seeds", "significant", "decision", "note",
)
#: Bound on the resampled values held in memory at once by the bootstrap and sign-flip test.
_CELLS = 4_000_000
#: Decisions of a row (``model`` against ``other``).
BETTER, WORSE, NO_DIFFERENCE, NOT_TESTED = "better", "worse", "no difference", "n/a"


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
    """Matched-pairs rank-biserial correlation with zsplit ranks, in [-1, 1] (see module doc);
    positive means ``a`` ranks above ``b`` (better for higher-is-better metrics)."""
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


def signflip_pvalue(diff: np.ndarray, permutations: int, seed: int) -> float:
    """Two-sided sign-flip randomization p-value of the mean of ``diff`` (see module doc)."""
    diff = np.asarray(diff, dtype=np.float64)
    return float(signflip_pvalues(diff[:, None], permutations, seed)[0])


def signflip_pvalues(diffs: np.ndarray, permutations: int, seed: int) -> np.ndarray:
    """:func:`signflip_pvalue` of each column of the users x pairs matrix ``diffs``; a column
    holds its pair's users' differences and zeros for other users (a zero keeps its value under
    a sign flip, so it does not change the null distribution of the pair's sum). All columns
    share the same random signs, so a pair's p-value depends only on its own column."""
    diffs = np.asarray(diffs, dtype=np.float64)
    n = diffs.shape[0]
    observed = diffs.sum(axis=0)
    tol = 1e-12 * np.maximum(np.abs(observed), np.abs(diffs).max(axis=0, initial=0.0))
    if n < 63 and 2**n <= permutations:  # exact: every sign vector once
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))
        null = signs @ diffs
        total, add = len(null), 0
        greater = np.sum(null >= observed - tol, axis=0)
        less = np.sum(null <= observed + tol, axis=0)
    else:
        rng = np.random.default_rng(seed)
        greater = np.zeros(diffs.shape[1])
        less = np.zeros(diffs.shape[1])
        rows = max(1, _CELLS // max(n, 1))
        for start in range(0, permutations, rows):
            size = min(rows, permutations - start)
            null = (rng.integers(0, 2, (size, n), dtype=np.int8) * 2.0 - 1.0) @ diffs
            greater += np.sum(null >= observed - tol, axis=0)
            less += np.sum(null <= observed + tol, axis=0)
        total, add = permutations, 1
    p_greater, p_less = (greater + add) / (total + add), (less + add) / (total + add)
    return np.minimum(1.0, 2 * np.minimum(p_greater, p_less))


def paired_test(
    a: np.ndarray, b: np.ndarray, test: str = "wilcoxon", *, permutations: int = 10_000,
    seed: int = 0,
) -> PairedResult:
    """Two-sided paired test of ``a`` against ``b`` (``seed``: sign-flip resampling only).

    Identical inputs give p = 1 and effect 0; for the t-test, differences that are all equal
    (up to rounding) but not zero give an infinite statistic and effect, and p = 0.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    diff = a - b
    if test not in EFFECT_NAMES:
        raise ValueError(f"unknown paired test {test!r}; use one of {', '.join(EFFECT_NAMES)}")
    if test == "wilcoxon":
        r_plus, r_minus = signed_rank_sums(diff)
        if not diff.any():
            return PairedResult(min(r_plus, r_minus), 1.0, 0.0, EFFECT_NAMES[test])
        result = stats.wilcoxon(a, b, zero_method=WILCOXON_ZERO_METHOD)
        return PairedResult(
            float(result.statistic), float(result.pvalue), rank_biserial(diff), EFFECT_NAMES[test]
        )
    if not diff.any():
        return PairedResult(0.0, 1.0, 0.0, EFFECT_NAMES[test])
    if test == "signflip":
        p = signflip_pvalue(diff, permutations, seed)
        return PairedResult(float(diff.mean()), p, cohens_dz(diff), EFFECT_NAMES[test])
    if np.allclose(diff, diff.mean(), rtol=1e-9, atol=0):  # no spread: scipy is unreliable
        infinite = math.copysign(math.inf, diff.mean())
        return PairedResult(infinite, 0.0, infinite, EFFECT_NAMES[test])
    result = stats.ttest_rel(a, b)
    return PairedResult(
        float(result.statistic), float(result.pvalue), cohens_dz(diff), EFFECT_NAMES[test]
    )


# --------------------------------------------------------------------------- pooled units


def units(metric: str, values: np.ndarray, n_ratings: np.ndarray | None) -> np.ndarray:
    """Per-user units whose sum over users is the pooled numerator of the metric's aggregate:
    the value itself (mean over users), ``n * mae`` (pooled MAE) or ``n * rmse**2`` (pooled
    MSE). ``n_ratings`` is needed for pooled metrics."""
    spec = catalogue.parse(metric).spec
    how = spec.aggregate if spec is not None else "mean"
    values = np.asarray(values, dtype=np.float64)
    if how == "mean":
        return values
    if n_ratings is None:
        raise DataError(f"{metric} is pooled over ratings but the per-user files lack n_ratings; "
                        "re-run the runs")
    return np.asarray(n_ratings, np.float64) * (values**2 if how == "pooled_rms" else values)


def pooled(metric: str, unit_sum: np.ndarray, weight_sum: np.ndarray) -> np.ndarray:
    """Aggregate value from summed units and summed weights (inverse of :func:`units`)."""
    spec = catalogue.parse(metric).spec
    ratio = np.asarray(unit_sum, np.float64) / np.asarray(weight_sum, np.float64)
    return np.sqrt(ratio) if spec is not None and spec.aggregate == "pooled_rms" else ratio


# --------------------------------------------------------------------------- bootstrap


def _resample_indices(n: int, n_resamples: int, seed: int):
    """Chunks of a ``(n_resamples, n)`` matrix of user indices drawn from ``default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    rows = max(1, _CELLS // max(n, 1))
    for start in range(0, n_resamples, rows):
        yield rng.integers(0, n, (min(rows, n_resamples - start), n))


def _percentile(values: np.ndarray, level: float) -> tuple[float, float]:
    low, high = np.percentile(values, [50 - 50 * level, 50 + 50 * level])
    return float(low), float(high)


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
    means = np.concatenate(
        [diff[idx].mean(axis=1) for idx in _resample_indices(diff.size, n_resamples, seed)]
    )
    return _percentile(means, level)


def pair_bootstrap(
    metric: str, ua: np.ndarray, ub: np.ndarray, weight: np.ndarray, test: str,
    n_resamples: int, seed: int, level: float = 0.95,
) -> tuple[float, float, float, float]:
    """Percentile CIs (same resamples of users) of the displayed difference
    ``pooled(a) - pooled(b)`` and of the test's effect size: ``(ci_low, ci_high, effect_low,
    effect_high)``; NaN if ``n_resamples`` is 0."""
    if n_resamples == 0:
        return (math.nan,) * 4
    diff_units = (ua - ub) / weight.mean()
    if not diff_units.any():
        return 0.0, 0.0, 0.0, 0.0
    diffs, effects = [], []
    plain = bool(np.all(weight == 1.0))  # mean over users: the displayed difference is mean(d)
    for idx in _resample_indices(ua.size, n_resamples, seed):
        d = diff_units[idx]
        if plain:
            diffs.append(d.mean(axis=1))
        else:
            w = weight[idx].sum(axis=1)
            diffs.append(
                pooled(metric, ua[idx].sum(axis=1), w) - pooled(metric, ub[idx].sum(axis=1), w)
            )
        if EFFECT_NAMES[test] == "rank_biserial":
            effects.append(_rank_biserial_rows(d))
        else:
            sd = d.std(axis=1, ddof=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                effects.append(np.where(sd > 0, d.mean(axis=1) / sd, np.sign(d.mean(axis=1)) * np.inf))
    return (*_percentile(np.concatenate(diffs), level), *_percentile(np.concatenate(effects), level))


def _rank_biserial_rows(d: np.ndarray) -> np.ndarray:
    """:func:`rank_biserial` of each row of ``d``."""
    ranks = stats.rankdata(np.abs(d), axis=1)
    n = d.shape[1]
    signed = (ranks * np.sign(d)).sum(axis=1)
    return signed / (n * (n + 1) / 2)


# --------------------------------------------------------------------------- families


def adjust_pvalues(p_values: Sequence[float], method: str, alpha: float = 0.05) -> np.ndarray:
    """Family-wise adjusted p-values (statsmodels ``multipletests``: holm, fdr_bh, ...); NaN
    entries (pairs not tested) stay NaN and are not counted in the family."""
    p_values = np.asarray(p_values, dtype=np.float64)
    out = np.full(p_values.shape, np.nan)
    ok = np.isfinite(p_values)
    if ok.any():
        out[ok] = multipletests(p_values[ok], alpha=alpha, method=method)[1]
    return out


def decision(significant: bool, effect: float, metric: str) -> str:
    """``better``/``worse`` (model vs other) when significant, by the sign of the test's effect
    and the metric's direction; ``no difference`` otherwise; ``n/a`` without a direction."""
    direction = higher_is_better(metric)
    if direction is None or math.isnan(effect):
        return NOT_TESTED
    if not significant or effect == 0:
        return NO_DIFFERENCE
    return BETTER if (effect > 0) == direction else WORSE


@dataclass(frozen=True)
class Side:
    """One side of a comparison: per-user units, weights (n_ratings or 1) and seeds."""

    units: pd.Series
    weight: pd.Series
    seeds: frozenset[int]
    setting: str


def compare_pairs(
    pairs: Sequence[tuple[str, Side, str, Side]], comparison: str, group: Mapping[str, str],
    config: StatsConfig, with_ci: Callable[[str, str], bool] | None = None,
) -> list[dict[str, object]]:
    """Test each ``(model, side, other, other_side)`` and correct over the pairs as one family.

    A pair whose seed sets differ is not tested (``decision`` n/a, ``note`` says why). Each pair
    uses the users both sides have. The sign-flip test draws one set of signs per group over
    the union of its users, so a pair gets the same p-value in every family of the group; the
    bootstrap seed derives from the group and the pair. ``with_ci(model, other)`` says which
    pairs get bootstrap CIs (default: all; they cost most of the time).
    """
    metric = group["metric"]
    rows, tested = [], []
    users = sorted(set().union(*(side.units.index for pair in pairs for side in pair[1::2])))
    position = {user: i for i, user in enumerate(users)}
    for model, side, other, other_side in pairs:
        row = {
            **group, "setting": side.setting, "higher_is_better": higher_is_better(metric),
            "comparison": comparison, "model": model, "other": other,
            "other_setting": other_side.setting, "test": config.test,
            "correction": config.correction, "effect_name": EFFECT_NAMES[config.test],
            "n_seeds": len(side.seeds), "note": "",
        }
        rows.append(row)
        if side.seeds != other_side.seeds:
            row.update(n_users=0, note=(
                f"not tested: seed sets differ ({_seeds(side.seeds)} vs {_seeds(other_side.seeds)})"
            ))
            continue
        frame = pd.concat(
            [side.units, other_side.units, side.weight], axis=1, keys=["a", "b", "w"]
        ).dropna()
        if len(frame) < 2:
            raise DataError(
                f"{model} and {other} share {len(frame)} user(s) with {metric} in "
                f"{'/'.join(group.values())}; their runs must use the same test split"
            )
        ua, ub, w = (frame[c].to_numpy(np.float64) for c in ("a", "b", "w"))
        da, db = ua / w.mean(), ub / w.mean()
        tested.append((row, frame.index, da - db))
        if config.test != "signflip":
            result = paired_test(da, db, config.test)
            row.update(statistic=result.statistic, p_raw=result.p_value, effect=result.effect)
        else:
            row.update(statistic=float((da - db).mean()), effect=cohens_dz(da - db))
        ci = (math.nan,) * 4
        if with_ci is None or with_ci(model, other):
            key = (*group.values(), side.setting, model, other_side.setting, other)
            ci = pair_bootstrap(
                metric, ua, ub, w, config.test, config.bootstrap,
                derive_seed("stats.bootstrap", *key),
            )
        row.update(
            diff_mean=float(pooled(metric, ua.sum(), w.sum()) - pooled(metric, ub.sum(), w.sum())),
            ci_low=ci[0], ci_high=ci[1], effect_ci_low=ci[2], effect_ci_high=ci[3],
            sd_diff=float(np.std(da - db, ddof=1)), n_users=len(frame),
        )
    if config.test == "signflip" and tested:
        diffs = np.zeros((len(users), len(tested)))
        for j, (_, index, diff) in enumerate(tested):
            diffs[[position[u] for u in index], j] = diff
        seed = derive_seed("stats.signflip", *group.values())
        for (row, _, diff), p in zip(
            tested, signflip_pvalues(diffs, config.permutations, seed), strict=True
        ):
            row["p_raw"] = 1.0 if not diff.any() else float(p)
    adjusted = adjust_pvalues([row.get("p_raw", math.nan) for row in rows], config.correction,
                              config.alpha)
    family_size = int(np.isfinite(adjusted).sum())
    for row, p_adj in zip(rows, adjusted, strict=True):
        row["p_adj"] = float(p_adj)
        row["family_size"] = family_size
        row["significant"] = bool(p_adj < config.alpha)
        row["decision"] = (
            NOT_TESTED if not math.isfinite(p_adj)
            else decision(row["significant"], row["effect"], metric)
        )
    return rows


def _seeds(seeds: frozenset[int]) -> str:
    return "{" + ", ".join(map(str, sorted(seeds))) + "}"
