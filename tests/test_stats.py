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

from recrepro.errors import ConfigError, DataError
from recrepro.evaluation import catalogue
from recrepro.evaluation.evaluate import higher_is_better as optimisation_direction
from recrepro.report.style import higher_is_better as table_direction
from recrepro.rng import derive_seed
from recrepro.stats import StatsConfig, compute_stats, compute_tables, higher_is_better
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
from recrepro.summarize import summarize

ROOT = Path(__file__).resolve().parents[1]
GROUP = {"dataset": "ml-100k", "protocol": "random", "setting": "faithful", "metric": "ndcg@10"}
SEEDS = frozenset({1, 2, 3})


def _sides(matrix: pd.DataFrame, seeds: dict[str, frozenset[int]] | None = None,
           weights: pd.DataFrame | None = None) -> dict[str, Side]:
    return {
        m: Side(matrix[m], weights[m] if weights is not None else pd.Series(1.0, matrix.index),
                (seeds or {}).get(m, SEEDS), "faithful")
        for m in matrix.columns
    }


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


@pytest.mark.parametrize("test", ["wilcoxon", "ttest", "signflip"])
def test_identical_models_give_p_one_without_warning(test):
    a = np.random.default_rng(1).random(40)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = paired_test(a, a.copy(), test)
        rows = compare_family(
            pd.DataFrame({"x": a, "y": a.copy()}), "y", "vs_best", GROUP,
            StatsConfig(test=test, bootstrap=200),
        )
    assert result.p_value == 1.0
    assert result.effect == 0.0
    (row,) = rows
    assert (row["p_raw"], row["p_adj"], row["effect"]) == (1.0, 1.0, 0.0)
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
    # never below the Monte Carlo floor (1 + 0) / (1 + R), doubled
    assert signflip_pvalue(np.full(300, 0.5), 999, seed=0) == pytest.approx(2 / 1000)


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
    for test in ("signflip", "ttest"):
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
    (row,) = compare_family(matrix, "y", "vs_best", rmse, StatsConfig(bootstrap=0))
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


def test_rating_errors_are_tested_pooled_over_ratings():
    rng = np.random.default_rng(9)
    n_ratings = pd.Series(rng.integers(1, 30, 50).astype(float))
    errors = {m: [rng.normal(0, s, int(k)) for k in n_ratings] for m, s in (("x", 0.9),
                                                                             ("y", 1.0))}
    per_user = {m: pd.Series([math.sqrt(np.mean(e**2)) for e in errs]) for m, errs in
                errors.items()}
    pooled = {m: math.sqrt(np.mean(np.concatenate(errs) ** 2)) for m, errs in errors.items()}
    units = pd.DataFrame({m: v**2 * n_ratings for m, v in per_user.items()})
    weights = pd.DataFrame({"x": n_ratings, "y": n_ratings})
    (row,) = compare_family(units, "y", "vs_best", dict(GROUP, metric="rmse"),
                            StatsConfig(bootstrap=200), weights=weights)
    assert row["diff_mean"] == pytest.approx(pooled["x"] - pooled["y"], rel=1e-10)
    assert row["ci_low"] <= row["diff_mean"] <= row["ci_high"]
    # the test's units: each user's squared errors over the mean ratings per user
    diff = (units["x"] - units["y"]) / n_ratings.mean()
    assert row["statistic"] == pytest.approx(diff.mean())
    assert diff.mean() == pytest.approx(pooled["x"] ** 2 - pooled["y"] ** 2)


# --- effect-size CIs ----------------------------------------------------------------------------


@pytest.mark.parametrize("test", ["wilcoxon", "signflip"])
def test_effect_ci_is_the_percentile_of_the_resampled_effect(test):
    a, b = _pair(60, 0.02, seed=4, ties=True)
    ones = np.ones(60)
    low, high, e_low, e_high = pair_bootstrap("ndcg@10", a, b, ones, test, 400, seed=8)
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
     {"power": 1.0}],
)
def test_bad_stats_config_raises(block):
    with pytest.raises(ConfigError, match="stats"):
        StatsConfig.from_mapping(block)


def test_config_defaults_and_direction():
    config = StatsConfig.from_mapping(None)
    assert (config.test, config.correction, config.alpha) == ("signflip", "holm", 0.05)
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
                frame["ndcg@10"] = np.clip(level + gain + rng.normal(0, 0.08, N_USERS), 0, 1)
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
    assert tables["cd_cliques"].empty  # every pair differs: no bars

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
        "from recrepro.runs import RunKey\n"
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
