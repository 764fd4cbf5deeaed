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
from recrepro.rng import derive_seed
from recrepro.stats import StatsConfig, compute_stats, compute_tables, higher_is_better
from recrepro.stats.friedman import (
    average_ranks,
    critical_difference,
    friedman,
    nemenyi_pvalues,
    nemenyi_q,
)
from recrepro.stats.paired import (
    PAIRWISE_COLUMNS,
    bootstrap_ci,
    cohens_dz,
    compare_family,
    paired_test,
    rank_biserial,
    signed_rank_sums,
)
from recrepro.stats.seeds import seed_summary

ROOT = Path(__file__).resolve().parents[1]
GROUP = {"dataset": "ml-100k", "protocol": "random", "setting": "faithful", "metric": "ndcg@10"}


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


@pytest.mark.parametrize("test", ["wilcoxon", "ttest"])
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
    assert row["significant"] is False


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


def test_nemenyi_critical_difference_textbook_case():
    # Demšar (2006), Table 5(a): q_0.05 = 2.569 for k = 4; his example (k=4, N=14): CD = 1.25
    assert nemenyi_q(4, 0.05) == pytest.approx(2.569, abs=5e-4)
    assert nemenyi_q(2, 0.05) == pytest.approx(1.960, abs=5e-4)
    assert nemenyi_q(4, 0.10) == pytest.approx(2.291, abs=5e-4)
    cd = critical_difference(4, 14, 0.05)
    assert cd == pytest.approx(2.569 * math.sqrt(4 * 5 / (6 * 14)), abs=1e-3)
    assert round(cd, 2) == 1.25


def test_nemenyi_pvalues_agree_with_the_critical_difference():
    cd = critical_difference(4, 14, 0.05)
    ranks = np.array([1.0, 1.0 + cd - 1e-3, 1.0 + cd + 1e-3, 1.0])
    p = nemenyi_pvalues(ranks, 14)
    assert p == pytest.approx(p.T)
    assert p[0, 1] > 0.05 > p[0, 2]
    assert p[0, 1] == pytest.approx(0.05, abs=1e-3) and p[0, 3] == pytest.approx(1.0)


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


# --- configuration ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "block",
    [{"test": "sign"}, {"correction": "bonferoni"}, {"alpha": 1.5}, {"bootstrap": -1},
     {"bootstrap": 2.5}, {"metrics": []}, {"tests": "ttest"}],
)
def test_bad_stats_config_raises(block):
    with pytest.raises(ConfigError, match="stats"):
        StatsConfig.from_mapping(block)


def test_config_defaults_and_direction():
    config = StatsConfig.from_mapping(None)
    assert (config.test, config.correction, config.alpha) == ("wilcoxon", "holm", 0.05)
    assert (config.reference, config.bootstrap, config.metrics) == ("popularity", 2000, None)
    assert StatsConfig.from_mapping({"metrics": ["rmse"]}).metrics == ("rmse",)
    assert StatsConfig.from_mapping({"bootstrap": 500.0}).bootstrap == 500
    assert higher_is_better("ndcg@10") and not higher_is_better("rmse")


# --- pipeline on a fake results folder ---------------------------------------------------------

#: Mean per-user ndcg@10 of each fake model; als and bpr also predict ratings.
FAKE_NDCG = {"als": 0.45, "bpr": 0.60, "popularity": 0.30}
FAKE_RMSE = {"als": 0.90, "bpr": 1.10}
N_USERS = 40


def _write_fake_runs(root: Path, seeds=(0, 1)) -> tuple[list[Path], list[Path]]:
    per_user_files, metrics_files = [], []
    for model, level in FAKE_NDCG.items():
        for seed in seeds:
            rng = np.random.default_rng(derive_seed(model, seed))
            folder = root / "results/runs/ml-100k/random" / model / "faithful" / f"seed{seed}"
            folder.mkdir(parents=True)
            frame = pd.DataFrame({"user": np.arange(1, N_USERS + 1)})
            frame["ndcg@10"] = np.clip(level + rng.normal(0, 0.08, N_USERS), 0, 1)
            frame["recall@10"] = np.clip(level + 0.1 + rng.normal(0, 0.08, N_USERS), 0, 1)
            if model in FAKE_RMSE:
                frame["rmse"] = FAKE_RMSE[model] + rng.normal(0, 0.05, N_USERS)
            if seed == 1:  # a user this run did not evaluate
                frame = frame.iloc[1:]
            frame.to_parquet(folder / "per_user.parquet", index=False)
            metrics = {m: float(frame[m].mean()) for m in frame.columns if m != "user"}
            (folder / "metrics.json").write_text(json.dumps({"metrics": metrics, "seed": seed}))
            per_user_files.append(folder / "per_user.parquet")
            metrics_files.append(folder / "metrics.json")
    return per_user_files, metrics_files


