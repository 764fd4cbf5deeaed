"""The Snakemake DAG end to end on config/smoke.yaml (real ML-100K, 2 seeds, few models, 1 epoch),
plus config errors that must stop the workflow before any job runs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import ROOT, _env, run_snakemake, workflow_copy


@pytest.mark.slow
def test_smoke_dag_produces_a_summary_of_every_model(smoke_run: Path) -> None:
    config = yaml.safe_load((smoke_run / "config" / "smoke.yaml").read_text())
    summary = pd.read_csv(smoke_run / "results" / "summary.csv")
    assert set(summary["model"]) == set(config["models"])
    assert set(summary["protocol"]) == set(config["protocols"])
    assert (summary["n_seeds"] == len(config["seeds"])).all()
    assert set(summary["setting"]) == {"faithful", "tuned"}
    faithful = summary[summary.setting == "faithful"]
    ndcg = faithful[(faithful.metric == "ndcg@10") & (faithful.protocol == "random")].set_index("model")
    assert ndcg.loc["popularity", "mean"] > 5 * ndcg.loc["random", "mean"]
    assert ndcg.loc["ease", "mean"] > ndcg.loc["popularity", "mean"]
    assert "rmse" in set(summary[summary.model == "biased_mf"]["metric"])
    for run in (smoke_run / "results" / "runs").glob("*/*/*/*/seed*"):
        assert (run / "metrics.json").is_file() and (run / "per_user.parquet").is_file()
    assert list((smoke_run / "results" / "benchmarks").rglob("*.tsv"))
    # One search per seed (trial 0 faithful); each seed's tuned run fits its own search's winner.
    trials = config["tuning"]["trials"]
    for seed in config["seeds"]:
        path = smoke_run / f"results/tuning/ml-100k/random/two_tower/seed{seed}.json"
        record = json.loads(path.read_text())
        assert [t["trial"] for t in record["trials"]] == list(range(trials)) and record["replicate"] == seed
        assert record["trials"][0]["overrides"] == {}
        run = json.loads((smoke_run / f"results/runs/ml-100k/random/two_tower/tuned/seed{seed}/metrics.json")
                         .read_text())  # fmt: skip
        assert all(run["params"][k] == v for k, v in record["params"].items())
    curves = pd.read_csv(smoke_run / "results" / "tuning" / "curves.csv")
    assert set(curves["model"]) == set(config["models"])
    assert set(curves["trials"]) == set(range(1, trials + 1))
    assert set(curves["replicate"]) == set(config["seeds"])
    convergence = pd.read_csv(smoke_run / "results" / "tuning" / "convergence.csv")
    row = convergence[(convergence.model == "two_tower") & (convergence.protocol == "random")].iloc[0]
    tests = [json.loads((smoke_run / f"results/runs/ml-100k/random/two_tower/tuned/seed{s}/metrics.json")
                        .read_text())["metrics"]["ndcg@10"] for s in config["seeds"]]  # fmt: skip
    assert row["replicates"] == len(config["seeds"])
    assert row["test_mean"] == pytest.approx(sum(tests) / len(tests))


@pytest.mark.slow
def test_smoke_dag_compiles_the_paper_naming_every_model(smoke_run: Path) -> None:
    """The two-column main paper (at most 12 pages) and its supplement, each naming every model;
    no unresolved reference ("??") in either."""
    config = yaml.safe_load((smoke_run / "config" / "smoke.yaml").read_text())
    for name in ("main.pdf", "supplement.pdf"):
        pdf = smoke_run / "paper" / name
        assert pdf.is_file() and pdf.stat().st_size > 10_000, name
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        text = " ".join(text.split())
        for model in config["models"]:
            assert model in text or model.replace("_", " ") in text, (name, model)
        assert "??" not in text, name
    info = subprocess.run(["pdfinfo", str(smoke_run / "paper" / "main.pdf")], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip
    assert int(info.split("Pages:", 1)[1].split()[0]) <= 12
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
    for name in ("headline_ci.png", "critical_difference.png", "main.csv", "main.pdf", "supplement.pdf"):
        assert name in html, name


@pytest.mark.slow
def test_rerun_has_nothing_to_do(smoke_run: Path, shared_data_dir: str) -> None:
    proc = run_snakemake(smoke_run, "--configfile", "config/smoke.yaml", "-n", data_dir=shared_data_dir)
    assert proc.returncode == 0
    assert "Nothing to be done" in proc.stdout + proc.stderr


def _data_copy(shared_data_dir: str, folder: Path) -> Path:
    """A copy of the shared ``ml-100k/`` (fresh file times) in ``folder``."""
    shutil.copytree(Path(shared_data_dir) / "ml-100k", folder / "ml-100k")
    return folder


def _files(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` with its modification time (ns) and size."""
    return {str(p): (p.stat().st_mtime_ns, p.stat().st_size) for p in folder.rglob("*") if p.is_file()}


