"""`verify`: a run's summary against the committed reported/summary.csv, and `publish_reported`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import run_snakemake, workflow_copy
from recrepro.verify import Tolerances, compare, environment_snapshot, failure_message, publish


def _summary() -> pd.DataFrame:
    """A small summary.csv as `recrepro summarize` writes it."""
    rows = [
        ("ml-100k", "random", model, "faithful", metric, value, 0.01, 3)
        for model, base in (("ease", 0.3), ("popularity", 0.1), ("two_tower", 0.2))
        for metric, value in (("ndcg@10", base), ("recall@10", base / 2), ("fit_seconds", 10 * base))
    ]
    columns = ["dataset", "protocol", "model", "setting", "metric", "mean", "std", "n_seeds"]
    return pd.DataFrame(rows, columns=columns)


def _with(frame: pd.DataFrame, model: str, metric: str, value: float) -> pd.DataFrame:
    frame = frame.copy()
    frame.loc[(frame["model"] == model) & (frame["metric"] == metric), "mean"] = value
    return frame


def test_identical_summaries_match() -> None:
    table = compare(_summary(), _summary())
    assert table["ok"].all() and (table["diff"] == 0).all()
    assert len(table) == 6  # fit_seconds is never compared
    assert failure_message(table, "reported/summary.csv", Tolerances()) is None


def test_a_mean_beyond_tolerance_differs_and_is_listed() -> None:
    current = _with(_summary(), "ease", "ndcg@10", 0.3 + 1e-3)  # limit: 1e-6 + 1e-3 * 0.3
    table = compare(current, _summary())
    bad = table[~table["ok"]]
    assert list(bad[["model", "metric", "status"]].itertuples(index=False, name=None)) == [
        ("ease", "ndcg@10", "differs")
    ]
    assert bad["diff"].iloc[0] == pytest.approx(1e-3)
    assert bad["reported"].iloc[0] == 0.3 and bad["current"].iloc[0] == pytest.approx(0.301)
    message = failure_message(table, "reported/summary.csv", Tolerances())
    assert message == (
        "1 of 6 numbers differ from reported/summary.csv beyond tolerance (atol=1e-06, rtol=0.001)"
    )


def test_a_mean_within_tolerance_matches() -> None:
    current = _with(_summary(), "ease", "ndcg@10", 0.3 + 2e-4)
    current = _with(current, "two_tower", "fit_seconds", 99.0)  # timings are ignored
    assert compare(current, _summary())["ok"].all()


def test_missing_rows_on_either_side_differ() -> None:
    summary = _summary()
    table = compare(summary.iloc[1:], summary.iloc[:-2])
    bad = table[~table["ok"]].set_index(["model", "metric"])["status"]
    assert bad.to_dict() == {
        ("ease", "ndcg@10"): "missing in current",
        ("two_tower", "recall@10"): "missing in reported",
    }
    assert np.isnan(table.set_index(["model", "metric"]).loc[("ease", "ndcg@10"), "current"])


def test_nan_means_match_each_other_only() -> None:
    nan = _with(_summary(), "popularity", "recall@10", float("nan"))
    assert compare(nan, nan)["ok"].all()
    assert (~compare(nan, _summary())["ok"]).sum() == 1


def test_per_model_and_per_metric_overrides_take_the_looser_tolerance() -> None:
    tolerances = Tolerances.from_config(
        {"models": {"two_tower": {"rtol": 0.1}}, "metrics": {"ndcg@10": {"atol": 0.01}}}, atol=1e-9
    )
    assert tolerances.for_row("two_tower", "ndcg@10") == (0.01, 0.1)
    assert tolerances.for_row("two_tower", "recall@10") == (1e-9, 0.1)
    assert tolerances.for_row("ease", "recall@10") == (1e-9, 1e-3)
    current = _with(_summary(), "two_tower", "recall@10", 0.1 * 1.05)
    current = _with(current, "ease", "ndcg@10", 0.305)
    assert compare(current, _summary(), tolerances)["ok"].all()
    assert not compare(current, _summary())["ok"].all()


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "recrepro.cli", *args], capture_output=True, text=True)


def test_cli_exits_1_with_one_line_and_writes_the_table(tmp_path: Path) -> None:
    _summary().to_csv(tmp_path / "reported.csv", index=False)
    _with(_summary(), "popularity", "ndcg@10", 0.2).to_csv(tmp_path / "current.csv", index=False)
    out = tmp_path / "verify.csv"
    proc = _cli("verify", "--current", str(tmp_path / "current.csv"), "--reported",
                str(tmp_path / "reported.csv"), "--out", str(out))  # fmt: skip
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("recrepro: error:")]
    assert errors == [
        f"recrepro: error: 1 of 6 numbers differ from {tmp_path / 'reported.csv'} beyond tolerance "
        "(atol=1e-06, rtol=0.001)"
    ], proc.stderr
    assert "popularity" in proc.stderr  # the differing row is printed
    table = pd.read_csv(out)
    assert table.loc[~table["ok"], "model"].tolist() == ["popularity"]
    loose = _cli("verify", "--current", str(tmp_path / "current.csv"), "--reported",
                 str(tmp_path / "reported.csv"), "--atol", "0.2")  # fmt: skip
    assert loose.returncode == 0, loose.stderr


def test_cli_names_a_missing_reported_file(tmp_path: Path) -> None:
    _summary().to_csv(tmp_path / "current.csv", index=False)
    proc = _cli("verify", "--current", str(tmp_path / "current.csv"), "--reported", str(tmp_path / "no.csv"))
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        f"recrepro: error: {tmp_path / 'no.csv'} not found; restore it (git checkout reported/) or run "
        "snakemake publish_reported"
    )


def test_publish_copies_results_and_snapshots_the_environment(tmp_path: Path) -> None:
    _summary().to_csv(tmp_path / "summary.csv", index=False)
    (tmp_path / "pairwise.csv").write_text("a,b\n1,2\n")
    (tmp_path / "main.pdf").write_bytes(b"%PDF-1.5 fake")
    (tmp_path / "main.md").write_text("| model |\n|---|\n| ease |\n")
    written = publish(tmp_path / "summary.csv", [tmp_path / "pairwise.csv"], tmp_path / "main.pdf",
                      tmp_path / "reported", tables=[tmp_path / "main.md"])  # fmt: skip
    reported = tmp_path / "reported"
    assert sorted(p.relative_to(reported).as_posix() for p in written) == [
        "environment.txt", "main.pdf", "stats/pairwise.csv", "summary.csv", "tables/main.md"
    ]  # fmt: skip
    assert (reported / "tables/main.md").read_text() == (tmp_path / "main.md").read_text()
    assert (reported / "summary.csv").read_bytes() == (tmp_path / "summary.csv").read_bytes()
    text = (reported / "environment.txt").read_text()
    assert "python: 3." in text and "cpu_count:" in text and "pandas==" in text


def test_environment_snapshot_lists_the_installed_packages() -> None:
    text = environment_snapshot()
    assert "# python -m pip freeze" in text and "numpy==" in text and "platform:" in text


def _fabricated_results(workdir: Path) -> None:
    (workdir / "results").mkdir()
    (workdir / "reported").mkdir(exist_ok=True)  # workflow_copy brings reported/reproduction.csv
    _summary().to_csv(workdir / "reported" / "summary.csv", index=False)
    _summary().to_csv(workdir / "results" / "summary.csv", index=False)


def test_snakemake_verify_passes_then_fails_when_reported_changes(tmp_path: Path, shared_data_dir: str):
    workdir = workflow_copy(tmp_path)
    _fabricated_results(workdir)
    # --allowed-rules: results/summary.csv is taken as it is instead of being rebuilt from runs.
    args = ("verify", "--configfile", "config/smoke.yaml", "--allowed-rules", "verify")
    proc = run_snakemake(workdir, *args, data_dir=shared_data_dir)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert pd.read_csv(workdir / "results" / "verify.csv")["ok"].all()

    _with(_summary(), "ease", "recall@10", 0.2).to_csv(workdir / "reported" / "summary.csv", index=False)
    proc = run_snakemake(workdir, *args, data_dir=shared_data_dir)  # reported/ changed: verify reruns
    assert proc.returncode != 0
    log = (workdir / "results" / "logs" / "verify.log").read_text()
    assert (
        "recrepro: error: 1 of 6 numbers differ from reported/summary.csv beyond tolerance "
        "(atol=1e-06, rtol=0.001)"
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
    names = ("pairwise", "friedman", "ranks", "cd_cliques", "seed_level", "power")
    for name in names:
        (workdir / "results" / "stats" / f"{name}.csv").write_text(f"table\n{name}\n")
    (workdir / "paper" / "main.pdf").write_bytes(b"%PDF-1.5 fake")
    tables = _paper_markdown_tables(workdir)
    proc = run_snakemake(workdir, "publish_reported", "--configfile", "config/smoke.yaml",
                      "--allowed-rules", "publish_reported", data_dir=shared_data_dir)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    reported = workdir / "reported"
    assert (reported / "summary.csv").read_text() == (workdir / "results" / "summary.csv").read_text()
    assert sorted(p.stem for p in (reported / "stats").glob("*.csv")) == sorted(names)
    assert (reported / "main.pdf").read_bytes() == b"%PDF-1.5 fake"
    assert "pip freeze" in (reported / "environment.txt").read_text()
    assert sorted(p.name for p in (reported / "tables").glob("*.md")) == sorted(p.name for p in tables)
    assert all((reported / "tables" / p.name).read_text() == p.read_text() for p in tables)


def _paper_markdown_tables(workdir: Path) -> list[Path]:
    """Stand-ins for the paper's Markdown tables of the smoke config (publish_reported copies them)."""
    from recrepro.config import load_yaml
    from recrepro.report import registry
    from recrepro.report.config import PaperConfig

    cfg = PaperConfig.from_config(load_yaml(workdir / "config" / "smoke.yaml"))
    paths = [workdir / p for p in registry.outputs(cfg, "table") if p.endswith(".md")]
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"| {path.stem} |\n")
    return paths