OUT_NAMES = ("seed_summary", "pairwise", "friedman", "ranks", "nemenyi")


def test_pipeline_writes_tidy_tables_and_finds_the_best_model(tmp_path):
    per_user, metrics = _write_fake_runs(tmp_path)
    outputs = {name: tmp_path / "results/stats" / f"{name}.csv" for name in OUT_NAMES}
    compute_stats(per_user, metrics, outputs, {"bootstrap": 500})
    tables = {name: pd.read_csv(path) for name, path in outputs.items()}

    summary = tables["seed_summary"]
    assert list(summary.columns) == [
        "dataset", "protocol", "model", "setting", "metric", "mean", "std", "ci_low", "ci_high",
        "n_seeds",
    ]
    assert len(summary) == 3 * 2 + 2 and set(summary["n_seeds"]) == {2}

    pairwise = tables["pairwise"]
    assert list(pairwise.columns) == list(PAIRWISE_COLUMNS)
    best = pairwise[pairwise["comparison"] == "vs_best"].groupby("metric")["other"].unique()
    assert {m: list(v) for m, v in best.items()} == {
        "ndcg@10": ["bpr"], "recall@10": ["bpr"], "rmse": ["als"],
    }
    ndcg = pairwise[pairwise["metric"] == "ndcg@10"].set_index(["comparison", "model"])
    assert set(ndcg.loc["vs_best"].index) == {"als", "popularity"}
    assert set(ndcg.loc["vs_reference"].index) == {"als", "bpr"}
    assert ndcg["significant"].all() and (ndcg["n_users"] == N_USERS).all()
    assert ndcg.loc[("vs_reference", "bpr"), "diff_mean"] == pytest.approx(0.30, abs=0.05)
    rmse = pairwise[pairwise["metric"] == "rmse"]
    assert list(rmse["comparison"]) == ["vs_best"]  # popularity has no rmse: no reference family
    assert rmse.iloc[0]["diff_mean"] > 0 and not rmse.iloc[0]["higher_is_better"]

    friedman_table = tables["friedman"]
    assert list(friedman_table["metric"]) == ["ndcg@10", "recall@10"]  # rmse: only 2 models
    assert (friedman_table["n_models"] == 3).all() and (friedman_table["p_value"] < 1e-6).all()
    ranks = tables["ranks"][tables["ranks"]["metric"] == "ndcg@10"].set_index("model")
    assert ranks["avg_rank"].idxmin() == "bpr" and ranks["avg_rank"].idxmax() == "popularity"
    assert list(tables["nemenyi"].columns[:6]) == [
        "dataset", "protocol", "setting", "metric", "model", "other",
    ]
    assert len(tables["nemenyi"]) == 2 * 3

    before = {name: path.read_bytes() for name, path in outputs.items()}
    compute_stats(list(reversed(per_user)), metrics, outputs, {"bootstrap": 500})
    assert {name: path.read_bytes() for name, path in outputs.items()} == before


def test_pipeline_options(tmp_path):
    per_user, metrics = _write_fake_runs(tmp_path, seeds=(0,))
    tables = compute_tables(
        per_user, metrics,
        {"test": "ttest", "correction": "fdr_bh", "reference": "none", "metrics": ["ndcg@10"]},
    )
    pairwise = tables["pairwise"]
    assert set(pairwise["comparison"]) == {"vs_best"} and set(pairwise["metric"]) == {"ndcg@10"}
    assert set(pairwise["test"]) == {"ttest"} and set(pairwise["effect_name"]) == {"cohens_dz"}
    with pytest.raises(ConfigError, match="hit@10"):
        compute_tables(per_user, metrics, {"metrics": ["hit@10"]})


def test_compute_stats_script_runs_with_a_snakemake_object(tmp_path):
    per_user, metrics = _write_fake_runs(tmp_path, seeds=(0,))
    outputs = {name: str(tmp_path / "stats" / f"{name}.csv") for name in OUT_NAMES}
    smk = SimpleNamespace(
        input=SimpleNamespace(per_user=list(map(str, per_user)), metrics=list(map(str, metrics))),
        output=SimpleNamespace(**outputs), params=SimpleNamespace(stats={"bootstrap": 100}),
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
        "config['stats'] = {'bootstrap': 100}\n"
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