@pytest.mark.slow
def test_data_is_identified_by_its_content_not_its_folder(tmp_path: Path, shared_data_dir: str) -> None:
    """The same verified files in another folder (environment or config data_dir) rerun nothing;
    a corrupt copy stops with one line before any job and leaves every output as it was."""
    workdir = workflow_copy(tmp_path / "work")
    config = yaml.safe_load((ROOT / "config" / "smoke.yaml").read_text())
    config.update(protocols=["random"], seeds=[1], settings=["faithful"], models={"popularity": {}})
    (workdir / "config" / "mine.yaml").write_text(yaml.safe_dump(config))
    args = ("results/summary.csv", "--configfile", "config/mine.yaml")
    first = _data_copy(shared_data_dir, tmp_path / "first")
    proc = run_snakemake(workdir, *args, data_dir=str(first))
    assert proc.returncode == 0, proc.stderr[-3000:]
    moved = _data_copy(shared_data_dir, tmp_path / "moved")
    for extra, env in (((), str(moved)), (("--config", f"data_dir={moved}"), "")):
        dry = run_snakemake(workdir, *args, *extra, "-n", data_dir=env)
        assert dry.returncode == 0, dry.stderr[-3000:]
        assert "Nothing to be done" in dry.stdout + dry.stderr, (extra, dry.stdout + dry.stderr)
    bad = _data_copy(shared_data_dir, tmp_path / "bad")
    data = bad / "ml-100k" / "u.data"
    data.write_bytes(data.read_bytes()[:-100])
    before = _files(workdir / "results")
    failed = run_snakemake(workdir, *args, data_dir=str(bad))
    assert failed.returncode != 0
    assert [line for line in failed.stderr.splitlines() if line.strip()] == [
        f"recrepro: error: ml-100k: {data} is corrupt or truncated (SHA-256 mismatch); replace it "
        "with the file from the official ml-100k.zip"
    ]
    assert _files(workdir / "results") == before
    back = run_snakemake(workdir, *args, "-n", data_dir=str(first))
    assert "Nothing to be done" in back.stdout + back.stderr


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
    config.update(protocols=["random"], seeds=[1], settings=["faithful"])
    config.update(models={"popularity": {}, "my_model": {"alpha": 2.0}})
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
    config.update(protocols=["random"], seeds=[1], settings=["faithful"])
    config.update(models={"popularity": {}, "ease": {"max_items": 100}})
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


def _job_inputs(dry_run_output: str, rule: str) -> list[list[str]]:
    """The input files of every ``rule`` job in a dry run's job listing."""
    jobs = []
    for block in dry_run_output.split("\nrule ")[1:]:
        name, _, body = block.partition(":")
        if name.strip() == rule:
            line = next((x for x in body.splitlines() if x.strip().startswith("input:")), "input:")
            jobs.append([f.strip() for f in line.split("input:", 1)[1].split(",") if f.strip()])
    return jobs


def test_tuning_never_reads_a_test_part_and_each_seed_searches_its_own_split(
    tmp_path: Path, shared_data_dir: str
) -> None:
    """Model selection (tune_model) has no test file among its inputs: one job per (protocol,
    model) searches once on each seed's train/valid parts; the tuning curves fit nothing."""
    workdir = workflow_copy(tmp_path)
    proc = run_snakemake(workdir, "-n", "--configfile", "config/smoke.yaml", data_dir=shared_data_dir)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout + proc.stderr
    tune = _job_inputs(out, "tune_model")
    assert len(tune) == 2 * 5  # protocols x models, random and popularity included
    for inputs in tune:
        assert not [f for f in inputs if "test" in Path(f).name], inputs
        splits = [f for f in inputs if "splits" in f]
        assert {f.split("/seed")[1][0] for f in splits} == {"1", "2"}, inputs
    assert not _job_inputs(out, "tuning_budget")  # no rule refits incumbents on the test part
    curves = _job_inputs(out, "tuning_curves")
    assert len(curves) == 1 and not [f for f in curves[0] if f.endswith(".parquet")]


