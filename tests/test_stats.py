"""Statistics layer: tests against scipy / statsmodels on fixed data, and the whole pipeline."""

from __future__ import annotations

import json
import math
import runpy
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from recrepro.core.errors import ConfigError, DataError
from recrepro.core.rng import derive_seed
from recrepro.evaluation import catalogue
from recrepro.evaluation.evaluate import higher_is_better as optimisation_direction
from recrepro.report.style import higher_is_better as table_direction
from recrepro.stats import StatsConfig, compute_stats, compute_tables, higher_is_better
from recrepro.stats.collect import load_metrics
from recrepro.stats.crossed import crossed_test, crossed_variance, simulate_null
from recrepro.stats.friedman import average_ranks, cliques, friedman
from recrepro.stats.multilevel import two_level_bootstrap, variance_components
from recrepro.stats.paired import (
    PAIRWISE_COLUMNS,
    Side,
    bootstrap_ci,
    cohens_dz,
    compare_pairs,
    pair_bootstrap,
    paired_test,
    rank_biserial,
    signed_rank_sums,
    signflip_pvalue,
)
from recrepro.stats.pipeline import TABLES
from recrepro.stats.power import min_detectable_dz
from recrepro.stats.seeds import seed_summary
from recrepro.stats.units import linearise, seed_aggregates
from recrepro.study.summarize import summarize

ROOT = Path(__file__).resolve().parents[1]
GROUP = {"dataset": "ml-100k", "protocol": "random", "setting": "faithful", "metric": "ndcg@10"}
SEEDS = frozenset({1, 2, 3})


def _seed_copies(values: pd.Series, seeds: frozenset[int]) -> pd.DataFrame:
    """Users x seeds table repeating ``values`` in every seed (a deterministic model)."""
    return pd.DataFrame({s: values for s in sorted(seeds)})


def _sides(matrix: pd.DataFrame, seeds: dict[str, frozenset[int]] | None = None,
           weights: pd.DataFrame | None = None) -> dict[str, Side]:
    out = {}
    for m in matrix.columns:
        own = (seeds or {}).get(m, SEEDS)
        weight = None if weights is None else _seed_copies(weights[m], own)
        out[m] = Side(_seed_copies(matrix[m], own), weight, own, "faithful")
    return out


def compare_family(matrix, other, comparison, group, config, seeds=None, weights=None):
    """Every column of ``matrix`` against ``other`` as one family."""
    sides = _sides(matrix, seeds, weights)
    pairs = [(m, sides[m], other, sides[other]) for m in matrix.columns if m != other]
    return compare_pairs(pairs, comparison, group, config)


