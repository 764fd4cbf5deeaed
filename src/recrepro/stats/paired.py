"""Paired comparisons of two models: the primary test, secondary per-user tests, effect sizes
with bootstrap CIs, correction, and a direction-aware decision.

Each side holds a users x seeds matrix of per-user values; a pair is compared on the users both
have in every seed, turned into linearised units (:mod:`recrepro.stats.units`) whose mean is the
table's value, so ``diff_mean`` is the difference of the tables' values on those users.
``diff = a - b`` (model minus other): for lower-is-better metrics (rmse, mae) a negative
difference favours ``a``.

Tests (all two-sided; the decision reads the direction from the sign of the test's own effect):

- ``crossed`` (primary): users and seeds as crossed random effects of the difference matrix
  (:mod:`recrepro.stats.crossed`), Satterthwaite t-test and t-interval. Effect: Cohen's d_z of
  the seed-averaged per-user differences.
- ``signflip``: paired randomization test of the mean of the seed-averaged per-user differences
  (users are the units, the seeds fixed). Exact enumeration when ``2**n <= permutations``; else
  ``permutations`` random sign vectors, ``p = min(1, 2 * min(P>=, P<=))`` with
  ``P = (1 + count) / (1 + permutations)`` (scipy's ``permutation_test`` convention), except in
  the tail: when fewer than :data:`MIN_TAIL_COUNT` sign vectors are as extreme (Monte Carlo
  cannot resolve such p-values, whose floor would be ``2 / (permutations + 1)``), the normal
  approximation of the sign-flip statistic with its exact null moments, ``z = sum d /
  sqrt(sum d**2)``, ``p = 2 * Phi(-|z|)``. So no p-value sits at an artificial floor. Effect d_z.
- ``wilcoxon``: signed-rank test, scipy ``zero_method="zsplit"`` (zero differences are ranked
  and their ranks split evenly between R+ and R-, Demšar 2006). ``method="auto"``: exact for
  <= 50 users without ties or zeros, else the normal approximation *without* continuity
  correction (scipy's default ``correction=False``). Effect: matched-pairs rank-biserial
  ``(R+ - R-) / (R+ + R-)`` over *all* users including zero differences (Kerby's 2014 formula
  with the zsplit ranks). It is about ranks, not means: it can disagree in sign with the mean
  difference, and then the decision follows the rank effect.
- ``ttest``: paired t-test of the seed-averaged per-user differences, effect Cohen's d_z.

Whatever the primary test, every row also has the per-user sign-flip (``p_users``) and paired
t-test (``p_ttest``) p-values with their adjusted values in the same family.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from recrepro.core.errors import DataError
from recrepro.core.rng import derive_seed
from recrepro.stats.config import StatsConfig, higher_is_better
from recrepro.stats.crossed import crossed_test
from recrepro.stats.units import is_pooled, linearise

WILCOXON_ZERO_METHOD = "zsplit"
#: Effect-size name reported for each test.
EFFECT_NAMES = {"wilcoxon": "rank_biserial", "ttest": "cohens_dz", "signflip": "cohens_dz",
                "crossed": "cohens_dz"}
PAIRWISE_COLUMNS = (
    "dataset", "protocol", "setting", "metric", "higher_is_better", "comparison", "model",
    "other", "other_setting", "test", "statistic", "p_raw", "p_adj", "correction",
    "family_size", "effect", "effect_name", "effect_ci_low", "effect_ci_high", "diff_mean",
    "ci_low", "ci_high", "se", "df", "sd_diff", "n_users", "n_seeds", "significant", "decision",
    "p_users", "p_users_adj", "p_ttest", "p_ttest_adj", "var_user", "var_seed", "var_residual",
    "note",
)
#: Tests of one value per user (:func:`paired_test`).
PER_USER_TESTS = ("signflip", "wilcoxon", "ttest")
#: Below this many as-extreme random sign vectors the sign-flip p-value is the normal one.
MIN_TAIL_COUNT = 10
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
    p = np.minimum(1.0, 2 * np.minimum(p_greater, p_less))
    if add:  # Monte Carlo: its tail is resolved by the normal approximation (module doc)
        tail = np.minimum(greater, less) < MIN_TAIL_COUNT
        p = np.where(tail, signflip_normal_pvalues(diffs), p)
    return p


def signflip_normal_pvalues(diffs: np.ndarray) -> np.ndarray:
    """Two-sided normal approximation of each column's sign-flip test: under the null the sum
    has mean 0 and variance ``sum d**2`` exactly; ``p = 2 * Phi(-|sum d| / sqrt(sum d**2))``."""
    diffs = np.asarray(diffs, dtype=np.float64)
    scale = np.sqrt(np.sum(diffs**2, axis=0))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(scale > 0, diffs.sum(axis=0) / scale, 0.0)
    return 2 * stats.norm.sf(np.abs(z))


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
    if test not in PER_USER_TESTS:
        raise ValueError(f"unknown paired test {test!r}; use one of {', '.join(PER_USER_TESTS)}")
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
    diff: np.ndarray, test: str, n_resamples: int, seed: int, level: float = 0.95,
) -> tuple[float, float, float, float]:
    """Percentile CIs (same resamples of users) of the mean of the per-user differences
    ``diff`` and of the test's effect size: ``(ci_low, ci_high, effect_low, effect_high)``;
    NaN if ``n_resamples`` is 0."""
    diff = np.asarray(diff, dtype=np.float64)
    if n_resamples == 0:
        return (math.nan,) * 4
    if not diff.any():
        return 0.0, 0.0, 0.0, 0.0
    means, effects = [], []
    for idx in _resample_indices(diff.size, n_resamples, seed):
        d = diff[idx]
        means.append(d.mean(axis=1))
        if EFFECT_NAMES[test] == "rank_biserial":
            effects.append(_rank_biserial_rows(d))
        else:
            sd = d.std(axis=1, ddof=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                effects.append(np.where(sd > 0, d.mean(axis=1) / sd,
                                        np.sign(d.mean(axis=1)) * np.inf))
    return (*_percentile(np.concatenate(means), level),
            *_percentile(np.concatenate(effects), level))


def _rank_biserial_rows(d: np.ndarray) -> np.ndarray:
    """:func:`rank_biserial` of each row of ``d``."""
    ranks = stats.rankdata(np.abs(d), axis=1)
    n = d.shape[1]
    signed = (ranks * np.sign(d)).sum(axis=1)
    return signed / (n * (n + 1) / 2)


# --------------------------------------------------------------------------- families


def adjust_pvalues(p_values: Sequence[float], method: str, alpha: float = 0.05) -> np.ndarray:
    """Family-wise adjusted p-values, ``holm`` or ``fdr_bh`` (the same values as statsmodels'
    ``multipletests``; ``alpha`` does not change them); NaN entries (pairs not tested) stay NaN
    and are not counted in the family."""
    p_values = np.asarray(p_values, dtype=np.float64)
    out = np.full(p_values.shape, np.nan)
    ok = np.isfinite(p_values)
    if not ok.any():
        return out
    if method not in _STEPS:
        raise ValueError(f"unknown correction {method!r}; use one of {', '.join(_STEPS)}")
    p = p_values[ok]
    order = np.argsort(p, kind="mergesort")
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(1.0, _STEPS[method](p[order]))
    out[ok] = adjusted
    return out


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment of ascending p-values."""
    return np.maximum.accumulate((len(p) - np.arange(len(p))) * p)


