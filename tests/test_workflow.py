"""The Snakemake DAG end to end on config/smoke.yaml (real ML-100K, 2 seeds, few models, 1 epoch),
plus config errors that must stop the workflow before any job runs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import ROOT, run_snakemake, workflow_copy


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory, shared_data_dir: str, needs_tex: None) -> Path:
    workdir = workflow_copy(tmp_path_factory.mktemp("smoke"))
    proc = run_snakemake(workdir, "--configfile", "config/smoke.yaml", data_dir=shared_data_dir)
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
def test_snakemake_report_holds_the_figures_tables_and_paper(smoke_run: Path, shared_data_dir: str) -> None:
    proc = run_snakemake(
        smoke_run, "--configfile", "config/smoke.yaml", "--report", "report.html", data_dir=shared_data_dir
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    html = (smoke_run / "report.html").read_text(errors="replace")
    for name in ("headline_ci.png", "critical_difference.png", "main.csv", "main.pdf"):
        assert name in html, name


@pytest.mark.slow
def test_rerun_has_nothing_to_do(smoke_run: Path, shared_data_dir: str) -> None:
    proc = run_snakemake(smoke_run, "--configfile", "config/smoke.yaml", "-n", data_dir=shared_data_dir)
    assert proc.returncode == 0
    assert "Nothing to be done" in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("models={'nope': {}}", "unknown model 'nope'"),
        ("seeds=[]", "recrepro: config error: seeds: [] should be non-empty"),
        ("evaluation={'ks': [0]}",
         "recrepro: config error: evaluation.ks[0] = 0 is less than the minimum of 1"),
    ],
)
def test_bad_config_stops_before_any_job(
    tmp_path: Path, shared_data_dir: str, override: str, message: str
) -> None:
    workdir = workflow_copy(tmp_path)
    proc = run_snakemake(
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
    workdir = workflow_copy(tmp_path / "work")
    extra = tmp_path / "extra_models"
    extra.mkdir()
    (extra / "my_model.py").write_text(_readme_example_model())
    config = yaml.safe_load((ROOT / "config" / "smoke.yaml").read_text())
    config.update(protocols=["random"], seeds=[1], models={"popularity": {}, "my_model": {"alpha": 2.0}})
    (workdir / "config" / "mine.yaml").write_text(yaml.safe_dump(config))
    proc = run_snakemake(
        workdir, "results/summary.csv", "--configfile", "config/mine.yaml",
        data_dir=shared_data_dir, RECREPRO_MODEL_PATH=str(extra),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = pd.read_csv(workdir / "results" / "summary.csv")
    assert set(summary["model"]) == {"popularity", "my_model"}
    ndcg = summary[summary.metric == "ndcg@10"].set_index("model")["mean"]
    assert ndcg["my_model"] == pytest.approx(ndcg["popularity"])  # it is popularity, scaled


@pytest.mark.slow
def test_a_model_too_big_for_the_data_is_skipped_with_a_note(
    tmp_path: Path, shared_data_dir: str, needs_tex: None
) -> None:
    """EASE limited to 100 items refuses ML-100K: the study still finishes, through the paper."""
    workdir = workflow_copy(tmp_path / "work")
    config = yaml.safe_load((ROOT / "config" / "smoke.yaml").read_text())
    config.update(protocols=["random"], seeds=[1], models={"popularity": {}, "ease": {"max_items": 100}})
    (workdir / "config" / "mine.yaml").write_text(yaml.safe_dump(config))
    proc = run_snakemake(workdir, "--configfile", "config/mine.yaml", data_dir=shared_data_dir)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert set(pd.read_csv(workdir / "results" / "summary.csv")["model"]) == {"popularity"}
    skipped = pd.read_csv(workdir / "results" / "skipped.csv")
    assert skipped["model"].tolist() == ["ease"]
    assert "1682 items, more than max_items=100" in skipped["reason"].iloc[0]
    table = (workdir / "paper" / "generated" / "tables" / "main.md").read_text()
    assert "| ease | n/a |" in table and "n/a: ease was not run:" in table
    assert (workdir / "paper" / "main.pdf").read_bytes()[:5] == b"%PDF-"


def test_cluster_profile_dry_runs_the_whole_dag(
    tmp_path: Path, shared_data_dir: str, needs_tex: None
) -> None:
    workdir = workflow_copy(tmp_path)
    shutil.copytree(ROOT / "profiles", workdir / "profiles")
    proc = run_snakemake(workdir, "-n", "--profile", "profiles/slurm", "--configfile", "config/smoke.yaml",
                      data_dir=shared_data_dir)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout + proc.stderr
    assert "train_and_evaluate" in out and "This was a dry-run" in out
    assert not (workdir / "results").exists()


KILLED_MODEL = '''
import os, signal
import pandas as pd
from recrepro.models.nonpersonalized import PopularityRecommender
from recrepro.models.registry import register

@register("fragile")
class Fragile(PopularityRecommender):
    """Popularity, except that with RECREPRO_TEST_KILL set the job is killed (SIGKILL) after it
    wrote part of its outputs (the runner asks for item similarities after per_user/topk/history)."""
    source = "test"

    def item_similarities(self):
        if os.environ.get("RECREPRO_TEST_KILL"):
            os.kill(os.getpid(), signal.SIGKILL)
        return pd.DataFrame({"item": [], "similar_item": []})
'''


@pytest.mark.slow
def test_a_killed_job_leaves_no_result_and_a_rerun_resumes(tmp_path: Path, shared_data_dir: str) -> None:
    workdir = workflow_copy(tmp_path / "work")
    extra = tmp_path / "extra_models"
    extra.mkdir()
    (extra / "fragile.py").write_text(KILLED_MODEL)
    config = yaml.safe_load((ROOT / "config" / "smoke.yaml").read_text())
    config.update(protocols=["random"], seeds=[1], models={"popularity": {}, "fragile": {}})
    (workdir / "config" / "mine.yaml").write_text(yaml.safe_dump(config))
    args = ("results/summary.csv", "--configfile", "config/mine.yaml")
    killed = run_snakemake(
        workdir, *args, "--keep-going", data_dir=shared_data_dir,
        RECREPRO_MODEL_PATH=str(extra), RECREPRO_TEST_KILL="1",
    )  # fmt: skip
    assert killed.returncode != 0
    run = workdir / "results" / "runs" / "ml-100k" / "random"
    assert (run / "popularity" / "faithful" / "seed1" / "metrics.json").is_file()
    log = workdir / "results" / "logs" / "train_and_evaluate" / "ml-100k" / "random" / "fragile"
    assert "evaluated" in (log / "faithful" / "seed1.log").read_text()  # it was writing its files...
    assert not [p for p in (run / "fragile").rglob("*") if p.is_file()]  # ...which Snakemake removed
    assert not (workdir / "results" / "summary.csv").exists()
    resumed = run_snakemake(workdir, *args, data_dir=shared_data_dir, RECREPRO_MODEL_PATH=str(extra))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "train_and_evaluate" in resumed.stdout + resumed.stderr
    log = (resumed.stdout + resumed.stderr).splitlines()
    done = [line for line in log if " of " in line and "steps" in line]
    assert done and done[-1].strip().startswith("2 of 2 steps")  # only the killed run and the summary
    assert set(pd.read_csv(workdir / "results" / "summary.csv")["model"]) == {"popularity", "fragile"}
