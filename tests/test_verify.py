"""`verify`: a rerun's summary against reported/ (per-model rules and conclusions), and `publish_reported`."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from conftest import run_snakemake, workflow_copy
from recrepro.core.io import write_csv, write_json, write_parquet
from recrepro.core.rng import derive_seed
from recrepro.core.runs import RunKey
from recrepro.stats import StatsConfig, compute_stats
from recrepro.stats.collect import load_per_user
from recrepro.stats.pipeline import TABLES
from recrepro.stats.published import publish_per_user, read_published
from recrepro.study.summarize import collect_metrics, summarize
from recrepro.tools.verify import (
    Tolerances,
    check_conclusions,
    compare,
    environment_snapshot,
    failure_message,
    first_difference,
    publish,
    warning_message,
)

#: The margin of two_tower's means in _summary(): t(0.995, 2) * sd 0.01 * sqrt(1/3 + 1/3).
MARGIN = stats.t.ppf(0.995, 2) * 0.01 * np.sqrt(2 / 3)  # 0.0810


def _summary(two_tower_sd: float = 0.01) -> pd.DataFrame:
    """A small summary.csv as `recrepro summarize` writes it: two exact models, one stochastic."""
    rows = [
        ("ml-100k", "random", model, "faithful", metric, value, sd, 3)
        for model, base, sd in (("ease", 0.3, 0), ("popularity", 0.1, 0), ("two_tower", 0.2, two_tower_sd))
        for metric, value in (("ndcg@10", base), ("recall@10", base / 2), ("fit_seconds", 10 * base))
    ]
    columns = ["dataset", "protocol", "model", "setting", "metric", "mean", "std", "n_seeds"]
    return pd.DataFrame(rows, columns=columns)


def _pairwise(two_tower: str = "no difference") -> pd.DataFrame:
    """Reported vs_best tests on ndcg@10: ease is the best, popularity significantly worse."""
    rows = [
        ("ml-100k", "random", "faithful", "ndcg@10", "vs_best", "popularity", "ease", "worse"),
        ("ml-100k", "random", "faithful", "ndcg@10", "vs_best", "two_tower", "ease", two_tower),
        ("ml-100k", "random", "faithful", "ndcg@10", "all_pairs", "popularity", "two_tower", "worse"),
    ]
    columns = ["dataset", "protocol", "setting", "metric", "comparison", "model", "other", "decision"]
    return pd.DataFrame(rows, columns=columns)


def _with(frame: pd.DataFrame, model: str, metric: str, value: float, column: str = "mean") -> pd.DataFrame:
    frame = frame.copy()
    frame.loc[(frame["model"] == model) & (frame["metric"] == metric), column] = value
    return frame


def _vs_best(pairwise: pd.DataFrame) -> pd.DataFrame:
    return pairwise[pairwise["comparison"] == "vs_best"]


def _status(table: pd.DataFrame) -> dict[tuple[str, str], str]:
    bad = table[~table["ok"]]
    return dict(zip(zip(bad["model"], bad["metric"], strict=True), bad["status"], strict=True))


def test_identical_summaries_match() -> None:
    table = compare(_summary(), _summary())
    assert table["ok"].all() and (table["diff"] == 0).all()
    assert len(table) == 6  # fit_seconds is never compared
    assert failure_message(table, "reported/summary.csv", Tolerances()) is None
    assert warning_message(table, Tolerances()) is None


def test_each_model_gets_the_rule_its_class_declares_and_the_table_says_why() -> None:
    table = compare(_summary(), _summary()).drop_duplicates("model").set_index("model")
    assert table["rule"].to_dict() == {"ease": "exact", "popularity": "exact", "two_tower": "margin"}
    assert "ease.EASE.exact_across_cpus = True" in table.loc["ease", "why"]
    assert "retrieval.TwoTower.exact_across_cpus = False" in table.loc["two_tower", "why"]
    assert table.loc["two_tower", "limit"] == pytest.approx(MARGIN)


def test_every_model_declares_exactness_in_its_own_class_without_importing_tensorflow() -> None:
    code = (
        "import sys\n"
        "from recrepro.models.registry import available_models, get_model_class\n"
        "classes = {m: get_model_class(m) for m in available_models()}\n"
        "assert all('exact_across_cpus' in vars(c) for c in classes.values()), classes\n"
        "print(sorted(m for m, c in classes.items() if c.exact_across_cpus))\n"
        "print('tensorflow' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "['biased_mf', 'bpr', 'ease', 'global_mean', 'ials', 'itemknn', 'popularity', 'random']", "False"
    ]  # fmt: skip


@pytest.mark.parametrize("relative", [1e-6, -1e-8])
def test_any_change_of_an_exact_model_fails(relative: float) -> None:
    current = _with(_summary(), "ease", "ndcg@10", 0.3 * (1 + relative))
    table = compare(current, _summary())
    assert _status(table) == {("ease", "ndcg@10"): "differs"}
    assert failure_message(table, "reported/summary.csv", Tolerances()) == (
        "1 of 6 numbers differ from reported/summary.csv beyond the exact rule (atol=1e-12, rtol=1e-09) "
        "or are missing"
    )


def test_an_exact_model_matches_to_about_1e9_relative() -> None:
    current = _with(_summary(), "ease", "ndcg@10", 0.3 * (1 + 1e-10))
    assert compare(current, _summary())["ok"].all()


def test_a_stochastic_model_within_its_margin_passes() -> None:
    current = _with(_summary(), "two_tower", "ndcg@10", 0.2 - 0.99 * MARGIN)
    current = _with(current, "two_tower", "fit_seconds", 99.0)  # timings are ignored
    table = compare(current, _summary())
    assert table["ok"].all()
    assert failure_message(table, "r.csv", Tolerances()) is None
    assert warning_message(table, Tolerances()) is None


def test_a_stochastic_model_beyond_its_margin_warns_and_does_not_fail() -> None:
    current = _with(_summary(), "two_tower", "ndcg@10", 0.2 + 1.01 * MARGIN)
    table = compare(current, _summary())
    assert _status(table) == {("two_tower", "ndcg@10"): "outside margin"}
    assert failure_message(table, "r.csv", Tolerances()) is None
    assert warning_message(table, Tolerances()) == (
        "1 of 2 numbers of non-exact models are outside their margin "
        "(about 0 expected by chance at alpha=0.01)"
    )


def test_the_margin_uses_both_seed_counts_alpha_and_the_sd_floor() -> None:
    t = stats.t.ppf(0.975, 2)
    current = _with(_summary(), "two_tower", "ndcg@10", 5, column="n_seeds")
    limit = compare(current, _summary(), Tolerances(alpha=0.05)).set_index(["model", "metric"])["limit"]
    assert limit[("two_tower", "ndcg@10")] == pytest.approx(t * 0.01 * np.sqrt(1 / 3 + 1 / 5))
    zero_sd = _summary(two_tower_sd=0.0)  # a stochastic model whose seeds agreed: sd_floor * |mean|
    limit = compare(zero_sd, zero_sd).set_index(["model", "metric"])["limit"]
    floor = stats.t.ppf(0.995, 2) * 1e-3 * 0.2 * np.sqrt(2 / 3)
    assert limit[("two_tower", "ndcg@10")] == pytest.approx(floor)
    assert limit[("ease", "ndcg@10")] == pytest.approx(1e-12 + 1e-9 * 0.3)


def test_all_exact_holds_every_model_to_the_exact_rule() -> None:
    current = _with(_summary(), "two_tower", "ndcg@10", 0.2 + MARGIN / 2)
    table = compare(current, _summary(), Tolerances(all_exact=True))
    assert set(table["rule"]) == {"exact"} and table["why"].str.startswith("--all-exact").all()
    assert _status(table) == {("two_tower", "ndcg@10"): "differs"}


def test_the_rule_constants_default_to_the_schema() -> None:
    from recrepro.core.config import block_defaults

    schema = block_defaults("verify")
    assert Tolerances() == Tolerances.from_config(None)
    assert (Tolerances().atol, Tolerances().rtol, Tolerances().alpha, Tolerances().sd_floor) == (
        schema["atol"], schema["rtol"], schema["alpha"], schema["sd_floor"])  # fmt: skip


def test_missing_rows_on_either_side_fail() -> None:
    summary = _summary()
    table = compare(summary.iloc[1:], summary.iloc[:-2])
    assert _status(table) == {
        ("ease", "ndcg@10"): "missing in current",
        ("two_tower", "recall@10"): "missing in reported",
    }
    assert np.isnan(table.set_index(["model", "metric"]).loc[("ease", "ndcg@10"), "current"])
    assert failure_message(table, "r.csv", Tolerances()).startswith("2 of 6 numbers differ")


def test_nan_means_match_each_other_only() -> None:
    nan = _with(_summary(), "two_tower", "recall@10", float("nan"))
    assert compare(nan, nan)["ok"].all()
    assert _status(compare(nan, _summary())) == {("two_tower", "recall@10"): "differs"}


def test_per_model_and_per_metric_overrides_loosen_the_exact_rule() -> None:
    tolerances = Tolerances.from_config(
        {"models": {"ease": {"rtol": 0.1}}, "metrics": {"ndcg@10": {"atol": 0.01}}}, atol=1e-9
    )
    assert tolerances.for_row("ease", "ndcg@10") == (0.01, 0.1)
    assert tolerances.for_row("ease", "recall@10") == (1e-9, 0.1)
    assert tolerances.for_row("popularity", "recall@10") == (1e-9, 1e-9)
    current = _with(_summary(), "ease", "recall@10", 0.15 * 1.05)
    current = _with(current, "popularity", "ndcg@10", 0.105)
    assert compare(current, _summary(), tolerances)["ok"].all()
    assert _status(compare(current, _summary())) == {
        ("ease", "recall@10"): "differs", ("popularity", "ndcg@10"): "differs"
    }  # fmt: skip


def test_conclusions_hold_when_the_rerun_best_is_not_called_worse() -> None:
    wide = _summary(two_tower_sd=0.1)  # two_tower's margin: 0.81
    current = _with(wide, "two_tower", "ndcg@10", 0.35)  # the rerun's best, "no difference" reported
    conclusions = check_conclusions(current, _vs_best(_pairwise()), "ndcg@10")
    assert conclusions[["reported_best", "rerun_best", "rerun_best_decision", "status"]].values.tolist() == [
        ["ease", "two_tower", "no difference", "holds"]
    ]
    table = compare(current, wide)
    assert table["ok"].all() and failure_message(table, "r.csv", Tolerances(), conclusions) is None


def test_a_flipped_conclusion_fails_even_with_every_number_within_its_margin() -> None:
    wide = _summary(two_tower_sd=0.1)
    current = _with(wide, "two_tower", "ndcg@10", 0.35)
    conclusions = check_conclusions(current, _vs_best(_pairwise(two_tower="worse")), "ndcg@10")
    assert conclusions["status"].tolist() == ["flipped"]
    table = compare(current, wide)
    assert table["ok"].all()
    assert failure_message(table, "r.csv", Tolerances(), conclusions) == (
        "1 conclusion(s) on ndcg@10 do not hold, e.g. ml-100k/random/faithful: rerun best two_tower, "
        "reported best ease (flipped)"
    )


def test_a_rerun_best_without_a_reported_test_fails_and_a_group_without_tests_warns() -> None:
    current = _with(_summary(two_tower_sd=0.1), "two_tower", "ndcg@10", 0.35)
    untested = _vs_best(_pairwise()).iloc[:1]  # no two_tower vs ease row
    assert check_conclusions(current, untested, "ndcg@10")["status"].tolist() == ["untested"]
    conclusions = check_conclusions(current, _vs_best(_pairwise()), "recall@10")
    assert conclusions["status"].tolist() == ["no reported test"]
    table = compare(current, current)
    assert failure_message(table, "r.csv", Tolerances(), conclusions) is None
    assert warning_message(table, Tolerances(), conclusions) == (
        "1 group(s) have no reported vs_best test to check the conclusion"
    )


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "recrepro.cli", *args], capture_output=True, text=True)


def _files(
    tmp_path: Path,
    current: pd.DataFrame,
    pairwise: pd.DataFrame | None = None,
    reported: pd.DataFrame | None = None,
) -> list[str]:
    """reported.csv with stats/pairwise.csv beside it, and current.csv; the CLI's file arguments."""
    (tmp_path / "stats").mkdir(exist_ok=True)
    (_summary() if reported is None else reported).to_csv(tmp_path / "reported.csv", index=False)
    (_pairwise() if pairwise is None else pairwise).to_csv(tmp_path / "stats" / "pairwise.csv", index=False)
    current.to_csv(tmp_path / "current.csv", index=False)
    return ["--current", str(tmp_path / "current.csv"), "--reported", str(tmp_path / "reported.csv")]