def _pair(n: int, shift: float, seed: int = 0, ties: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.normal(0.5, 0.2, n)
    b = a - shift + rng.normal(0, 0.1, n)
    if ties:  # rounded values: many zero and tied differences
        a, b = np.round(a, 1), np.round(b, 1)
    return a, b


# --- paired tests ------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "ties"), [(12, False), (30, False), (30, True), (200, True)])
def test_wilcoxon_equals_scipy(n, ties):
    a, b = _pair(n, 0.05, seed=n, ties=ties)
    ours = paired_test(a, b, "wilcoxon")
    ref = stats.wilcoxon(a, b, zero_method="zsplit")
    assert ours.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    assert ours.effect_name == "rank_biserial"
    assert min(signed_rank_sums(a - b)) == pytest.approx(ref.statistic)


def test_ties_and_zeros_are_split_like_scipy():
    a = np.array([1.0, 2, 2, 3, 3, 3, 0, 0, 5, 1])
    b = np.array([1.0, 1, 3, 1, 1, 2, 0, 1, 1, 1])  # two zero differences, tied |d|
    r_plus, r_minus = signed_rank_sums(a - b)
    assert r_plus + r_minus == pytest.approx(10 * 11 / 2)
    assert paired_test(a, b).statistic == pytest.approx(
        stats.wilcoxon(a, b, zero_method="zsplit").statistic
    )


def test_ttest_equals_scipy_and_effect_is_dz():
    a, b = _pair(50, 0.03, seed=3)
    ours = paired_test(a, b, "ttest")
    ref = stats.ttest_rel(a, b)
    assert ours.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    diff = a - b
    assert ours.effect == pytest.approx(diff.mean() / diff.std(ddof=1))
    assert ours.effect_name == "cohens_dz"
    # d_z relates to t by t = d_z * sqrt(n)
    assert ref.statistic == pytest.approx(ours.effect * math.sqrt(50))


@pytest.mark.parametrize("test", ["wilcoxon", "ttest", "signflip", "crossed"])
def test_identical_models_give_p_one_without_warning(test):
    a = np.random.default_rng(1).random(40)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        if test != "crossed":
            result = paired_test(a, a.copy(), test)
            assert (result.p_value, result.effect) == (1.0, 0.0)
        rows = compare_family(
            pd.DataFrame({"x": a, "y": a.copy()}), "y", "vs_best", GROUP,
            StatsConfig(test=test, bootstrap=200),
        )
    (row,) = rows
    assert (row["p_raw"], row["p_adj"], row["effect"]) == (1.0, 1.0, 0.0)
    assert (row["p_users"], row["p_ttest"]) == (1.0, 1.0)
    assert (row["diff_mean"], row["ci_low"], row["ci_high"]) == (0.0, 0.0, 0.0)
    assert row["significant"] is False and row["decision"] == "no difference"


def test_rank_biserial_hand_cases():
    # |d| ranks 1..4; R+ = 1 + 2 + 4 = 7, R- = 3 -> (7 - 3) / 10
    assert rank_biserial(np.array([1.0, 2, -3, 4])) == pytest.approx(0.4)
    # tied |d|: ranks 1.5, 1.5, 3 -> R+ = 4.5, R- = 1.5
    assert rank_biserial(np.array([1.0, -1, 2])) == pytest.approx(0.5)
    # a zero difference (rank 1) is split: R+ = 2 + 0.5, R- = 3 + 0.5 -> -1/6
    assert rank_biserial(np.array([0.0, 2, -3])) == pytest.approx(-1 / 6)
    assert rank_biserial(np.array([1.0, 2, 3])) == 1.0
    assert rank_biserial(-np.array([1.0, 2, 3])) == -1.0


def test_constant_nonzero_differences_are_infinitely_significant_without_warning():
    a = np.linspace(0.1, 0.9, 20)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = paired_test(a + 0.15, a, "ttest")
    assert (result.statistic, result.p_value, result.effect) == (math.inf, 0.0, math.inf)


def test_cohens_dz_edge_cases():
    assert cohens_dz(np.zeros(5)) == 0.0
    assert cohens_dz(np.full(5, -0.2)) == -math.inf
    assert cohens_dz(np.array([1.0, 3.0])) == pytest.approx(2 / math.sqrt(2))


# --- sign-flip randomization test ---------------------------------------------------------------


def _mean_diff(x, y, axis):
    return np.mean(x - y, axis=axis)


@pytest.mark.parametrize(("n", "shift"), [(8, 0.3), (11, 0.0), (12, 0.8)])
def test_signflip_exact_equals_scipy_permutation_test(n, shift):
    a, b = _pair(n, shift, seed=n)
    ref = stats.permutation_test(
        (a, b), _mean_diff, permutation_type="samples", vectorized=True, n_resamples=np.inf
    )
    ours = paired_test(a, b, "signflip", permutations=2**n)
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    assert ours.statistic == pytest.approx((a - b).mean())
    assert ours.effect == pytest.approx(cohens_dz(a - b)) and ours.effect_name == "cohens_dz"


def test_signflip_monte_carlo_agrees_with_scipy_within_resampling_error():
    a, b = _pair(300, 0.01, seed=5)
    ours = signflip_pvalue(a - b, 20_000, seed=1)
    ref = stats.permutation_test(
        (a, b), _mean_diff, permutation_type="samples", vectorized=True, n_resamples=20_000,
        rng=np.random.default_rng(2),
    ).pvalue
    assert 0.005 < ref < 0.5  # a p-value with real resampling error
    assert ours == pytest.approx(ref, abs=4 * math.sqrt(ref * (1 - ref) / 20_000))
    assert ours == signflip_pvalue(a - b, 20_000, seed=1)  # deterministic for a seed
    # no floor at 2 / (R + 1): the tail (< 10 as-extreme flips) is the normal approximation
    # with the sum's exact null moments, z = sum d / sqrt(sum d**2)
    d = np.full(300, 0.5)
    assert signflip_pvalue(d, 999, seed=0) == pytest.approx(2 * stats.norm.sf(math.sqrt(300)))
    assert signflip_pvalue(d, 999, seed=0) < 1e-60


def test_signflip_normal_tail_agrees_with_exhaustive_resampling_near_holm_levels():
    noise = np.random.default_rng(12).normal(0, 1.0, 400)
    noise -= noise.mean()
    z, n = 3.6, noise.size  # p about 3e-4: a Holm level of a 150-pair family
    d = noise + z * math.sqrt(np.sum(noise**2) / (n**2 - z**2 * n))  # sum d / sqrt(sum d^2) = z
    ours = signflip_pvalue(d, 2_000, seed=3)  # 2,000 flips see < 10 as extreme: normal tail
    many = signflip_pvalue(d, 400_000, seed=4)  # >= 10 as extreme: plain Monte Carlo
    assert 1e-4 < ours < 1e-3 and ours < 2 / 2_001
    assert ours == pytest.approx(many, rel=0.25)


# --- direction-aware decisions ------------------------------------------------------------------


def _issue_example(n: int = 200) -> pd.DataFrame:
    """Issue 11: A = 1 for 10% of users and 0 otherwise, B = 0.05 for everyone."""
    a = np.zeros(n)
    a[: n // 10] = 1.0
    return pd.DataFrame({"A": a, "B": np.full(n, 0.05)})


def test_issue_example_decision_follows_the_tested_quantity():
    matrix = _issue_example()
    # the rank test: B wins for 90% of users (rank-biserial +0.62): B is better, never "worse"
    (row,) = compare_family(matrix, "A", "vs_best", GROUP, StatsConfig(test="wilcoxon",
                                                                       bootstrap=300))
    assert row["effect"] == pytest.approx(0.62, abs=0.01) and row["diff_mean"] < 0
    assert row["significant"] and row["decision"] == "better"
    assert row["effect_ci_low"] > 0
    # the mean (what the table shows): B's mean is lower, so the mean test calls it worse
    for test in ("signflip", "ttest", "crossed"):
        (row,) = compare_family(matrix, "A", "vs_best", GROUP, StatsConfig(test=test,
                                                                           bootstrap=300))
        assert row["diff_mean"] == pytest.approx(-0.05) and row["effect"] < 0
        assert row["significant"] and row["decision"] == "worse"
        assert row["ci_high"] < 0 and row["effect_ci_high"] < 0


def test_decision_reads_the_metric_direction():
    rng = np.random.default_rng(3)
    base = rng.normal(1.0, 0.2, 80)
    matrix = pd.DataFrame({"x": base - 0.1 + rng.normal(0, 0.02, 80), "y": base})
    rmse = dict(GROUP, metric="rmse")
    ones = pd.DataFrame(1.0, index=matrix.index, columns=matrix.columns)
    (row,) = compare_family(matrix, "y", "vs_best", rmse, StatsConfig(bootstrap=0), weights=ones)
    assert row["diff_mean"] < 0 and row["decision"] == "better"  # lower error is better
    (row,) = compare_family(matrix, "y", "vs_best", GROUP, StatsConfig(bootstrap=0))
    assert row["decision"] == "worse"
    (row,) = compare_family(matrix, "y", "vs_best", dict(GROUP, metric="popularity@10"),
                            StatsConfig(bootstrap=0))
    assert row["decision"] == "n/a"


def test_different_seed_sets_are_not_paired():
    matrix = _family_matrix()
    seeds = {"a": frozenset({1, 2}), "b": SEEDS, "c": SEEDS, "d": SEEDS}
    rows = compare_family(matrix, "d", "vs_best", GROUP, StatsConfig(bootstrap=0), seeds=seeds)
    by_model = {r["model"]: r for r in rows}
    assert by_model["a"]["decision"] == "n/a" and math.isnan(by_model["a"]["p_adj"])
    assert by_model["a"]["note"] == "not tested: seed sets differ ({1, 2} vs {1, 2, 3})"
    assert by_model["a"]["n_users"] == 0 and not by_model["a"]["significant"]
    assert {r["family_size"] for r in rows} == {2}  # the untested pair is not in the family
    p_raw = [by_model[m]["p_raw"] for m in ("b", "c")]
    expected = multipletests(p_raw, method="holm")[1]
    assert [by_model[m]["p_adj"] for m in ("b", "c")] == pytest.approx(list(expected))


# --- rating errors: the pooled quantity the tables show -------------------------------------


def _rating_errors(n_users: int, n_seeds: int, seed: int, scale: float = 1.0):
    """Per-user test errors of ``n_seeds`` seeds: (errors[s][u], rmse, mae, n) users x seeds."""
    rng = np.random.default_rng(seed)
    errors = [[rng.normal(0.1, scale * (0.6 + u % 5 / 5), int(rng.integers(1, 30)))
               for u in range(n_users)] for _ in range(n_seeds)]
    rmse = np.array([[math.sqrt(np.mean(e**2)) for e in seed_errors]
                     for seed_errors in errors]).T
    mae = np.array([[np.mean(np.abs(e)) for e in seed_errors] for seed_errors in errors]).T
    n = np.array([[len(e) for e in seed_errors] for seed_errors in errors], float).T
    return errors, rmse, mae, n


def test_linearised_units_average_to_the_pooled_aggregates():
    errors, rmse, mae, n = _rating_errors(50, 3, seed=9)
    pooled_rmse = [math.sqrt(np.mean(np.concatenate(e) ** 2)) for e in errors]
    pooled_mae = [np.mean(np.abs(np.concatenate(e))) for e in errors]
    v = linearise("rmse", rmse, n)
    assert v.mean(axis=0) == pytest.approx(pooled_rmse, rel=1e-12)
    assert linearise("mae", mae, n).mean(axis=0) == pytest.approx(pooled_mae, rel=1e-12)
    assert seed_aggregates("rmse", rmse, n) == pytest.approx(pooled_rmse, rel=1e-12)
    assert linearise("ndcg@10", rmse) is not None and np.array_equal(linearise("ndcg@10", rmse),
                                                                      rmse)
    # the RMSE unit is the delta-method influence unit: centred, it is (m_u - R^2) / (2 R)
    m = n * rmse**2 / n.mean(axis=0)
    root = np.asarray(pooled_rmse)
    assert v - root == pytest.approx((m - root**2) / (2 * root), rel=1e-10, abs=1e-12)
    with pytest.raises(DataError, match="n_ratings"):
        linearise("rmse", rmse)


def test_rating_errors_are_tested_on_the_pooled_quantity():
    _, rmse, _, n = _rating_errors(60, 3, seed=5)
    _, rmse_y, _, _ = _rating_errors(60, 3, seed=6, scale=1.1)
    sides = {m: Side(pd.DataFrame(v, columns=sorted(SEEDS)), pd.DataFrame(n, columns=sorted(SEEDS)),
                     SEEDS, "faithful") for m, v in (("x", rmse), ("y", rmse_y))}
    (row,) = compare_pairs([("x", sides["x"], "y", sides["y"])], "vs_best",
                           dict(GROUP, metric="rmse"), StatsConfig(bootstrap=0))
    table = [seed_aggregates("rmse", v, n).mean() for v in (rmse, rmse_y)]
    assert row["diff_mean"] == pytest.approx(table[0] - table[1], rel=1e-10)
    assert row["ci_low"] < row["diff_mean"] < row["ci_high"]
    diff = linearise("rmse", rmse, n) - linearise("rmse", rmse_y, n)
    assert row["statistic"] == pytest.approx(crossed_test(diff).statistic)
    assert row["p_ttest"] == pytest.approx(stats.ttest_1samp(diff.mean(axis=1), 0).pvalue)


# --- effect-size CIs ----------------------------------------------------------------------------


@pytest.mark.parametrize("test", ["wilcoxon", "signflip"])
def test_effect_ci_is_the_percentile_of_the_resampled_effect(test):
    a, b = _pair(60, 0.02, seed=4, ties=True)
    low, high, e_low, e_high = pair_bootstrap(a - b, test, 400, seed=8)
    idx = np.random.default_rng(8).integers(0, 60, (400, 60))
    effect = rank_biserial if test == "wilcoxon" else cohens_dz
    effects = [effect((a - b)[i]) for i in idx]
    assert (e_low, e_high) == pytest.approx(tuple(np.percentile(effects, [2.5, 97.5])))
    assert (low, high) == pytest.approx(tuple(np.percentile((a - b)[idx].mean(axis=1),
                                                            [2.5, 97.5])))
    assert (low, high) == pytest.approx(bootstrap_ci(a - b, 400, seed=8))


# --- bootstrap ----------------------------------------------------------------------------------


def test_bootstrap_ci_is_deterministic_percentile_and_covers_the_true_mean():
    noise = np.random.default_rng(7).normal(0, 0.1, 200)
    diff = 0.5 + noise - noise.mean()  # users' mean difference is exactly 0.5
    low, high = bootstrap_ci(diff, 2000, seed=42)
    assert (low, high) == bootstrap_ci(diff, 2000, seed=42)
    assert (low, high) != bootstrap_ci(diff, 2000, seed=43)
    assert low < 0.5 < high and low > 0.45 and high < 0.55
    # the percentile method over resampled users' means, drawn from default_rng(seed)
    idx = np.random.default_rng(42).integers(0, diff.size, (2000, diff.size))
    expected = np.percentile(diff[idx].mean(axis=1), [2.5, 97.5])
    assert (low, high) == pytest.approx(tuple(expected), rel=1e-12)


def test_bootstrap_zero_resamples_gives_nan():
    assert all(math.isnan(v) for v in bootstrap_ci(np.arange(5.0), 0, seed=1))


# --- families and correction -------------------------------------------------------------------


def _family_matrix() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    base = rng.random(60)
    shifts = {"a": 0.0, "b": 0.02, "c": 0.05, "d": 0.2}
    return pd.DataFrame({m: base + s + rng.normal(0, 0.05, 60) for m, s in shifts.items()})


@pytest.mark.parametrize("correction", ["holm", "fdr_bh"])
def test_family_correction_equals_multipletests(correction):
    config = StatsConfig(correction=correction, bootstrap=100)
    rows = compare_family(_family_matrix(), "d", "vs_best", GROUP, config)
    assert [r["model"] for r in rows] == ["a", "b", "c"]
    assert all(r["decision"] == "worse" and r["family_size"] == 3 for r in rows)
    p_raw = [r["p_raw"] for r in rows]
    expected = multipletests(p_raw, alpha=0.05, method=correction)[1]
    assert [r["p_adj"] for r in rows] == pytest.approx(list(expected))
    assert all(r["correction"] == correction and r["other"] == "d" for r in rows)
    assert all(r["diff_mean"] < 0 and r["ci_high"] < 0 and r["significant"] for r in rows)
    assert set(rows[0]) == set(PAIRWISE_COLUMNS)


def test_holm_hand_case():
    matrix = _family_matrix()
    rows = compare_family(matrix, "a", "vs_reference", GROUP, StatsConfig(bootstrap=0))
    p = sorted(r["p_raw"] for r in rows)
    holm = np.maximum.accumulate([min(1, p[i] * (len(p) - i)) for i in range(len(p))])
    assert sorted(r["p_adj"] for r in rows) == pytest.approx(list(holm))


def test_pair_uses_only_shared_users():
    matrix = _family_matrix()
    matrix.loc[:9, "a"] = np.nan
    rows = compare_family(matrix, "d", "vs_best", GROUP, StatsConfig(bootstrap=0))
    assert {r["model"]: r["n_users"] for r in rows} == {"a": 50, "b": 60, "c": 60}
    matrix["a"] = np.nan
    matrix.loc[0, "a"] = 1.0
    with pytest.raises(DataError, match="share 1 user"):
        compare_family(matrix, "d", "vs_best", GROUP, StatsConfig(bootstrap=0))


# --- Friedman / Nemenyi ------------------------------------------------------------------------


def test_friedman_equals_scipy_with_ties():
    matrix = np.round(_family_matrix().to_numpy(), 1)
    ref = stats.friedmanchisquare(*matrix.T)
    assert friedman(matrix) == pytest.approx((ref.statistic, ref.pvalue), rel=1e-12)
    assert friedman(np.ones((5, 3))) == (0.0, 1.0)


def test_average_ranks_follow_the_metric_direction():
    matrix = np.array([[0.9, 0.5, 0.1], [0.8, 0.8, 0.2]])
    assert average_ranks(matrix, True) == pytest.approx([1.25, 1.75, 3.0])
    assert average_ranks(matrix, False) == pytest.approx([2.75, 2.25, 1.0])


def test_cliques_join_runs_without_significant_pairs():
    models, ranks = ["a", "b", "c", "d"], [1.0, 2.0, 3.0, 4.0]
    # a-c and b-d differ: groups {a, b} and {b, c} and {c, d}
    different = {frozenset(("a", "c")), frozenset(("b", "d")), frozenset(("a", "d"))}
    assert cliques(models, ranks, different) == [["a", "b"], ["b", "c"], ["c", "d"]]
    assert cliques(models, ranks, set()) == [["a", "b", "c", "d"]]
    every = {frozenset(p) for p in [("a", "b"), ("a", "c"), ("a", "d"), ("b", "c"), ("b", "d"),
                                    ("c", "d")]}
    assert cliques(models, ranks, every) == []
    # sorted by rank, not by name
    assert cliques(["z", "y"], [2.0, 1.0], set()) == [["y", "z"]]


# --- users x seeds ---------------------------------------------------------------------------


def test_variance_components_match_statsmodels_anova():
    import statsmodels.formula.api as smf
    from statsmodels.stats.anova import anova_lm

    rng = np.random.default_rng(2)
    users, seeds = 30, 4
    y = 0.3 + rng.normal(0, 0.1, (users, 1)) + rng.normal(0, 0.03, (1, seeds)) \
        + rng.normal(0, 0.05, (users, seeds))
    frame = pd.DataFrame({"y": y.ravel(), "user": np.repeat(np.arange(users), seeds),
                          "seed": np.tile(np.arange(seeds), users)})
    table = anova_lm(smf.ols("y ~ C(user) + C(seed)", frame).fit())
    ours = variance_components(y)
    assert ours["ms_user"] == pytest.approx(table.loc["C(user)", "mean_sq"])
    assert ours["ms_seed"] == pytest.approx(table.loc["C(seed)", "mean_sq"])
    assert ours["ms_residual"] == pytest.approx(table.loc["Residual", "mean_sq"])
    assert ours["var_user"] == pytest.approx((ours["ms_user"] - ours["ms_residual"]) / seeds)
    assert ours["var_seed"] == pytest.approx((ours["ms_seed"] - ours["ms_residual"]) / users)
    assert 0.005 < ours["var_user"] < 0.02 and ours["var_residual"] == pytest.approx(0.0025,
                                                                                       rel=0.3)
    assert math.isnan(variance_components(y[:, :1])["var_seed"])
    same = variance_components(np.repeat(y[:, :1] / 3.0, 3, axis=1))  # identical seeds
    assert same["var_seed"] == 0.0 and same["var_residual"] == 0.0 and same["var_user"] > 0


def test_two_level_bootstrap_resamples_users_and_seeds():
    rng = np.random.default_rng(4)
    y = rng.normal(0, 1, (25, 3)) + np.array([0.0, 0.5, 1.0])
    low, high = two_level_bootstrap(y, 300, seed=6)
    draws = np.random.default_rng(6)
    users, seeds = draws.integers(0, 25, (300, 25)), draws.integers(0, 3, (300, 3))
    means = [y[np.ix_(u, s)].mean() for u, s in zip(users, seeds, strict=True)]
    assert (low, high) == pytest.approx(tuple(np.percentile(means, [2.5, 97.5])))
    # seeds add variance: the interval is wider than resampling users alone
    users_only = np.percentile([y[u].mean() for u in users], [2.5, 97.5])
    assert high - low > users_only[1] - users_only[0]


# --- the crossed users x seeds test ---------------------------------------------------------


def test_crossed_with_one_seed_is_the_paired_t_test():
    a, b = _pair(70, 0.02, seed=13)
    ours = crossed_test((a - b)[:, None])
    ref = stats.ttest_rel(a, b)
    assert (ours.statistic, ours.p_value, ours.df) == pytest.approx((ref.statistic, ref.pvalue,
                                                                       69), rel=1e-10)
    interval = ref.confidence_interval(0.95)
    assert (ours.ci_low, ours.ci_high) == pytest.approx((interval.low, interval.high), rel=1e-10)
    assert ours.se == pytest.approx(stats.sem(a - b))


def _crossed(users: int, seeds: int, sd_user: float, sd_seed: float, sd_res: float,
             rng: np.random.Generator, mean: float = 0.0) -> np.ndarray:
    return (mean + rng.normal(0, sd_user, (users, 1)) + rng.normal(0, sd_seed, (1, seeds))
            + rng.normal(0, sd_res, (users, seeds)))


def test_crossed_variance_and_satterthwaite_df_by_hand():
    y = _crossed(30, 4, 0.1, 0.05, 0.05, np.random.default_rng(21), mean=0.02)
    parts = variance_components(y)
    ms_u, ms_s, ms_r = parts["ms_user"], parts["ms_seed"], parts["ms_residual"]
    assert ms_s > ms_r and ms_u > ms_r  # no truncation
    combo = ms_u + ms_s - ms_r
    df = combo**2 / (ms_u**2 / 29 + ms_s**2 / 3 + ms_r**2 / 87)
    ours = crossed_test(y)
    assert ours.se**2 == pytest.approx(combo / 120) and ours.df == pytest.approx(df)
    # the same as var_user / U + var_seed / S + var_res / (U S)
    assert ours.se**2 == pytest.approx(parts["var_user"] / 30 + parts["var_seed"] / 4
                                       + parts["var_residual"] / 120)
    t = y.mean() / ours.se
    assert ours.p_value == pytest.approx(2 * stats.t.sf(abs(t), df))
    assert ours.ci_high - y.mean() == pytest.approx(stats.t.ppf(0.975, df) * ours.se)


def test_crossed_truncation_falls_back_to_users_only_or_seeds_only():
    rng = np.random.default_rng(22)
    y = _crossed(40, 3, 0.1, 0.0, 0.05, rng, mean=0.01)
    y -= y.mean(axis=0) - y.mean()  # equal seed means: MS_seed = 0 < MS_res
    ours, parts = crossed_test(y), variance_components(y)
    ref = stats.ttest_1samp(y.mean(axis=1), 0.0)  # users-only: seed-averaged differences
    assert ours.statistic == pytest.approx(ref.statistic)
    ms_u, ms_r = parts["ms_user"], parts["ms_residual"]  # the seed mean square counts as MS_res
    df = ms_u**2 / (ms_u**2 / 39 + ms_r**2 / 2 + ms_r**2 / 78)
    assert ours.df == pytest.approx(df) and 30 < df < 39
    assert ours.p_value == pytest.approx(2 * stats.t.sf(abs(ref.statistic), df))
    z = _crossed(40, 3, 0.0, 0.05, 0.05, rng, mean=0.01)
    z -= z.mean(axis=1, keepdims=True) - z.mean()  # equal user means: MS_user = 0 < MS_res
    ours = crossed_test(z)
    ref = stats.ttest_1samp(z.mean(axis=0), 0.0)  # seeds-only: the seed means
    # Satterthwaite's df fall below the seeds' own 2 here; the floor makes it the seeds-only t-test
    assert ours.statistic == pytest.approx(ref.statistic) and ours.df == 2
    assert ours.p_value == pytest.approx(ref.pvalue)
    var, df = crossed_variance(np.array([1.0, 1.0]), np.array([0.5, 2.0]), 0.8, 10, 3)
    assert var == pytest.approx([1.0 / 30, 2.2 / 30])
    assert df == pytest.approx([1 / (1 / 9 + 0.64 / 2 + 0.64 / 18),
                                2.2**2 / (1 / 9 + 4 / 2 + 0.64 / 18)])


def test_crossed_interval_covers_when_seed_variance_dominates_and_the_others_do_not():
    """3 seeds, seed variance dominating: the crossed t-interval keeps its level, the two-level
    bootstrap and the users-only test (seeds fixed) do not."""
    rng = np.random.default_rng(23)
    users, seeds, draws = 60, 3, 300
    covered = {"crossed": 0, "bootstrap": 0, "users": 0}
    for i in range(draws):
        y = _crossed(users, seeds, 0.1, 0.06, 0.05, rng)  # true mean 0
        result = crossed_test(y)
        covered["crossed"] += result.ci_low <= 0 <= result.ci_high
        low, high = two_level_bootstrap(y, 200, seed=i)
        covered["bootstrap"] += low <= 0 <= high
        users_only = stats.ttest_1samp(y.mean(axis=1), 0.0).confidence_interval()
        covered["users"] += users_only.low <= 0 <= users_only.high
    rate = {k: v / draws for k, v in covered.items()}
    assert rate["crossed"] >= 0.90
    assert rate["bootstrap"] < 0.85 and rate["users"] < 0.6
    # the chi-square shortcut of the calibration table agrees with full data sets
    fast = simulate_null(0.01, 0.0036, 0.0025, users, seeds, 4000, seed=1)
    assert fast["coverage"] == pytest.approx(rate["crossed"], abs=0.04)
    assert fast["coverage_users"] == pytest.approx(rate["users"], abs=0.07)
    assert fast["fpr"] == pytest.approx(1 - fast["coverage"])


def test_simulated_calibration_is_nominal_for_a_user_dominated_pair():
    result = simulate_null(0.03, 0.0, 0.007, 943, 3, 4000, seed=2)
    assert result["coverage"] == pytest.approx(0.95, abs=0.012)
    assert result["coverage_users"] == pytest.approx(0.95, abs=0.012)
    assert result == simulate_null(0.03, 0.0, 0.007, 943, 3, 4000, seed=2)  # seeded


def _write_aa_studies(root: Path, studies: int, users: int = 40, seeds: int = 3) -> list[Path]:
    """``studies`` independent A/A studies (one protocol each): one model under two names with
    shared users and splits; each run's training luck (a shift of the whole run, e.g. its own
    search) and per-user noise drawn independently. Returns the per-user files."""
    from recrepro.core.io import write_json, write_parquet

    files = []
    for study in range(studies):
        rng = np.random.default_rng(derive_seed("aa", study))
        base = 0.3 + rng.normal(0, 0.1, (users, 1)) + rng.normal(0, 0.02, (1, seeds))
        for name in ("collaborative", "basic_retrieval"):
            run = base + rng.normal(0, 0.02, (1, seeds)) + rng.normal(0, 0.03, (users, seeds))
            for s in range(seeds):
                folder = root / f"results/runs/ml-100k/aa{study:03d}/{name}/tuned/seed{s + 1}"
                write_parquet(folder / "per_user.parquet",
                              pd.DataFrame({"user": np.arange(users), "ndcg@10": run[:, s]}))
                write_json(folder / "metrics.json", {"metrics": {"ndcg@10": run[:, s].mean()}})
                files.append(folder / "per_user.parquet")
    return files


def test_aa_pair_is_called_different_at_no_more_than_the_nominal_rate(tmp_path):
    studies = 100
    files = _write_aa_studies(tmp_path, studies, users=30)
    tables = compute_tables(files, [f.with_name("metrics.json") for f in files], {
        "bootstrap": 0, "permutations": 200, "calibration_draws": 200, "reference": None,
    })
    aa = tables["aa_control"]
    assert len(aa) == studies and (aa["family_size"] == 1).all()
    assert aa["significant"].mean() <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / studies)
    # the per-user tests take each seed's luck for a difference
    assert (aa["p_users_adj"] < 0.05).mean() > 0.3 and (aa["p_ttest_adj"] < 0.05).mean() > 0.3
    calibration = tables["calibration"]
    assert len(calibration) == 2 * studies  # aa_pair and median_pairs (the same pair here)
    assert calibration.groupby("source")["fpr"].median().max() <= 0.05


def test_minimum_detectable_effect_has_the_wanted_power():
    from statsmodels.stats.power import TTestPower

    for n in (69, 943):
        d = min_detectable_dz(n, 0.05, 0.8)
        assert TTestPower().power(d, n, 0.05) == pytest.approx(0.8, abs=1e-4)
        normal = (stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) / math.sqrt(n)
        assert d == pytest.approx(normal, rel=0.03)
    assert min_detectable_dz(69, 0.05, 0.8) == pytest.approx(0.34, abs=0.01)
    strict = min_detectable_dz(69, 0.05 / 120, 0.8)  # statsmodels answers with an array here
    assert isinstance(strict, float) and TTestPower().power(strict, 69, 0.05 / 120) == \
        pytest.approx(0.8, abs=1e-4)
    assert math.isnan(min_detectable_dz(2, 0.05, 0.8))


# --- metric catalogue ------------------------------------------------------------------------


def test_one_direction_per_metric_everywhere():
    for metric in ("ndcg@10", "recall@5", "rmse", "mae", "popularity@10", "coverage@10",
                   "fit_seconds", "ndcg_r4@10"):
        ours = catalogue.higher_is_better(metric)
        assert higher_is_better(metric) is ours and table_direction(metric) is ours
    assert catalogue.higher_is_better("popularity@10") is None
    assert optimisation_direction("ndcg@10") and not optimisation_direction("rmse")
    with pytest.raises(ConfigError, match="popularity@10"):
        optimisation_direction("popularity@10")
    assert catalogue.parse("ndcg_r4@10") == catalogue.MetricName("ndcg", 10, 4.0)
    assert catalogue.parse("rmse_all").family == "rmse_all"
    assert catalogue.label("ndcg_r4@10") == "NDCG@10 (r≥4)"
    assert catalogue.relevance_variant("hit@5", 3.5) == "hit_r3.5@5"


# --- across seeds ------------------------------------------------------------------------------


def test_seed_summary_t_interval():
    values = [0.30, 0.34, 0.29]
    metrics = pd.DataFrame({
        "dataset": "d", "protocol": "p", "model": "m", "setting": "s", "seed": [0, 1, 2],
        "metric": "ndcg@10", "value": values,
    })
    row = seed_summary(metrics).iloc[0]
    low, high = stats.t.interval(0.95, 2, loc=np.mean(values), scale=stats.sem(values))
    assert row["mean"] == pytest.approx(np.mean(values))
    assert row["std"] == pytest.approx(np.std(values, ddof=1))
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high))
    assert row["n_seeds"] == 3
    one = seed_summary(metrics.iloc[:1]).iloc[0]
    assert one["n_seeds"] == 1 and math.isnan(one["std"]) and math.isnan(one["ci_low"])
    pd.testing.assert_frame_equal(summarize(metrics), seed_summary(metrics))  # one summary