def _bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg step-up adjustment of ascending p-values."""
    return np.minimum.accumulate((len(p) / np.arange(1, len(p) + 1) * p)[::-1])[::-1]


_STEPS = {"holm": _holm, "fdr_bh": _bh}


def decision(significant: bool, effect: float, metric: str) -> str:
    """``better``/``worse`` (model vs other) when significant, by the sign of the test's effect
    and the metric's direction; ``no difference`` otherwise; ``n/a`` without a direction."""
    direction = higher_is_better(metric)
    if direction is None or math.isnan(effect):
        return NOT_TESTED
    if not significant or effect == 0:
        return NO_DIFFERENCE
    return BETTER if (effect > 0) == direction else WORSE



# --------------------------------------------------------------------------- sides and pairs


@dataclass(frozen=True)
class Side:
    """One side of a comparison: users x seeds per-user values (NaN: not evaluated), the users'
    test ratings per seed (pooled metrics, else None), its seeds and setting."""

    values: pd.DataFrame
    weight: pd.DataFrame | None
    seeds: frozenset[int]
    setting: str

    def complete(self) -> pd.Index:
        """Users evaluated in every seed (with their test ratings, for pooled metrics)."""
        ok = self.values.notna().all(axis=1)
        if self.weight is not None:
            ok &= self.weight.reindex_like(self.values).notna().all(axis=1)
        return self.values.index[ok.to_numpy()]


def side_units(metric: str, side: Side, users: pd.Index | None = None) -> np.ndarray:
    """Linearised users x seeds units of ``side`` over ``users`` (default: its complete users),
    seeds in ascending order."""
    users = side.complete() if users is None else users
    seeds = sorted(side.seeds)
    weight = None if side.weight is None else side.weight.loc[users, seeds].to_numpy(np.float64)
    if weight is None and is_pooled(metric):
        raise DataError(f"{metric} is pooled over ratings but the per-user files lack n_ratings; "
                        "re-run the runs")
    return linearise(metric, side.values.loc[users, seeds].to_numpy(np.float64), weight)


def pair_units(metric: str, side: Side, other: Side) -> tuple[pd.Index, np.ndarray]:
    """The users both sides have in every seed and the users x seeds difference of their
    linearised units (``side`` minus ``other``; the seed sets must be equal)."""
    users = side.complete().intersection(other.complete()).sort_values()
    return users, side_units(metric, side, users) - side_units(metric, other, users)