def test_cli_exits_1_with_one_line_and_writes_the_tables(tmp_path: Path) -> None:
    files = _files(tmp_path, _with(_summary(), "popularity", "ndcg@10", 0.2))
    out, conclusions = tmp_path / "verify.csv", tmp_path / "conclusions.csv"
    proc = _cli("verify", *files, "--out", str(out), "--conclusions-out", str(conclusions))
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("recrepro: error:")]
    assert errors == [
        f"recrepro: error: 1 of 6 numbers differ from {tmp_path / 'reported.csv'} beyond the exact rule "
        "(atol=1e-12, rtol=1e-09) or are missing"
    ], proc.stderr
    assert "rule per model:" in proc.stderr
    rules = [line.split()[:2] for line in proc.stderr.splitlines()]
    assert ["ease", "exact"] in rules and ["two_tower", "margin"] in rules
    table = pd.read_csv(out)
    assert table.loc[~table["ok"], "model"].tolist() == ["popularity"]
    assert set(table["rule"]) == {"exact", "margin"} and table["why"].notna().all()
    assert pd.read_csv(conclusions)["status"].tolist() == ["holds"]
    loose = _cli("verify", *files, "--atol", "0.2")
    assert loose.returncode == 0, loose.stderr


def test_cli_warns_and_exits_0_when_only_margins_are_exceeded(tmp_path: Path) -> None:
    files = _files(tmp_path, _with(_summary(), "two_tower", "recall@10", 0.1 + 2 * MARGIN))
    proc = _cli("verify", *files)
    assert proc.returncode == 0, proc.stderr
    assert "verify passed with a warning: 1 of 2 numbers of non-exact models are outside their margin" in (
        proc.stderr
    )


