"""The Snakemake DAG end to end on config/smoke.yaml (real ML-100K, 2 seeds, few models, 1 epoch),
plus config errors that must stop the workflow before any job runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COPY = ("Snakefile", "workflow", "config", "paper")


def _workspace(tmp: Path) -> Path:
    """A copy of the workflow files, so runs never touch the repository's own results/."""
    tmp.mkdir(parents=True, exist_ok=True)
    for name in COPY:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp / name, ignore=shutil.ignore_patterns("generated", "*.pdf"))
        elif source.exists():
            shutil.copy(source, tmp / name)
    return tmp


def _env(**extra: str) -> dict[str, str]:
    """The test's environment with this interpreter's scripts (snakemake, recrepro) first on PATH."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return {**os.environ, "PATH": path, **extra}


def _snakemake(workdir: Path, *args: str, data_dir: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2", *args],
        cwd=workdir, env=_env(RECREPRO_DATA_DIR=data_dir, **env), capture_output=True, text=True,
    )  # fmt: skip


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
def test_smoke_dag_compiles_the_paper_naming_every_model(smoke_run: Path) -> None:
    pdf = smoke_run / "paper" / "main.pdf"
    assert pdf.is_file() and pdf.stat().st_size > 10_000
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    text = " ".join(text.split())
    config = yaml.safe_load((smoke_run / "config" / "smoke.yaml").read_text())
    for model in config["models"]:
        assert model in text or model.replace("_", " ") in text, model
    for generated in ("numbers.tex", "tables/main.tex"):
        assert (smoke_run / "paper" / "generated" / generated).is_file()
    assert (smoke_run / "figures" / "headline_ci.pdf").is_file()


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
def test_bad_config_stops_before_any_job(
    tmp_path: Path, shared_data_dir: str, override: str, message: str
) -> None:
    workdir = _workspace(tmp_path)
    proc = _snakemake(
        workdir, "--configfile", "config/smoke.yaml", "--config", override, data_dir=shared_data_dir
    )
    assert proc.returncode != 0
    assert message in proc.stderr
    assert not (workdir / "results").exists()


def _readme_example_model() -> str:
    """The model file shown in README's "Add a model" section, verbatim."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Add a model", 1)[1]
    code = section.split("```python", 1)[1].split("```", 1)[0]
    return "\n".join(line[3:] if line.startswith("   ") else line for line in code.splitlines())


@pytest.mark.slow
def test_a_model_added_as_readme_says_appears_in_the_summary(tmp_path: Path, shared_data_dir: str) -> None:
    workdir = _workspace(tmp_path / "work")
    extra = tmp_path / "extra_models"
    extra.mkdir()
    (extra / "my_model.py").write_text(_readme_example_model())
    config = yaml.safe_load((ROOT / "config" / "smoke.yaml").read_text())
    config.update(protocols=["random"], seeds=[1], models={"popularity": {}, "my_model": {"alpha": 2.0}})
    (workdir / "config" / "mine.yaml").write_text(yaml.safe_dump(config))
    proc = _snakemake(
        workdir, "results/summary.csv", "--configfile", "config/mine.yaml",
        data_dir=shared_data_dir, RECREPRO_MODEL_PATH=str(extra),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = pd.read_csv(workdir / "results" / "summary.csv")
    assert set(summary["model"]) == {"popularity", "my_model"}
    ndcg = summary[summary.metric == "ndcg@10"].set_index("model")["mean"]
    assert ndcg["my_model"] == pytest.approx(ndcg["popularity"])  # it is popularity, scaled


def test_cluster_profile_dry_runs_the_whole_dag(tmp_path: Path, shared_data_dir: str) -> None:
    workdir = _workspace(tmp_path)
    shutil.copytree(ROOT / "profiles", workdir / "profiles")
    proc = _snakemake(workdir, "-n", "--profile", "profiles/slurm", "--configfile", "config/smoke.yaml",
                      data_dir=shared_data_dir)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout + proc.stderr
    assert "train_and_evaluate" in out and "This was a dry-run" in out
    assert not (workdir / "results").exists()