def pair_statistics(diff: np.ndarray, test: str) -> dict[str, float]:
    """Primary test (``test``) and the per-user t-test of a users x seeds difference matrix:
    the pairwise row's numbers except the sign-flip p-values and bootstrap CIs."""
    per_user = diff.mean(axis=1)
    crossed = crossed_test(diff)
    zeros = np.zeros_like(per_user)
    out = {
        "diff_mean": crossed.mean, "se": crossed.se, "df": crossed.df,
        "var_user": crossed.var_user, "var_seed": crossed.var_seed,
        "var_residual": crossed.var_residual, "sd_diff": float(np.std(per_user, ddof=1)),
        "n_users": len(per_user), "p_ttest": paired_test(per_user, zeros, "ttest").p_value,
        "effect": cohens_dz(per_user), "ci_low": math.nan, "ci_high": math.nan,
    }
    if test == "crossed":
        out.update(statistic=crossed.statistic, p_raw=crossed.p_value, ci_low=crossed.ci_low,
                   ci_high=crossed.ci_high)
    elif test == "signflip":
        out["statistic"] = float(per_user.mean())
    else:
        result = paired_test(per_user, zeros, test)
        out.update(statistic=result.statistic, p_raw=result.p_value, effect=result.effect)
    return out


def compare_pairs(
    pairs: Sequence[tuple[str, Side, str, Side]], comparison: str, group: Mapping[str, str],
    config: StatsConfig, with_ci: Callable[[str, str], bool] | None = None,
) -> list[dict[str, object]]:
    """Test each ``(model, side, other, other_side)`` and correct over the pairs as one family.

    A pair whose seed sets differ is not tested (``decision`` n/a, ``note`` says why). Each pair
    uses the users both sides have in every seed. The primary p-values (``p_raw``), the per-user
    sign-flip ones (``p_users``) and the per-user t-test ones (``p_ttest``) are each adjusted
    over the family. The sign-flip test draws one set of signs per group over the union of its
    users, so a pair gets the same p-value in every family of the group. ``with_ci(model,
    other)`` says which pairs get user-bootstrap CIs (effect sizes; the difference too unless
    the test is ``crossed``, whose t-interval every row has); default: all.
    """
    metric = group["metric"]
    rows, tested = [], []
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
        users, diff = pair_units(metric, side, other_side)
        if len(users) < 2:
            raise DataError(
                f"{model} and {other} share {len(users)} user(s) with {metric} in every seed in "
                f"{'/'.join(group.values())}; their runs must use the same test split"
            )
        row.update(pair_statistics(diff, config.test))
        per_user = diff.mean(axis=1)
        tested.append((row, users, per_user))
        if with_ci is None or with_ci(model, other):
            key = (*group.values(), side.setting, model, other_side.setting, other)
            ci = pair_bootstrap(per_user, config.test, config.bootstrap,
                                derive_seed("stats.bootstrap", *key))
            row.update(effect_ci_low=ci[2], effect_ci_high=ci[3])
            if config.test != "crossed":
                row.update(ci_low=ci[0], ci_high=ci[1])
    _signflip_rows(tested, group, config)
    _adjust(rows, config, metric)
    return rows


def _signflip_rows(
    tested: list[tuple[dict, pd.Index, np.ndarray]], group: Mapping[str, str], config: StatsConfig
) -> None:
    """Per-user sign-flip p-values of the tested pairs (one draw of signs for the group)."""
    if not tested:
        return
    users = sorted(set().union(*(index for _, index, _ in tested)))
    position = {user: i for i, user in enumerate(users)}
    diffs = np.zeros((len(users), len(tested)))
    for j, (_, index, diff) in enumerate(tested):
        diffs[[position[u] for u in index], j] = diff
    seed = derive_seed("stats.signflip", *group.values())
    for (row, _, diff), p in zip(
        tested, signflip_pvalues(diffs, config.permutations, seed), strict=True
    ):
        row["p_users"] = 1.0 if not diff.any() else float(p)
        if config.test == "signflip":
            row["p_raw"] = row["p_users"]


def _adjust(rows: list[dict[str, object]], config: StatsConfig, metric: str) -> None:
    """Adjusted p-values of each test over the family, significance and decision."""
    for raw, adjusted in (("p_raw", "p_adj"), ("p_users", "p_users_adj"),
                          ("p_ttest", "p_ttest_adj")):
        values = adjust_pvalues([row.get(raw, math.nan) for row in rows], config.correction,
                                config.alpha)
        for row, value in zip(rows, values, strict=True):
            row[adjusted] = float(value)
    family_size = int(sum(math.isfinite(row["p_adj"]) for row in rows))
    for row in rows:
        row["family_size"] = family_size
        row["significant"] = bool(row["p_adj"] < config.alpha)
        row["decision"] = (
            NOT_TESTED if not math.isfinite(row["p_adj"])
            else decision(row["significant"], row["effect"], metric)
        )


def _seeds(seeds: frozenset[int]) -> str:
    return "{" + ", ".join(map(str, sorted(seeds))) + "}"