def test_cli_fails_on_a_flipped_conclusion(tmp_path: Path) -> None:
    wide = _summary(two_tower_sd=0.1)  # two_tower's 0.2 -> 0.35 is within its margin (0.81)
    current = _with(wide, "two_tower", "ndcg@10", 0.35)
    proc = _cli("verify", *_files(tmp_path, current, _pairwise(two_tower="worse"), reported=wide))
    assert proc.returncode == 1
    assert "1 conclusion(s) on ndcg@10 do not hold" in proc.stderr.splitlines()[-1]


def test_cli_names_a_missing_reported_file(tmp_path: Path) -> None:
    _summary().to_csv(tmp_path / "current.csv", index=False)
    proc = _cli("verify", "--current", str(tmp_path / "current.csv"), "--reported", str(tmp_path / "no.csv"))
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        f"recrepro: error: {tmp_path / 'no.csv'} not found; restore it (git checkout reported/) or run "
        "snakemake publish_reported"
    )


def test_cli_names_a_missing_pairwise_file(tmp_path: Path) -> None:
    files = _files(tmp_path, _summary())
    (tmp_path / "stats" / "pairwise.csv").unlink()
    proc = _cli("verify", *files)
    assert proc.returncode == 1
    assert f"{tmp_path / 'stats' / 'pairwise.csv'} not found" in proc.stderr.strip().splitlines()[-1]


