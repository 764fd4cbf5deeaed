"""The Snakemake DAG end to end on config/smoke.yaml (real ML-100K, 2 seeds, few models, 1 epoch),
plus config errors that must stop the workflow before any job runs."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COPY = ("Snakefile", "workflow", "config", "paper")


def _workspace(tmp: Path) -> Path:
    """A copy of the workflow files, so runs never touch the repository's own results/."""
    for name in COPY:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp / name, ignore=shutil.ignore_patterns("generated", "*.pdf"))
        elif source.exists():
            shutil.copy(source, tmp / name)
    return tmp


def _snakemake(workdir: Path, *args: str, data_dir: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "RECREPRO_DATA_DIR": data_dir}
    return subprocess.run(
        ["snakemake", "--cores", "2", *args], cwd=workdir, env=env, capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory, shared_data_dir: str) -> Path:
    workdir = _workspace(tmp_path_factory.mktemp("smoke"))
    proc = _snakemake(workdir, "--configfile", "config/smoke.yaml", data_dir=shared_data_dir)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return workdir


@pytest.mark.slow
def test_smoke_dag_produces_a_summary_of_every_model(smoke_run: Path) -> None:
    config = yaml.safe_load((smoke_run / "config" / "smoke.yaml").read_text())
    summary = pd.read_csv(smoke_run / "results" / "summary.csv")
    assert set(summary["model"]) == set(config["models"])
    assert set(summary["protocol"]) == set(config["protocols"])
    assert (summary["n_seeds"] == len(config["seeds"])).all()
    ndcg = summary[(summary.metric == "ndcg@10") & (summary.protocol == "random")].set_index("model")
    assert ndcg.loc["popularity", "mean"] > 5 * ndcg.loc["random", "mean"]
    assert ndcg.loc["ease", "mean"] > ndcg.loc["popularity", "mean"]
    assert "rmse" in set(summary[summary.model == "biased_mf"]["metric"])
    for run in (smoke_run / "results" / "runs").glob("*/*/*/*/seed*"):
        assert (run / "metrics.json").is_file() and (run / "per_user.parquet").is_file()
    assert list((smoke_run / "results" / "benchmarks").rglob("*.tsv"))


@pytest.mark.slow
def test_rerun_has_nothing_to_do(smoke_run: Path, shared_data_dir: str) -> None:
    proc = _snakemake(smoke_run, "--configfile", "config/smoke.yaml", "-n", data_dir=shared_data_dir)
    assert proc.returncode == 0
    assert "Nothing to be done" in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("models={'nope': {}}", "unknown model 'nope'"),
        ("seeds=[]", "config error at 'seeds'"),
        ("evaluation={'ks': [0]}", "config error at 'evaluation/ks/0'"),
    ],
)
def test_bad_config_stops_before_any_job(tmp_path: Path, shared_data_dir: str, override: str, message: str) -> None:
    workdir = _workspace(tmp_path)
    proc = _snakemake(workdir, "--configfile", "config/smoke.yaml", "--config", override, data_dir=shared_data_dir)
    assert proc.returncode != 0
    assert message in proc.stderr
    assert not (workdir / "results").exists()