# --- configuration ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "block",
    [{"test": "sign"}, {"correction": "bonferoni"}, {"alpha": 1.5}, {"bootstrap": -1},
     {"bootstrap": 2.5}, {"metrics": []}, {"tests": "ttest"}, {"permutations": 0},
     {"power": 1.0}, {"calibration_draws": 0}, {"aa_pair": ["a"]}, {"aa_pair": ["a", "a"]}],
)
def test_bad_stats_config_raises(block):
    with pytest.raises(ConfigError, match="stats"):
        StatsConfig.from_mapping(block)


def test_config_defaults_and_direction():
    config = StatsConfig.from_mapping(None)
    assert (config.test, config.correction, config.alpha) == ("crossed", "holm", 0.05)
    assert (config.calibration_metrics, config.calibration_draws) == (("ndcg@10",), 2000)
    assert config.aa_pair == ("collaborative", "basic_retrieval")
    assert StatsConfig.from_mapping({"aa_pair": None}).aa_pair is None
    assert (config.permutations, config.power) == (10_000, 0.8)
    assert (config.reference, config.bootstrap, config.metrics) == ("popularity", 2000, None)
    assert StatsConfig.from_mapping({"metrics": ["rmse"]}).metrics == ("rmse",)
    assert StatsConfig.from_mapping({"bootstrap": 500.0}).bootstrap == 500
    assert higher_is_better("ndcg@10") and not higher_is_better("rmse")