def test_publish_copies_results_and_snapshots_the_environment(tmp_path: Path) -> None:
    _summary().to_csv(tmp_path / "summary.csv", index=False)
    (tmp_path / "pairwise.csv").write_text("a,b\n1,2\n")
    (tmp_path / "main.pdf").write_bytes(b"%PDF-1.5 fake")
    (tmp_path / "main.md").write_text("| model |\n|---|\n| ease |\n")
    written = publish(tmp_path / "summary.csv", [tmp_path / "pairwise.csv"], [tmp_path / "main.pdf"],
                      tmp_path / "reported", tables=[tmp_path / "main.md"])  # fmt: skip
    reported = tmp_path / "reported"
    assert sorted(p.relative_to(reported).as_posix() for p in written) == [
        "environment.txt", "main.pdf", "stats/pairwise.csv", "summary.csv", "tables/main.md"
    ]  # fmt: skip
    assert (reported / "tables/main.md").read_text() == (tmp_path / "main.md").read_text()
    assert (reported / "summary.csv").read_bytes() == (tmp_path / "summary.csv").read_bytes()
    text = (reported / "environment.txt").read_text()
    assert "python: 3." in text and "cpu_count:" in text and "pandas==" in text


#: Non-default settings: verify --stats must recompute with the recorded ones, not the defaults.
STATS_CONFIG = {"bootstrap": 200, "permutations": 500, "calibration_draws": 200,
                "aa_pair": ["ease", "biased_mf"]}  # fmt: skip