def _rerun_rules(dry_run_output: str) -> set[str]:
    """The rules of a dry run's job table ("Job stats"), or none if there is nothing to do."""
    if "Nothing to be done" in dry_run_output:
        return set()
    table = dry_run_output.split("Job stats:", 1)[1].split("total", 1)[0]
    rows = [line.split() for line in table.splitlines()]
    return {row[0] for row in rows if len(row) == 2 and row[1].isdigit()}


def test_editing_report_or_stats_code_reruns_their_rules(tmp_path: Path, shared_data_dir: str) -> None:
    """The report rules list the code of recrepro.report as inputs, compute_stats that of
    recrepro.stats (recrepro.core.layout.package_code): in a study whose every file is up to date, an
    edit of a report module reruns the report rules and nothing else, an edit of a statistics
    module reruns compute_stats and what reads it. Run on a copy of the package, the one the
    workflow imports (PYTHONPATH), so the checkout's own code is never touched."""
    workdir = workflow_copy(tmp_path / "work")
    site = tmp_path / "site"
    package = ROOT / "src" / "recrepro"
    shutil.copytree(package, site / "recrepro", ignore=shutil.ignore_patterns("__pycache__"))
    config = yaml.safe_load((workdir / "config" / "smoke.yaml").read_text())
    config["paper"] = {**(config.get("paper") or {}), "compile": False}
    (workdir / "config" / "code.yaml").write_text(yaml.safe_dump(config))

    def snakemake(*extra: str) -> str:
        proc = run_snakemake(workdir, "--configfile", "config/code.yaml", *extra, data_dir=shared_data_dir,
                             PYTHONPATH=str(site))  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc.stdout + proc.stderr

    # every file of the study, present and up to date (nothing is computed)
    for line in snakemake("--summary").splitlines():
        name, _, rest = line.partition("\t")
        if rest and name != "output_file":
            (workdir / name).parent.mkdir(parents=True, exist_ok=True)
            (workdir / name).touch()
    snakemake("--touch")
    assert _rerun_rules(snakemake("-n")) == set()
    report = {"figure_data", "make_tables", "make_figures", "make_numbers", "all"}

    style = site / "recrepro" / "report" / "style.py"
    style.write_text(style.read_text() + "\n# an edit of the report code\n")
    assert _rerun_rules(snakemake("-n")) == report
    snakemake("--touch")
    assert _rerun_rules(snakemake("-n")) == set()
    paired = site / "recrepro" / "stats" / "paired.py"
    paired.write_text(paired.read_text() + "\n# an edit of the statistics code\n")
    assert _rerun_rules(snakemake("-n")) == {"compute_stats"} | report - {"figure_data"}  # reads no stats


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
    config.update(protocols=["random"], seeds=[1], settings=["faithful"])
    config.update(models={"popularity": {}, "fragile": {}})
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
    assert "evaluated" in (log / "faithful.log").read_text()  # it was writing its files...
    assert not [p for p in (run / "fragile").rglob("*") if p.is_file()]  # ...which Snakemake removed
    assert not (workdir / "results" / "summary.csv").exists()
    resumed = run_snakemake(workdir, *args, data_dir=shared_data_dir, RECREPRO_MODEL_PATH=str(extra))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "train_and_evaluate" in resumed.stdout + resumed.stderr
    log = (resumed.stdout + resumed.stderr).splitlines()
    done = [line for line in log if " of " in line and "steps" in line]
    assert done and done[-1].strip().startswith("2 of 2 steps")  # only the killed run and the summary
    assert set(pd.read_csv(workdir / "results" / "summary.csv")["model"]) == {"popularity", "fragile"}