# --- pipeline on a fake results folder ---------------------------------------------------------

#: Mean per-user ndcg@10 of each fake model; als and bpr also predict ratings.
FAKE_NDCG = {"als": 0.45, "bpr": 0.60, "popularity": 0.30}
FAKE_RMSE = {"als": 0.90, "bpr": 1.10}
N_USERS = 40


def _write_fake_runs(
    root: Path, seeds=(0, 1), settings=("faithful",), skip: tuple[str, int] | None = None
) -> tuple[list[Path], list[Path]]:
    per_user_files, metrics_files = [], []
    for model, level in FAKE_NDCG.items():
        for setting in settings:
            for seed in seeds:
                if (model, seed) == skip:
                    continue
                rng = np.random.default_rng(derive_seed(model, setting, seed))
                folder = root / "results/runs/ml-100k/random" / model / setting / f"seed{seed}"
                folder.mkdir(parents=True)
                frame = pd.DataFrame({"user": np.arange(1, N_USERS + 1)})
                gain = 0.1 if setting == "tuned" and model == "als" else 0.0
                taste = np.random.default_rng(derive_seed(model)).normal(0, 0.08, N_USERS)
                frame["ndcg@10"] = np.clip(level + gain + taste + rng.normal(0, 0.03, N_USERS),
                                           0, 1)  # a user's affinity to the model, seed noise
                frame["recall@10"] = np.clip(level + 0.1 + rng.normal(0, 0.08, N_USERS), 0, 1)
                frame["ndcg_r4@10"] = np.clip(level + rng.normal(0, 0.08, N_USERS), 0, 1)
                frame.loc[:4, "ndcg_r4@10"] = np.nan  # users without a rating >= 4
                if model in FAKE_RMSE:
                    frame["rmse"] = FAKE_RMSE[model] + rng.normal(0, 0.05, N_USERS)
                    frame["n_ratings"] = 1 + np.arange(N_USERS) % 7
                if seed == 1:  # a user this run did not evaluate
                    frame = frame.iloc[1:]
                frame.to_parquet(folder / "per_user.parquet", index=False)
                metrics = {m: float(frame[m].mean()) for m in frame.columns
                           if m not in ("user", "n_ratings")}
                (folder / "metrics.json").write_text(json.dumps({"metrics": metrics,
                                                                 "seed": seed}))
                per_user_files.append(folder / "per_user.parquet")
                metrics_files.append(folder / "metrics.json")
    return per_user_files, metrics_files