USERS = np.arange(1, 31)


def _tiny_study(results: Path) -> tuple[list[Path], list[Path]]:
    """The runs of a tiny study (2 protocols x 3 models x 2 settings x 2 seeds, 30 users) as the
    runner writes them: per_user.parquet and metrics.json (aggregates: per-user means; RMSE/MAE
    pooled over ratings)."""
    per_user, metrics = [], []
    for protocol in ("random", "temporal"):
        for model, level in (("popularity", 0.1), ("ease", 0.3), ("biased_mf", 0.25)):
            for setting in ("faithful", "tuned"):
                for seed in (1, 2):
                    key = RunKey("ml-100k", protocol, model, setting, seed)
                    rng = np.random.default_rng(derive_seed(*key.as_dict().values()))
                    ndcg = np.clip(level + USERS % 4 / 20 + rng.normal(0, 0.05, len(USERS)), 0, 1)
                    frame = pd.DataFrame({
                        "user": USERS, "ndcg@10": ndcg, "hit@10": (ndcg > 0.2).astype(float),
                        "recall@20": np.round(ndcg * 1.2, 1), "n_relevant": 1 + USERS % 3,
                        "ndcg_r4@10": np.where(USERS % 5 == 0, np.nan, 0.9 * ndcg),
                    })  # fmt: skip
                    aggregates = {m: float(frame[m].mean()) for m in ("ndcg@10", "hit@10", "recall@20",
                                                                        "ndcg_r4@10")}  # fmt: skip
                    if model == "biased_mf":
                        frame["n_ratings"] = 1 + USERS % 7
                        frame["rmse"] = 0.9 + rng.normal(0, 0.05, len(USERS))
                        frame["mae"] = 0.7 + rng.normal(0, 0.05, len(USERS))
                        n = frame["n_ratings"]
                        aggregates["rmse"] = float(np.sqrt((n * frame["rmse"] ** 2).sum() / n.sum()))
                        aggregates["mae"] = float((n * frame["mae"]).sum() / n.sum())
                    folder = key.path(results)
                    write_parquet(folder / "per_user.parquet", frame)
                    write_json(folder / "metrics.json",
                               {**key.as_dict(), "status": "ok", "metrics": aggregates})  # fmt: skip
                    per_user.append(folder / "per_user.parquet")
                    metrics.append(folder / "metrics.json")
    return per_user, metrics


def _tested_columns() -> list[str]:
    """The metrics the tiny study's statistics test (the defaults present, with the r4 variant)."""
    return ["hit@10", "mae", "ndcg@10", "ndcg_r4@10", "rmse"]


