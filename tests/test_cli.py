"""The command line: one-line errors, thread settings, recommendations read back from a run."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recrepro.cli import main
from recrepro.core.io import sha256_file
from recrepro.core.runs import RUN_FILES, RunKey
from recrepro.data.synthetic import make_synthetic
from recrepro.models.registry import available_models, get_model_class
from recrepro.study.runner import train_and_evaluate
from recrepro.study.summarize import collect_metrics, collect_skipped, summarize


def _write_dataset(root: Path) -> tuple[Path, Path]:
    tables = make_synthetic(n_users=60, n_items=40, interactions_per_user=12, seed=1)
    data = root / "data" / "synthetic"
    data.mkdir(parents=True)
    for name, frame in tables.items():
        frame.to_parquet(data / f"{name}.parquet")
    split = root / "splits"
    assert main(["split", "--dataset", "synthetic", "--protocol", "random", "--seed", "1",
                 "--data", str(data), "--out", str(split)]) == 0  # fmt: skip
    return data, split


def test_run_writes_every_file_and_is_reproducible(tmp_path: Path) -> None:
    data, split = _write_dataset(tmp_path)
    key = RunKey("synthetic", "random", "popularity", "faithful", 1)
    evaluation = {"ks": [5, 10]}
    first = train_and_evaluate(key, {}, evaluation, data, split, tmp_path / "a")
    second = train_and_evaluate(key, {}, evaluation, data, split, tmp_path / "b")
    assert first["metrics"].keys() == second["metrics"].keys()
    for name in first["metrics"]:
        if name != "fit_seconds":
            assert first["metrics"][name] == second["metrics"][name], name
    for name in ("metrics.json", "per_user.parquet", "topk.parquet", "history.csv", "provenance.json"):
        assert (tmp_path / "a" / name).is_file(), name
    topk = pd.read_parquet(tmp_path / "a" / "topk.parquet")
    per_user = pd.read_parquet(tmp_path / "a" / "per_user.parquet")
    assert topk["user"].min() >= 1 and topk["item"].min() >= 1  # MovieLens ids, not indices
    assert topk.groupby("user")["rank"].max().eq(10).all()
    assert np.isclose(per_user["ndcg@10"].mean(), first["metrics"]["ndcg@10"])
    provenance = json.loads((tmp_path / "a" / "provenance.json").read_text())
    expected = {"git_commit", "git_dirty", "git_diff_sha256", "config_hash", "packages", "cpu_count"}
    assert expected | {"wall_seconds"} <= set(provenance)
    parts = (split / f"{part}.parquet" for part in ("train", "valid", "test"))
    inputs = [data / "items.parquet", data / "users.parquet", *parts]
    assert provenance["data_sha256"] == {str(path): sha256_file(path) for path in inputs}


def test_seeds_run_in_one_process_give_the_numbers_of_one_process_each(tmp_path: Path) -> None:
    """A train_and_evaluate job runs every seed in one process (TensorFlow imported once); the
    second seed's run must not depend on the first having run before it."""
    data, _ = _write_dataset(tmp_path)
    for seed in (1, 2):
        assert main(["split", "--dataset", "synthetic", "--protocol", "random", "--seed", str(seed),
                     "--data", str(data), "--out", str(tmp_path / f"splits{seed}")]) == 0  # fmt: skip

    def run(seeds: list[str], out: str) -> None:
        command = [sys.executable, "-m", "recrepro.cli", "train-evaluate", "--dataset", "synthetic",
                   "--protocol", "random", "--model", "session", "--setting", "faithful",
                   "--seed", *seeds, "--params", '{"epochs": 2, "batch_size": 128}',
                   "--evaluation", '{"ks": [5]}', "--data", str(data),
                   "--split", str(tmp_path / "splits{seed}"), "--out", out]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr[-2000:]

    run(["1", "2"], str(tmp_path / "together" / "seed{seed}"))
    run(["2"], str(tmp_path / "alone" / "seed2"))
    together, alone = (json.loads((tmp_path / d / "seed2" / "metrics.json").read_text())["metrics"]
                       for d in ("together", "alone"))  # fmt: skip
    together.pop("fit_seconds"), alone.pop("fit_seconds")
    assert together == alone
    first = json.loads((tmp_path / "together" / "seed1" / "metrics.json").read_text())["metrics"]
    assert first["ndcg@5"] != together["ndcg@5"]  # the seeds differ: the comparison can fail


