"""`bench`: Snakemake benchmark files -> per-job and per-(rule, model) tables and a figure."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import ROOT, run_snakemake, workflow_copy
from recrepro.cli import main
from recrepro.tools.bench import LAYOUTS, aggregate, collect, parse_path

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
FILES = {  # path under results/benchmarks -> (wall s, max RSS MB, cpu s)
    "prepare_data/ml-100k.tsv": (0.75, 105.5, 0.5),
    "split_data/ml-100k/random/seed1.tsv": (1.5, 120.0, 1.0),
    "train_and_evaluate/ml-100k/random/ease/faithful.tsv": (10.0, 800.0, 9.0),
    "train_and_evaluate/ml-100k/random/ease/tuned.tsv": (12.0, 900.0, 11.0),
    "train_and_evaluate/ml-100k/temporal/gnn/tuned.tsv": (100.0, 1500.0, 150.0),
    "tune_model/ml-100k/random/ease.tsv": (40.0, 700.0, 39.0),
    "compute_stats.tsv": (5.0, 300.0, 4.0),
    "paper/make_figures.tsv": (3.0, 250.0, 2.5),
}


def _write(root: Path, relative: str, wall: float, rss: float, cpu: float) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{wall}\t0:00:01\t{rss}\t1683.29\t179.49\t205.72\t0.00\t0.01\t36.05\t{cpu}\n")


@pytest.fixture
def benchmarks(tmp_path: Path) -> Path:
    root = tmp_path / "results" / "benchmarks"
    for relative, values in FILES.items():
        _write(root, relative, *values)
    return root


def test_every_file_becomes_one_row_keyed_by_its_path(benchmarks: Path) -> None:
    table = collect(benchmarks)
    assert list(table.columns) == ["rule", "dataset", "protocol", "model", "setting", "seed",
                                   "wall_s", "cpu_s", "max_rss_mb", "file"]  # fmt: skip
    assert len(table) == len(FILES)
    rows = table.set_index("file")
    gnn = rows.loc["train_and_evaluate/ml-100k/temporal/gnn/tuned.tsv"]
    assert (gnn["rule"], gnn["dataset"], gnn["protocol"], gnn["model"], gnn["setting"]) == (
        "train_and_evaluate", "ml-100k", "temporal", "gnn", "tuned"
    ) and pd.isna(gnn["seed"])  # one job runs every seed  # fmt: skip
    assert (gnn["wall_s"], gnn["cpu_s"], gnn["max_rss_mb"]) == (100.0, 150.0, 1500.0)
    split = rows.loc["split_data/ml-100k/random/seed1.tsv"]
    assert split["rule"] == "split_data" and split["seed"] == 1 and pd.isna(split["model"])
    tune = rows.loc["tune_model/ml-100k/random/ease.tsv"]
    assert tune["model"] == "ease" and pd.isna(tune["seed"]) and pd.isna(tune["setting"])
    assert rows.loc["compute_stats.tsv", "rule"] == "compute_stats"
    assert rows.loc["paper/make_figures.tsv", "rule"] == "make_figures"
    assert rows.loc["prepare_data/ml-100k.tsv", "dataset"] == "ml-100k"


def test_totals_per_rule_and_model(benchmarks: Path) -> None:
    by = aggregate(collect(benchmarks)).set_index(["rule", "model"])
    ease = by.loc[("train_and_evaluate", "ease")]
    assert ease["count"] == 2  # faithful and tuned
    assert ease["total_wall_s"] == pytest.approx(22.0) and ease["mean_wall_s"] == pytest.approx(11.0)
    assert ease["mean_cpu_s"] == pytest.approx(10.0) and ease["max_rss_mb"] == 900.0
    assert len(by) == 7  # ease's two jobs share a row
    totals = aggregate(collect(benchmarks))["total_wall_s"]
    assert totals.is_monotonic_decreasing and totals.sum() == pytest.approx(sum(v[0] for v in FILES.values()))


def test_a_jobs_cpu_record_replaces_the_sampled_cpu_time(benchmarks: Path) -> None:
    """Snakemake samples CPU every 30 s after the first 15 s; the job's own record is exact."""
    from recrepro.core.cputime import cpu_recorded, process_cpu_seconds, record_path

    bench = benchmarks / "tune_model/ml-100k/random/ease.tsv"
    before = process_cpu_seconds()
    with cpu_recorded(record_path(bench)):
        sum(i * i for i in range(200_000))  # some CPU
    after = process_cpu_seconds()
    table = collect(benchmarks).set_index("file")
    recorded = table.loc["tune_model/ml-100k/random/ease.tsv", "cpu_s"]
    assert recorded == 39.0  # the sample is larger: both are lower bounds
    _write(benchmarks, "tune_model/ml-100k/random/ease.tsv", 40.0, 700.0, 0.1)  # sampled too early
    recorded = collect(benchmarks).set_index("file").loc["tune_model/ml-100k/random/ease.tsv", "cpu_s"]
    assert before <= recorded <= after  # the process's own CPU time
    assert table.loc["compute_stats.tsv", "cpu_s"] == 4.0  # no record: Snakemake's value