def test_published_per_user_values_are_compact_and_lossless(tmp_path: Path) -> None:
    files, _ = _tiny_study(tmp_path / "results")
    folder = tmp_path / "per_user"
    written = publish_per_user(files, folder, STATS_CONFIG, figure_metrics=["recall@20", "coverage@10"])
    assert [p.relative_to(folder).as_posix() for p in written] == [
        "ml-100k/random.parquet", "ml-100k/temporal.parquet", "stats_config.json"
    ]  # fmt: skip
    stored = pd.read_parquet(written[0])
    assert list(stored.columns) == ["dataset", "protocol", "model", "setting", "seed", "user",
                                    *_tested_columns(), "recall@20", "n_ratings"]  # fmt: skip
    assert (stored["model"].dtype == "category") and stored["user"].dtype == np.int8
    assert {c: str(stored[c].dtype) for c in ("hit@10", "n_ratings", "ndcg@10", "rmse")} == {
        "hit@10": "float32", "n_ratings": "float32", "ndcg@10": "float64", "rmse": "float64"
    }  # float32 only where every value survives the round trip  # fmt: skip
    frame, config = read_published(folder, "republish")
    assert config == StatsConfig.from_mapping(STATS_CONFIG)
    expected = load_per_user(files, [*_tested_columns(), "recall@20"])
    order = ["dataset", "protocol", "model", "setting", "seed", "user"]
    pd.testing.assert_frame_equal(frame, expected.sort_values(order).reset_index(drop=True))


def test_first_difference_names_the_row_and_column_under_the_exact_rule() -> None:
    table = pd.DataFrame({"model": ["a", "b"], "p": [0.5, np.nan], "note": ["", "x"]})
    keys = ["model"]
    assert first_difference(table, table.assign(p=[0.5 * (1 + 1e-10), np.nan]), keys, 1e-12, 1e-9) is None
    assert first_difference(table.assign(p=[0.5, 0.1]), table, keys, 1e-12, 1e-9) == (
        "row 2 (b): p recomputed 0.1, reported nan"
    )
    assert first_difference(table, table.assign(note=["", "y"]), keys, 1e-12, 1e-9) == (
        "row 2 (b): note recomputed x, reported y"
    )
    assert first_difference(table, table.iloc[:1], keys, 1e-12, 1e-9) == (
        "row 2 (b) only in the recomputed table"
    )


def test_verify_stats_recomputes_every_table_from_reported_alone(tmp_path: Path) -> None:
    results, reported = tmp_path / "results", tmp_path / "reported"
    per_user, metrics = _tiny_study(results)
    stats_files = {name: results / "stats" / f"{name}.csv" for name in TABLES}
    tables = compute_stats(per_user, metrics, stats_files, STATS_CONFIG)
    assert all(len(tables[name]) for name in ("pairwise", "seed_level", "calibration", "aa_control"))
    write_csv(results / "summary.csv", summarize(collect_metrics(metrics)))
    (results / "main.pdf").write_bytes(b"%PDF-1.5 fake")
    publish(results / "summary.csv", stats_files.values(), [results / "main.pdf"], reported,
            per_user=per_user, stats_config=STATS_CONFIG)  # fmt: skip
    shutil.rmtree(results)  # from here on: reported/ alone
    args = ("verify", "--stats", "--reported", str(reported / "summary.csv"))
    proc = _cli(*args)
    assert f"all {len(TABLES)} statistics tables recompute from {reported}" in proc.stderr
    # then the figure data (tests/test_verify_figures.py), which this folder lacks: one line
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        f"recrepro: error: {reported / 'figure_inputs' / 'figure_config.json'} not found; restore it "
        "(git checkout reported/) or run snakemake publish_reported"
    ), proc.stderr

    data = reported / "per_user" / "ml-100k" / "random.parquet"
    frame = pd.read_parquet(data)
    first = (frame["model"] == "ease") & (frame["setting"] == "faithful") & (frame["seed"] == 1)
    frame.loc[frame.index[first][0], "ndcg@10"] += 0.05  # one user's value
    frame.to_parquet(data, index=False)
    proc = _cli(*args)
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("recrepro: error:")]
    assert len(errors) == 1, proc.stderr
    pattern = (
        rf"recrepro: error: \d of {len(TABLES)} statistics tables recomputed from "
        rf"{re.escape(str(reported / 'per_user'))} differ beyond the exact rule \(atol=1e-12, rtol=1e-09\); "
        rf"first: {re.escape(str(reported / 'stats' / 'pairwise.csv'))} row \d+ "
        r"\(ml-100k/random/faithful/ndcg@10/all_pairs/\w+/\w+\): \w+ recomputed \S+, reported \S+"
    )
    assert re.fullmatch(pattern, errors[0]), errors[0]
    assert "/ndcg@10/all_pairs/biased_mf/ease)" in errors[0]  # the first pair with ease
    assert proc.stderr.strip().splitlines()[-1] == errors[0]