def test_a_models_libraries_are_imported_before_its_fit_is_timed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fit_seconds leaves out one-time imports, so the first seed of a job is not slower."""
    from recrepro.models.nonpersonalized import PopularityRecommender

    data, split = _write_dataset(tmp_path)
    imported: list[str] = []
    imported_at_fit: list[list[str]] = []
    fit = PopularityRecommender.fit

    def recording_fit(self, *args):  # noqa: ANN001, ANN202
        imported_at_fit.append(list(imported))
        return fit(self, *args)

    monkeypatch.setattr(PopularityRecommender, "libraries", ("tensorflow_recommenders",))
    monkeypatch.setattr(PopularityRecommender, "fit", recording_fit)
    monkeypatch.setattr("recrepro.study.runner.import_quietly", imported.append)
    key = RunKey("synthetic", "random", "popularity", "faithful", 1)
    train_and_evaluate(key, {}, {"ks": [5]}, data, split, tmp_path / "run")
    assert imported_at_fit == [["tensorflow_recommenders"]]


def test_every_models_libraries_exist() -> None:
    for name in available_models():
        for library in get_model_class(name).libraries:
            assert importlib.util.find_spec(library) is not None, (name, library)
    assert "tensorflow" in get_model_class("two_tower").libraries


def test_several_seeds_need_a_seed_field_in_the_paths(tmp_path: Path, capsys) -> None:
    code = main(["train-evaluate", "--dataset", "synthetic", "--protocol", "random", "--model",
                 "popularity", "--setting", "faithful", "--seed", "1", "2", "--data", "d",
                 "--split", "s", "--out", "o"])  # fmt: skip
    assert code == 1
    assert capsys.readouterr().err.strip() == (
        "recrepro: error: with several --seed values, --split and --out must contain {seed}"
    )


def test_a_model_that_refuses_the_dataset_is_recorded_as_not_applicable(tmp_path: Path) -> None:
    data, split = _write_dataset(tmp_path)
    run = tmp_path / "runs" / "synthetic" / "random" / "ease" / "faithful" / "seed1"
    code = main(["train-evaluate", "--dataset", "synthetic", "--protocol", "random", "--model", "ease",
                 "--setting", "faithful", "--seed", "1", "--params", '{"max_items": 10}',
                 "--evaluation", '{"ks": [5]}', "--data", str(data), "--split", str(split),
                 "--out", str(run)])  # fmt: skip
    assert code == 0  # a refusal is a recorded outcome, not a failed job
    record = json.loads((run / "metrics.json").read_text())
    assert record["status"] == "not_applicable" and record["metrics"] == {}
    assert "catalogue has 40 items, more than max_items=10" in record["reason"]
    for name in RUN_FILES:
        assert (run / name).is_file(), name
    assert pd.read_parquet(run / "per_user.parquet").empty
    assert list(pd.read_parquet(run / "topk.parquet").columns) == ["user", "rank", "item", "score"]
    assert summarize(collect_metrics([run / "metrics.json"])).empty
    skipped = collect_skipped([run / "metrics.json"])
    assert skipped[["model", "seed"]].values.tolist() == [["ease", 1]]
    assert skipped["reason"].iloc[0] == record["reason"]


@pytest.fixture
def finished_runs(tmp_path: Path) -> Path:
    """A results folder with popularity's faithful runs of seeds 1 and 2 (K up to 5)."""
    data, split = _write_dataset(tmp_path)
    for seed in (1, 2):
        run = tmp_path / "runs" / "synthetic" / "random" / "popularity" / "faithful" / f"seed{seed}"
        train_and_evaluate(RunKey("synthetic", "random", "popularity", "faithful", seed), {},
                           {"ks": [5]}, data, split, run)  # fmt: skip
    return tmp_path


def _recommend(results: Path, *args: str) -> list[str]:
    return ["recommend", "--results", str(results), "--dataset", "synthetic", "--model", "popularity", *args]


def test_recommend_prints_titles_of_a_finished_run_and_which_run(finished_runs: Path, capsys) -> None:
    run = finished_runs / "runs" / "synthetic" / "random" / "popularity" / "faithful" / "seed1"
    user = int(pd.read_parquet(run / "topk.parquet")["user"].iloc[0])
    assert main(_recommend(finished_runs, "--user", str(user), "-k", "3")) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    expected = "run: popularity, dataset synthetic, protocol random, setting faithful, seed 1 ("
    assert lines[0].startswith(expected)
    assert len(lines) == 5 and "Synthetic movie" in lines[2]  # run line, header, 3 movies
    assert main(_recommend(finished_runs, "--user", str(user), "--seed", "2")) == 0
    assert "seed 2 (" in capsys.readouterr().out.splitlines()[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "100000"], "user 100000 does not exist; the dataset's user ids are 1-60"),
        (["--seed", "7"], "no finished run of seed 7 in "),
        (["-k", "6"], "-k 6 is more than the 5 movies per user the run kept"),
        (["--setting", "tuned"], "no run of setting 'tuned' in "),
        (["--model", "ease"], "no run of model 'ease' in "),
    ],
)
def test_recommend_errors_name_what_exists(finished_runs: Path, capsys, args: list, message: str) -> None:
    assert main(_recommend(finished_runs, *args)) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("recrepro: error: ") and message in err and "\n" not in err
    if "--seed" in args:
        assert err.endswith("available seeds: 1, 2")
    if "--model" in args:
        assert err.endswith("available: popularity")