OUT_NAMES = tuple(TABLES)


def test_pipeline_writes_tidy_tables_and_finds_the_best_model(tmp_path):
    per_user, metrics = _write_fake_runs(tmp_path)
    outputs = {name: tmp_path / "results/stats" / f"{name}.csv" for name in OUT_NAMES}
    compute_stats(per_user, metrics, outputs, {"bootstrap": 500, "permutations": 2000})
    tables = {name: pd.read_csv(path, keep_default_na=False, na_values=[""])
              for name, path in outputs.items()}

    pairwise = tables["pairwise"]
    assert list(pairwise.columns) == list(PAIRWISE_COLUMNS)
    best = pairwise[pairwise["comparison"] == "vs_best"].groupby("metric")["other"].unique()
    assert {m: list(v) for m, v in best.items()} == {
        "ndcg@10": ["bpr"], "ndcg_r4@10": ["bpr"], "recall@10": ["bpr"], "rmse": ["als"],
    }
    ndcg = pairwise[pairwise["metric"] == "ndcg@10"].set_index(["comparison", "model"])
    assert set(ndcg.loc["vs_best"].index) == {"als", "popularity"}
    assert set(ndcg.loc["vs_reference"].index) == {"als", "bpr"}
    assert len(ndcg.loc["all_pairs"]) == 3 and (ndcg.loc["all_pairs", "family_size"] == 3).all()
    # user 1 is missing in seed 1: compared users are those evaluated in every seed
    assert ndcg["significant"].all() and (ndcg["n_users"] == N_USERS - 1).all()
    assert (ndcg["n_seeds"] == 2).all()
    assert (ndcg.loc["vs_best", "decision"] == "worse").all()
    assert (ndcg.loc["vs_reference", "decision"] == "better").all()
    assert ndcg.loc[("vs_reference", "bpr"), "diff_mean"] == pytest.approx(0.30, abs=0.05)
    # vs_best rows are the all-pairs rows (same p_adj), oriented model vs best
    pair = ndcg.loc["all_pairs"].set_index("other", append=True).loc[("als", "bpr")]
    assert pair["diff_mean"] < 0 and pair["decision"] == "worse"
    assert ndcg.loc[("vs_best", "als"), "p_adj"] == pair["p_adj"]
    assert ndcg.loc[("vs_best", "popularity"), "p_adj"] == pytest.approx(
        pairwise.query("comparison == 'all_pairs' and metric == 'ndcg@10' and model == 'bpr'"
                       " and other == 'popularity'")["p_adj"].iloc[0])
    assert ndcg.loc[("vs_best", "popularity"), "diff_mean"] < 0
    rmse = pairwise[pairwise["metric"] == "rmse"]
    assert sorted(rmse["comparison"]) == ["all_pairs", "vs_best"]  # popularity has no rmse
    vs = rmse[rmse["comparison"] == "vs_best"].iloc[0]
    assert vs["model"] == "bpr" and vs["diff_mean"] > 0 and not vs["higher_is_better"]
    assert vs["decision"] == "worse"
    r4 = pairwise[(pairwise["metric"] == "ndcg_r4@10") & (pairwise["comparison"] == "vs_best")]
    assert (r4["n_users"] == N_USERS - 5).all()

    friedman_table = tables["friedman"]
    assert list(friedman_table["metric"]) == ["ndcg@10", "ndcg_r4@10", "recall@10"]
    assert (friedman_table["n_models"] == 3).all() and (friedman_table["p_value"] < 1e-6).all()
    ranks = tables["ranks"][tables["ranks"]["metric"] == "ndcg@10"].set_index("model")
    assert ranks["avg_rank"].idxmin() == "bpr" and ranks["avg_rank"].idxmax() == "popularity"
    # bars join models the all-pairs tests do not separate (2 seeds: the crossed test's df is
    # small, so a clear per-user difference may not be significant)
    pairs = pairwise[pairwise["comparison"] == "all_pairs"]
    for (metric, _), clique in tables["cd_cliques"].groupby(["metric", "clique"]):
        members = set(clique["model"])
        inside = pairs[(pairs["metric"] == metric) & pairs["model"].isin(members)
                       & pairs["other"].isin(members)]
        assert len(inside) and not inside["significant"].any()
    assert "ndcg@10" not in set(tables["cd_cliques"]["metric"])

    seed_level = tables["seed_level"][tables["seed_level"]["metric"] == "ndcg@10"]
    assert len(seed_level) == 3 + 2  # each model, and each non-best model minus the best
    diff = seed_level[seed_level["other"] == "bpr"].set_index("model")
    assert diff.loc["popularity", "ci_high"] < 0 and (diff["n_seeds"] == 2).all()
    assert (seed_level["var_user"] >= 0).all() and (seed_level["n_users"] == N_USERS - 1).all()

    power = tables["power"].set_index("metric")
    assert power.loc["ndcg@10", "n_users"] == N_USERS - 1
    assert power.loc["ndcg@10", "mde_dz"] == pytest.approx(min_detectable_dz(39, 0.05, 0.8))
    assert power.loc["ndcg@10", "mde_dz_worst"] > power.loc["ndcg@10", "mde_dz"]

    before = {name: path.read_bytes() for name, path in outputs.items()}
    compute_stats(list(reversed(per_user)), metrics, outputs,
                  {"bootstrap": 500, "permutations": 2000})
    assert {name: path.read_bytes() for name, path in outputs.items()} == before