def test_environment_snapshot_lists_the_installed_packages() -> None:
    text = environment_snapshot()
    assert "# python -m pip freeze" in text and "numpy==" in text and "platform:" in text


def _fabricated_results(workdir: Path) -> None:
    (workdir / "results").mkdir()
    (workdir / "reported" / "stats").mkdir(parents=True, exist_ok=True)  # workflow_copy brings reported/
    _summary().to_csv(workdir / "reported" / "summary.csv", index=False)
    _pairwise().to_csv(workdir / "reported" / "stats" / "pairwise.csv", index=False)
    _summary().to_csv(workdir / "results" / "summary.csv", index=False)


def test_snakemake_verify_passes_then_fails_when_reported_changes(tmp_path: Path, shared_data_dir: str):
    workdir = workflow_copy(tmp_path)
    _fabricated_results(workdir)
    # --allowed-rules: results/summary.csv is taken as it is instead of being rebuilt from runs.
    args = ("verify", "--configfile", "config/smoke.yaml", "--allowed-rules", "verify")
    proc = run_snakemake(workdir, *args, data_dir=shared_data_dir)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert pd.read_csv(workdir / "results" / "verify.csv")["ok"].all()
    assert pd.read_csv(workdir / "results" / "verify_conclusions.csv")["status"].tolist() == ["holds"]

    _with(_summary(), "ease", "recall@10", 0.2).to_csv(workdir / "reported" / "summary.csv", index=False)
    proc = run_snakemake(workdir, *args, data_dir=shared_data_dir)  # reported/ changed: verify reruns
    assert proc.returncode != 0
    log = (workdir / "results" / "logs" / "verify.log").read_text()
    assert (
        "recrepro: error: 1 of 6 numbers differ from reported/summary.csv beyond the exact rule "
        "(atol=1e-12, rtol=1e-09) or are missing"
    ) in log
    assert "ease" in log and "recall@10" in log
    assert not (workdir / "results" / "verify.csv").exists()  # a failed check leaves no output