def test_unknown_paths_and_missing_values_are_kept(tmp_path: Path) -> None:
    root = tmp_path / "benchmarks"
    _write(root, "my_rule/x/seed7.tsv", 2.0, 10.0, 1.0)
    (root / "na.tsv").write_text(HEADER + "4.0\t0:00:04\tNA\tNA\tNA\tNA\tNA\tNA\tNA\tNA\n")
    rows = collect(root).set_index("file")
    assert rows.loc["my_rule/x/seed7.tsv", ["rule", "seed"]].tolist() == ["my_rule", 7]
    assert rows.loc["na.tsv", "wall_s"] == 4.0 and pd.isna(rows.loc["na.tsv", "max_rss_mb"])
    constrained = {"t": "t/{dataset,[a-z]+}/{protocol}/{model}/{setting}/seed{seed}.tsv"}
    assert parse_path("t/d/p/m/faithful/seed2.tsv", constrained) == {
        "rule": "t", "dataset": "d", "protocol": "p", "model": "m", "setting": "faithful", "seed": 2
    }  # fmt: skip


def test_cli_writes_tables_and_figure(benchmarks: Path) -> None:
    out = benchmarks / "summary.csv"
    assert main(["bench", "--benchmarks", str(benchmarks), "--out", str(out)]) == 0
    assert len(pd.read_csv(out)) == len(FILES)
    by = pd.read_csv(benchmarks / "by_rule_model.csv")
    assert by.iloc[0][["rule", "model", "total_wall_s"]].tolist() == ["train_and_evaluate", "gnn", 100.0]
    for suffix in (".png", ".pdf"):
        assert (benchmarks / f"summary{suffix}").stat().st_size > 1000
    assert main(["bench", "--benchmarks", str(benchmarks / "none"), "--out", str(out)]) == 1


def test_snakemake_bench_reads_every_job_of_the_study(tmp_path: Path, shared_data_dir: str) -> None:
    """The rule's inputs are exactly the benchmark files of the smoke study's jobs."""
    workdir = workflow_copy(tmp_path)
    config = yaml.safe_load((ROOT / "config" / "smoke.yaml").read_text())
    runs = [(d, p, m, s, seed) for d in config["datasets"] for p in config["protocols"]
            for m in config["models"] for s in config["settings"] for seed in config["seeds"]]  # fmt: skip
    root = workdir / "results" / "benchmarks"
    expected = [f"prepare_data/{d}.tsv" for d in config["datasets"]]
    expected += [f"split_data/{d}/{p}/seed{s}.tsv" for d in config["datasets"] for p in config["protocols"]
                 for s in config["seeds"]]  # fmt: skip
    expected += list(dict.fromkeys(f"train_and_evaluate/{d}/{p}/{m}/{s}.tsv" for d, p, m, s, _ in runs))
    paper = ("figure_data", "make_figures", "compile_paper", "compile_supplement")
    expected += ["compute_stats.tsv"] + [f"paper/{name}.tsv" for name in paper]
    tuning = [(d, p, m) for d in config["datasets"] for p in config["protocols"] for m in config["models"]]
    expected += [f"tune_model/{d}/{p}/{m}.tsv" for d, p, m in tuning]
    for relative in expected:
        _write(root, relative, 1.0, 100.0, 0.5)
    _write(root, "stale/from_another_config.tsv", 1.0, 100.0, 0.5)  # not a job of this study
    proc = run_snakemake(workdir, "bench", "--configfile", "config/smoke.yaml", "--allowed-rules", "bench",
                      data_dir=shared_data_dir)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = pd.read_csv(root / "summary.csv")
    assert sorted(table["file"]) == sorted(expected)
    assert set(table["rule"]) == {"prepare_data", "split_data", "train_and_evaluate", "compute_stats",
                                  "figure_data", "make_figures", "compile_paper", "compile_supplement",
                                  "tune_model"}
    assert table.loc[table["rule"] == "train_and_evaluate", "model"].notna().all()
    assert (root / "summary.png").is_file() and (root / "by_rule_model.csv").is_file()
    # bench.LAYOUTS, used without the workflow, reads the paths as the workflow's own patterns do
    standalone = collect(root, [root / relative for relative in expected], LAYOUTS)
    columns = ["file", "rule", "dataset", "protocol", "model", "setting", "seed"]
    pd.testing.assert_frame_equal(
        standalone[columns].sort_values("file").reset_index(drop=True),
        table[columns].sort_values("file").reset_index(drop=True),
        check_dtype=False,
    )