@pytest.mark.parametrize("k", ["0", "-3", "five"])
def test_recommend_rejects_a_bad_k(finished_runs: Path, capsys, k: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(_recommend(finished_runs, "-k", k))
    assert exit_.value.code == 2
    assert "argument -k" in capsys.readouterr().err


def test_models_lists_summary_and_source(capsys) -> None:
    from recrepro.models.registry import available_models, get_model_class

    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name in available_models():
        cls = get_model_class(name)
        summary = cls.__doc__.strip().splitlines()[0].replace("``", "")
        assert f"{name:20s} {summary[:40]}" in out, name
        assert f"source: {cls.source}" in out, name
    assert "``" not in out


def _parsers() -> list:
    from recrepro.cli import build_parser

    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return [parser, *subparsers.choices.values()]


def test_every_option_has_plain_text_help(capsys) -> None:
    for parser in _parsers():
        for action in parser._actions:
            if action.dest != "help" and action.__class__.__name__ != "_SubParsersAction":
                assert action.help, f"{parser.prog} {action.option_strings or action.dest}"
        parser.print_help()
    text = capsys.readouterr().out
    for markup in ("``", ":func:", ":class:", ":data:"):
        assert markup not in text, markup


def test_a_failing_call_inside_pytest_leaves_no_logging_errors(tmp_path: Path, capfd) -> None:
    """Handlers live as long as one CLI call: a second call (and later logging) never writes to
    a stream the first call's capture closed ("--- Logging error ---")."""
    import logging

    log = tmp_path / "logs" / "x.log"
    for _ in range(2):
        assert main(["--log", str(log), "recommend", "--results", str(tmp_path), "--model", "nope"]) == 1
        logging.getLogger("recrepro.test").warning("after the call")
        logging.getLogger("fontTools.subset").warning("third-party chatter")
    out, err = capfd.readouterr()
    assert "Logging error" not in out + err and "Traceback" not in err
    assert err.count("recrepro: error: no finished run in") == 2
    assert log.read_text().count("recrepro: error:") == 2
    assert all(type(h).__module__ == "_pytest.logging" for h in logging.getLogger().handlers)
    assert not logging.getLogger("recrepro").handlers


def test_errors_are_one_line(tmp_path: Path) -> None:
    data, split = _write_dataset(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "recrepro.cli", "train-evaluate", "--dataset", "synthetic",
         "--protocol", "random", "--model", "nope", "--setting", "faithful", "--seed", "1",
         "--data", str(data), "--split", str(split), "--out", str(tmp_path / "run")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "unknown model 'nope'; registered models:" in errors[0]
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "run").exists()  # nothing half-written


def test_k_larger_than_catalogue_is_rejected(tmp_path: Path) -> None:
    data, split = _write_dataset(tmp_path)
    code = main(["train-evaluate", "--dataset", "synthetic", "--protocol", "random",
                 "--model", "popularity", "--setting", "faithful", "--seed", "1",
                 "--evaluation", '{"ks": [10, 500]}', "--data", str(data), "--split", str(split),
                 "--out", str(tmp_path / "run")])  # fmt: skip
    assert code == 1 and not (tmp_path / "run" / "metrics.json").exists()


def test_threads_flag_sets_the_thread_variables(monkeypatch) -> None:
    import os

    for name in ("OMP_NUM_THREADS", "RECREPRO_THREADS"):
        monkeypatch.delenv(name, raising=False)
    assert main(["--threads", "3", "models"]) == 0
    assert os.environ["OMP_NUM_THREADS"] == "3" and os.environ["RECREPRO_THREADS"] == "3"


@pytest.mark.parametrize(
    ("model", "params", "message"),
    [
        ("rating_nn", {"learning_rate": 1e12, "epochs": 2}, "model 'rating_nn' diverged: loss is nan"),
        ("two_tower", {"learning_rate": 1e30, "epochs": 2}, "model 'two_tower' returned NaN scores"),
    ],
)
def test_a_diverging_model_fails_its_run_cleanly(tmp_path: Path, model, params, message) -> None:
    data, split = _write_dataset(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "recrepro.cli", "train-evaluate", "--dataset", "synthetic",
         "--protocol", "random", "--model", model, "--setting", "faithful", "--seed", "1",
         "--params", json.dumps(params), "--evaluation", '{"ks": [5]}', "--data", str(data),
         "--split", str(split), "--out", str(tmp_path / "run")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("recrepro: error:")]
    assert len(errors) == 1 and message in errors[0], proc.stderr[-2000:]
    assert not (tmp_path / "run" / "metrics.json").exists()  # no row of NaNs reaches the tables
    for chatter in ("cuInit", "cuda", "oneDNN", "absl::InitializeLog"):  # TensorFlow's, unless --verbose
        assert chatter not in proc.stderr, proc.stderr[-2000:]