def test_snakemake_verify_never_refreshes_reported_from_the_run(tmp_path: Path, shared_data_dir: str) -> None:
    """reported/summary.csv is an output of publish_reported, but verify must not run that rule."""
    workdir = workflow_copy(tmp_path)
    _fabricated_results(workdir)
    proc = run_snakemake(
        workdir, "-n", "verify", "--configfile", "config/smoke.yaml", data_dir=shared_data_dir
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "publish_reported" not in proc.stdout + proc.stderr


def test_snakemake_publish_reported_fills_reported(tmp_path: Path, shared_data_dir: str) -> None:
    workdir = workflow_copy(tmp_path)
    (workdir / "results" / "stats").mkdir(parents=True)
    _summary().to_csv(workdir / "results" / "summary.csv", index=False)
    from recrepro.stats.pipeline import TABLES

    names = tuple(TABLES)  # every table compute_stats writes
    for name in names:
        (workdir / "results" / "stats" / f"{name}.csv").write_text(f"table\n{name}\n")
    (workdir / "results" / "tuning").mkdir(parents=True)
    for name in ("curves", "convergence"):
        (workdir / "results" / "tuning" / f"{name}.csv").write_text(f"table\n{name}\n")
    (workdir / "paper" / "main.pdf").write_bytes(b"%PDF-1.5 fake")
    (workdir / "paper" / "supplement.pdf").write_bytes(b"%PDF-1.5 fake supplement")
    tables = _paper_markdown_tables(workdir)
    runs = _smoke_per_user(workdir)
    figure_data = _smoke_figure_inputs(workdir)
    proc = run_snakemake(workdir, "publish_reported", "--configfile", "config/smoke.yaml",
                      "--allowed-rules", "publish_reported", data_dir=shared_data_dir)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    reported = workdir / "reported"
    assert (reported / "summary.csv").read_text() == (workdir / "results" / "summary.csv").read_text()
    assert sorted(p.stem for p in (reported / "stats").glob("*.csv")) == sorted(names)
    assert (reported / "main.pdf").read_bytes() == b"%PDF-1.5 fake"
    assert (reported / "supplement.pdf").read_bytes() == b"%PDF-1.5 fake supplement"
    readme = (reported / "README.md").read_text()
    assert f"{len(runs)} runs in" in readme and "by revision `abcdef0`" in readme
    assert "none with uncommitted changes" in readme
    assert (reported / "tuning" / "convergence.csv").read_text() == "table\nconvergence\n"
    assert "pip freeze" in (reported / "environment.txt").read_text()
    assert sorted(p.name for p in (reported / "tables").glob("*.md")) == sorted(p.name for p in tables)
    assert all((reported / "tables" / p.name).read_text() == p.read_text() for p in tables)
    per_user, config = read_published(reported / "per_user", "republish")
    assert len(per_user) == 3 * len(runs) and set(per_user["protocol"]) == {"random", "temporal"}
    assert config == StatsConfig.from_mapping(None)  # smoke.yaml sets no stats: the defaults
    assert all((reported / "figdata" / p.name).read_bytes() == p.read_bytes() for p in figure_data)
    topk = pd.read_parquet(reported / "figure_inputs" / "topk.parquet")
    main_runs = [r for r in runs if r.protocol == "random" and r.setting == "faithful"]
    assert len(topk) == len(main_runs) * 3 * 10 and topk["rank"].max() == 10  # x users x top popularity_k
    assert (reported / "figure_inputs" / "figure_config.json").is_file()


def _smoke_figure_inputs(workdir: Path) -> list[Path]:
    """history.csv and topk.parquet (3 users, top 12) of the smoke config's main runs, and stand-ins
    for the figure-data tables (publish_reported copies them)."""
    from recrepro.core.config import load_yaml
    from recrepro.report import registry

    paths = registry.input_paths(load_yaml(workdir / "config" / "smoke.yaml"))
    users, ranks = np.repeat([1, 2, 3], 12), np.tile(np.arange(1, 13), 3)
    for history, topk in zip(paths["main_history"], paths["main_topk"], strict=True):
        write_csv(workdir / history, pd.DataFrame({"epoch": [1], "loss": [0.5]}))
        frame = pd.DataFrame({"user": users, "rank": ranks, "item": ranks + users})
        write_parquet(workdir / topk, frame.assign(score=np.float32(-ranks)))
    figure_data = [workdir / paths[f"figdata_{name}"] for name in registry.FIGDATA]
    for path in figure_data:
        stand_in = pd.DataFrame({"table": [path.stem]})
        (write_parquet if path.suffix == ".parquet" else write_csv)(path, stand_in)
    return figure_data


def _smoke_per_user(workdir: Path) -> list[RunKey]:
    """A per_user.parquet (3 users, ndcg@10) and a provenance.json for every run of the smoke
    config."""
    from recrepro.core.config import load_yaml

    cfg = load_yaml(workdir / "config" / "smoke.yaml")
    runs = [RunKey("ml-100k", p, m, s, seed) for p in cfg["protocols"] for m in cfg["models"]
            for s in cfg["settings"] for seed in cfg["seeds"]]  # fmt: skip
    for run in runs:
        frame = pd.DataFrame({"user": [1, 2, 3], "ndcg@10": [0.1, 0.2, 0.3]})
        write_parquet(run.path(workdir / "results") / "per_user.parquet", frame)
        fields = ("dataset", "protocol", "model", "setting", "seed")
        record = {"config": {"run": {f: getattr(run, f) for f in fields}}, "git_commit": "abcdef0123",
                  "git_dirty": False}  # fmt: skip
        (run.path(workdir / "results") / "provenance.json").write_text(json.dumps(record))
    return runs


def _paper_markdown_tables(workdir: Path) -> list[Path]:
    """Stand-ins for the paper's Markdown tables of the smoke config (publish_reported copies them)."""
    from recrepro.core.config import load_yaml
    from recrepro.report import registry
    from recrepro.report.config import PaperConfig

    cfg = PaperConfig.from_config(load_yaml(workdir / "config" / "smoke.yaml"))
    paths = [workdir / p for p in registry.outputs(cfg, "table") if p.endswith(".md")]
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"| {path.stem} |\n")
    return paths