STOPPING_MODEL = '''
import os, signal
from recrepro.models.nonpersonalized import PopularityRecommender
from recrepro.models.registry import register

@register("stopper")
class Stopper(PopularityRecommender):
    """Popularity, except that with RECREPRO_TEST_STOP set its fit sends SIGTERM to its process
    group, as `kill -TERM -PGID` or a closing terminal would (snakemake and its jobs)."""
    source = "test"

    def fit(self, train, valid, rng):
        if os.environ.get("RECREPRO_TEST_STOP"):
            os.killpg(0, signal.SIGTERM)
        return super().fit(train, valid, rng)
'''


@pytest.mark.slow
def test_a_stopped_run_says_it_stopped_and_resumes_without_unlock(
    tmp_path: Path, shared_data_dir: str
) -> None:
    from recrepro.core.stop import STOPPED

    workdir = workflow_copy(tmp_path / "work")
    extra = tmp_path / "extra_models"
    extra.mkdir()
    (extra / "stopper.py").write_text(STOPPING_MODEL)
    config = yaml.safe_load((ROOT / "config" / "smoke.yaml").read_text())
    config.update(protocols=["random"], seeds=[1], settings=["faithful"], models={"stopper": {}})
    (workdir / "config" / "mine.yaml").write_text(yaml.safe_dump(config))
    args = ("results/summary.csv", "--configfile", "config/mine.yaml")
    env = _env(RECREPRO_DATA_DIR=shared_data_dir, RECREPRO_MODEL_PATH=str(extra))
    stopped = subprocess.run(  # its own session: the SIGTERM reaches snakemake and its jobs only
        [sys.executable, "-m", "snakemake", "--cores", "2", *args], cwd=workdir,
        env={**env, "RECREPRO_TEST_STOP": "1"}, capture_output=True, text=True, start_new_session=True,
    )  # fmt: skip
    assert stopped.returncode != 0
    assert stopped.stderr.splitlines()[-1] == STOPPED
    assert "At least one job did not complete successfully" not in stopped.stderr
    assert (workdir / "results" / "splits" / "ml-100k" / "random" / "seed1" / "train.parquet").is_file()
    assert not list((workdir / ".snakemake" / "locks").glob("*"))
    resumed = run_snakemake(workdir, *args, data_dir=shared_data_dir, RECREPRO_MODEL_PATH=str(extra))
    assert resumed.returncode == 0, resumed.stderr[-3000:]  # no `snakemake --unlock` needed


def test_reproduce_target_runs_published_splits_through_the_dag(tmp_path: Path, shared_data_dir: str) -> None:
    """`snakemake reproduce` on a small reproduction config: GroupLens' ua split, the study's
    lightfm_warp and LightFM's own example code, then the table with one verdict per row."""
    import pandas as pd

    workdir = workflow_copy(tmp_path / "work")
    config = yaml.safe_load((ROOT / "config" / "reproduce.yaml").read_text())
    config.update(protocols=["grouplens_ua"], seeds=[1, 2], models={"lightfm_warp": {"epochs": 2}},
                  experiments=["lightfm_example"])
    (workdir / "config" / "mine.yaml").write_text(yaml.safe_dump(config))
    proc = run_snakemake(workdir, "reproduce", "--configfile", "config/mine.yaml", data_dir=shared_data_dir)
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = pd.read_csv(workdir / "results" / "reproduction" / "table.csv")
    refs = pd.read_csv(ROOT / "config" / "reference_numbers.csv")
    assert len(table) == len(refs)  # one row per reference row
    ran = table[table["protocol"] == "grouplens_ua"]
    assert (ran["n_seeds"] == 2).all()
    assert set(ran["model"]) == {"lightfm_warp", "experiment:lightfm_example"}
    reproductions = table[table["kind"] == "reproduction"]
    on_ua = reproductions["protocol"] == "grouplens_ua"
    assert (reproductions.loc[on_ua, "verdict"] == "too few seeds").all()
    assert (reproductions.loc[~on_ua, "verdict"] == "not run").all()
    split = workdir / "results" / "splits" / "ml-100k" / "grouplens_ua"
    tests = [pd.read_parquet(split / f"seed{seed}" / "test.parquet") for seed in (1, 2)]
    assert tests[0].equals(tests[1]) and len(tests[0]) == 9430  # ua.test: 10 ratings per user