def _write_error_runs(root: Path, seeds=(1, 2, 3), n_users: int = 30) -> tuple[list, list]:
    """Runs with per-user rmse/mae/ndcg@10 from raw test errors, and metrics.json pooled over
    ratings from the same errors; ``basic_retrieval`` duplicates ``collaborative`` up to noise."""
    from recrepro.core.io import write_json, write_parquet

    scales = {"collaborative": 1.0, "basic_retrieval": 1.0, "biased_mf": 0.9}
    per_user_files, metrics_files = [], []
    for model, scale in scales.items():
        for seed in seeds:
            rng = np.random.default_rng(derive_seed("errors", model, seed))
            split = np.random.default_rng(seed)  # the seed's split: shared by the models
            n = split.integers(1, 25, n_users)
            errors = [rng.normal(0, scale * (0.7 + u % 4 / 4), k) for u, k in enumerate(n)]
            folder = root / "results/runs/ml-100k/random" / model / "tuned" / f"seed{seed}"
            frame = pd.DataFrame({
                "user": np.arange(1, n_users + 1), "n_ratings": n.astype(float),
                "rmse": [math.sqrt(np.mean(e**2)) for e in errors],
                "mae": [np.mean(np.abs(e)) for e in errors],
                "ndcg@10": np.clip(0.3 + split.normal(0, 0.1, n_users)
                                   + rng.normal(0, 0.05, n_users), 0, 1),
            })
            every = np.concatenate(errors)
            metrics = {"rmse": math.sqrt(np.mean(every**2)), "mae": float(np.mean(np.abs(every))),
                       "ndcg@10": float(frame["ndcg@10"].mean())}
            write_parquet(folder / "per_user.parquet", frame)
            write_json(folder / "metrics.json", {"metrics": metrics, "seed": seed})
            per_user_files.append(folder / "per_user.parquet")
            metrics_files.append(folder / "metrics.json")
    return per_user_files, metrics_files


