"""`recrepro show RUN_DIR`: a run's identity, data, revision and headline metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recrepro.cli import main
from recrepro.tools.show import headline_metrics

SUMS = {"results/splits/ml-100k/random/seed2/test.parquet": "c" * 64,
        "results/data/ml-100k/items.parquet": "a" * 64}  # fmt: skip


def _run_folder(root: Path, metrics: dict | None = None, **provenance) -> Path:
    run = root / "results" / "runs" / "ml-100k" / "random" / "ease" / "tuned" / "seed2"
    run.mkdir(parents=True)
    record = {
        "dataset": "ml-100k", "protocol": "random", "model": "ease", "setting": "tuned", "seed": 2,
        "status": "ok", "params": {"l2": 250.5, "max_items": 20000},
        "metrics": metrics if metrics is not None else
        {"ndcg@5": 0.3, "ndcg@10": 0.41234, "recall@10": 0.2, "hit@20": 0.9, "rmse": 1.5, "fit_seconds": 2.0},
    }  # fmt: skip
    (run / "metrics.json").write_text(json.dumps(record))
    prov = {"git_commit": "abc123", "git_dirty": True, "git_diff_sha256": "d" * 64,
            "derived_seed": 77, "data_sha256": SUMS, **provenance}  # fmt: skip
    (run / "provenance.json").write_text(json.dumps(prov))
    return run


def test_show_prints_what_the_run_was_and_what_it_scored(tmp_path: Path, capsys) -> None:
    run = _run_folder(tmp_path)
    assert main(["show", str(run)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:8] == [
        f"run:             {run}",
        "model:           ease",
        "dataset:         ml-100k, protocol random",
        "setting:         tuned",
        "seed:            2 (derived seed 77)",
        "status:          ok",
        "hyperparameters: l2=250.5, max_items=20000",
        f"revision:        commit abc123, dirty yes (diff SHA-256 {'d' * 64})",
    ]
    assert out[8:11] == [
        "data SHA-256:",
        f"  {'a' * 64}  results/data/ml-100k/items.parquet",
        f"  {'c' * 64}  results/splits/ml-100k/random/seed2/test.parquet",
    ]
    assert out[11:] == [
        "metrics:",
        "  ndcg@10        0.4123",
        "  recall@10      0.2000",
        "  rmse           1.5000",
        "  fit_seconds    2.0000",
    ]


def test_show_of_an_old_or_clean_run_says_what_is_not_recorded(tmp_path: Path, capsys) -> None:
    run = _run_folder(tmp_path, metrics={}, git_dirty=False, git_diff_sha256=None, data_sha256=None)
    assert main(["show", str(run)]) == 0
    out = capsys.readouterr().out
    assert "revision:        commit abc123, dirty no\n" in out
    assert "data SHA-256: not recorded\n" in out and out.endswith("metrics: none\n")


def test_show_of_a_folder_that_is_no_run_is_one_line(tmp_path: Path, capsys) -> None:
    assert main(["show", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"recrepro: error: {tmp_path / 'metrics.json'} is missing; give a finished run folder "
        "(results/runs/DATASET/PROTOCOL/MODEL/SETTING/seedN)\n"
    )


@pytest.mark.parametrize(
    ("names", "shown"),
    [(["ndcg@5", "ndcg@20", "mae"], ["ndcg@5", "mae"]), (["fit_seconds"], ["fit_seconds"])],
)
def test_headline_k_is_10_else_the_smallest(names: list[str], shown: list[str]) -> None:
    assert list(headline_metrics(dict.fromkeys(names, 0.5))) == shown