def test_differences_and_seed_level_means_are_the_tables_values(tmp_path):
    per_user, metrics = _write_error_runs(tmp_path)
    tables = compute_tables(per_user, metrics, {"bootstrap": 0, "permutations": 500,
                                                "calibration_draws": 500})
    summary = seed_summary(load_metrics(metrics)).set_index(["metric", "model"])["mean"]
    pairs = tables["pairwise"].query("comparison == 'all_pairs'")
    for metric in ("rmse", "mae", "ndcg@10"):
        for row in pairs[pairs["metric"] == metric].itertuples():
            expected = summary[(metric, row.model)] - summary[(metric, row.other)]
            assert row.diff_mean == pytest.approx(expected, rel=1e-9, abs=1e-12)
            assert row.ci_low < row.diff_mean < row.ci_high and row.df > 0 and row.se > 0
        level = tables["seed_level"].query("metric == @metric and other == ''")
        assert len(level) == 3
        for row in level.itertuples():
            assert row.mean == pytest.approx(summary[(metric, row.model)], rel=1e-12)
            assert row.ci_low < row.mean < row.ci_high


def test_agreement_calibration_and_aa_control_tables(tmp_path):
    per_user, metrics = _write_error_runs(tmp_path)
    tables = compute_tables(per_user, metrics, {"bootstrap": 0, "permutations": 500,
                                                "calibration_draws": 500})
    pairwise = tables["pairwise"]
    assert not (pairwise["p_users"] <= 2 / 501 + 1e-12).any()  # no floor
    vs_best = pairwise[pairwise["comparison"] == "vs_best"]
    agreement = tables["agreement"].set_index("metric")
    for metric, rows in vs_best.groupby("metric"):
        primary, ttest = rows["p_adj"] < 0.05, rows["p_ttest_adj"] < 0.05
        got = agreement.loc[metric]
        assert (got["n_tested"], got["significant"], got["significant_ttest"]) == (
            len(rows), primary.sum(), ttest.sum())
        assert got["significant_both"] == (primary & ttest).sum()
        assert got["disagreements"] == (primary != ttest).sum()
    calibration = tables["calibration"]
    assert set(calibration["metric"]) == {"ndcg@10"}
    assert list(calibration["source"]) == ["aa_pair", "median_pairs"]
    assert calibration["coverage"].between(0.85, 1).all() and (calibration["draws"] == 500).all()
    aa = tables["aa_control"].set_index("metric")
    assert set(aa.index) == {"rmse", "mae", "ndcg@10"}
    assert (aa["model"] == "collaborative").all() and (aa["other"] == "basic_retrieval").all()
    assert (aa["n_tested"] == 3).all() and (aa["n_fired"] == aa["significant"].sum()).all()
    row = pairwise.query("comparison == 'all_pairs' and metric == 'rmse' and "
                         "model == 'basic_retrieval' and other == 'collaborative'").iloc[0]
    assert aa.loc["rmse", "diff_mean"] == pytest.approx(-row["diff_mean"])
    assert aa.loc["rmse", "p_adj"] == row["p_adj"] and aa.loc["rmse", "family_size"] == 3
    none = compute_tables(per_user, metrics, {"bootstrap": 0, "permutations": 500,
                                              "aa_pair": ["x", "y"], "metrics": ["rmse"]})
    assert none["aa_control"].empty and list(none["aa_control"].columns) == list(
        TABLES["aa_control"][0])


def test_pipeline_refuses_to_pair_different_seed_sets(tmp_path):
    per_user, metrics = _write_fake_runs(tmp_path, seeds=(0, 1, 2), skip=("als", 2))
    pairwise = compute_tables(per_user, metrics, {"bootstrap": 0, "metrics": ["ndcg@10"],
                                                  "permutations": 500})["pairwise"]
    als = pairwise[(pairwise["model"] == "als") | (pairwise["other"] == "als")]
    assert (als["decision"] == "n/a").all() and als["p_adj"].isna().all()
    assert als["note"].str.contains("seed sets differ").all()
    others = pairwise[(pairwise["model"] != "als") & (pairwise["other"] != "als")]
    assert (others["decision"] != "n/a").all()


def test_tuned_vs_faithful_is_one_family_per_metric(tmp_path):
    per_user, metrics = _write_fake_runs(tmp_path, seeds=(0,), settings=("faithful", "tuned"))
    pairwise = compute_tables(per_user, metrics, {"bootstrap": 0, "metrics": ["ndcg@10"],
                                                  "permutations": 2000})["pairwise"]
    rows = pairwise[pairwise["comparison"] == "tuned_vs_faithful"].set_index("model")
    assert set(rows.index) == {"als", "bpr", "popularity"}
    assert (rows["other"] == rows.index).all() and set(rows["other_setting"]) == {"faithful"}
    assert (rows["setting"] == "tuned").all() and (rows["family_size"] == 3).all()
    assert rows.loc["als", "decision"] == "better"
    assert rows.loc["als", "diff_mean"] == pytest.approx(0.1, abs=0.04)
    expected = multipletests(rows["p_raw"], method="holm")[1]
    assert list(rows["p_adj"]) == pytest.approx(list(expected))


def test_pipeline_options(tmp_path):
    per_user, metrics = _write_fake_runs(tmp_path, seeds=(0,))
    tables = compute_tables(
        per_user, metrics,
        {"test": "ttest", "correction": "fdr_bh", "reference": "none", "metrics": ["ndcg@10"]},
    )
    pairwise = tables["pairwise"]
    assert set(pairwise["comparison"]) == {"all_pairs", "vs_best"}
    assert set(pairwise["metric"]) == {"ndcg@10"}
    assert set(pairwise["test"]) == {"ttest"} and set(pairwise["effect_name"]) == {"cohens_dz"}
    with pytest.raises(ConfigError, match="hit@10"):
        compute_tables(per_user, metrics, {"metrics": ["hit@10"]})


def test_compute_stats_script_runs_with_a_snakemake_object(tmp_path):
    per_user, metrics = _write_fake_runs(tmp_path, seeds=(0,))
    outputs = {name: str(tmp_path / "stats" / f"{name}.csv") for name in OUT_NAMES}
    smk = SimpleNamespace(
        input=SimpleNamespace(per_user=list(map(str, per_user)), metrics=list(map(str, metrics))),
        output=SimpleNamespace(**outputs),
        params=SimpleNamespace(stats={"bootstrap": 100, "permutations": 500}),
        log=[str(tmp_path / "logs/compute_stats.log")],
    )
    (tmp_path / "logs").mkdir()
    runpy.run_path(str(ROOT / "workflow/scripts/compute_stats.py"), init_globals={"snakemake": smk})
    assert all(Path(path).is_file() for path in outputs.values())
    assert "wrote pairwise" in (tmp_path / "logs/compute_stats.log").read_text()


def test_stats_rule_runs_in_snakemake(tmp_path):
    _write_fake_runs(tmp_path, seeds=(0,))
    shutil.copytree(ROOT / "workflow/rules", tmp_path / "workflow/rules")
    shutil.copytree(ROOT / "workflow/scripts", tmp_path / "workflow/scripts")
    (tmp_path / "workflow/Snakefile").write_text(
        "from recrepro.core.runs import RunKey\n"
        "config['stats'] = {'bootstrap': 100, 'permutations': 500}\n"
        f"RUNS = [RunKey('ml-100k', 'random', m, 'faithful', 0) for m in {sorted(FAKE_NDCG)}]\n"
        "def run_files(name):\n"
        "    return [f'{k.path()}/{name}' for k in RUNS]\n"
        "include: 'rules/stats.smk'\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "1", "compute_stats"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "results/stats/pairwise.csv").is_file()
    assert (tmp_path / "results/benchmarks/compute_stats.tsv").is_file()
    assert (tmp_path / "results/logs/compute_stats.log").is_file()
