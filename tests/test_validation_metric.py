"""The per-epoch validation metric follows the metric the study tunes on (``tuning.metric`` /
``tuning.metrics``): the search's per-epoch reports, early stopping, and the runs' histories."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import run_snakemake, workflow_copy
from recrepro.cli import main
from recrepro.evaluation.evaluate import validation_score
from recrepro.models import build_model
from recrepro.study.tuning import search

#: The smallest TF retrieval model that learns on the synthetic split (2 epochs).
TINY_TF = {"embedding_dim": 8, "batch_size": 256, "epochs": 2}


def test_the_monitored_metric_is_the_callers_and_not_a_hyperparameter() -> None:
    """Unset, each model keeps its own default (today's numbers); set, it comes first."""
    expected = {
        "collaborative": (("ndcg@10",), ("recall@20",)),
        "lightfm_warp": (("ndcg@10",), ("recall@20",)),
        "multitask": (("ndcg@10", "rmse"), ("recall@20", "rmse")),
        "rating_nn": (("rmse",), ("recall@20", "rmse")),  # rating only: RMSE by default
    }
    for name, (own, tuned) in expected.items():
        model = build_model(name)
        params = dict(model.params)
        assert model.validation_metrics == own, name
        model.validation_metric = "recall@20"
        assert model.validation_metrics == tuned and model.params == params, name
    model = build_model("rating_nn")
    model.validation_metric = "rmse"
    assert model.validation_metrics == ("rmse",)


def test_a_tf_model_logs_and_early_stops_on_the_tuning_metric(synthetic_split) -> None:
    model = build_model("collaborative", {**TINY_TF, "epochs": 3, "patience": 3})
    model.validation_metric = "recall@20"
    model.fit(synthetic_split.train, synthetic_split.valid, np.random.default_rng(0))
    assert [sorted(h) for h in model.history] == [["epoch", "loss", "val_recall@20"]] * 3
    recalls = [h["val_recall@20"] for h in model.history]
    # the best epoch's weights by recall@20 are kept
    final = validation_score(model, synthetic_split.train, synthetic_split.valid, metric="recall@20")
    assert final == pytest.approx(max(recalls))


def test_a_search_on_recall_gets_a_value_per_epoch(synthetic_split) -> None:
    """With ``tuning.metric: recall@20`` a TF trial reports ``val_recall@20`` after each epoch
    (pruning's signal); the last one is the trial's score."""
    split = SimpleNamespace(train=synthetic_split.train, valid=synthetic_split.valid)
    record = search("synthetic", "random", "collaborative", TINY_TF, {}, split, trials=1,
                    metric="recall@20", seed=0, replicate=1)  # fmt: skip
    trial = record["trials"][0]
    assert trial["state"] == "complete" and record["metric"] == "recall@20"
    assert [epoch for epoch, _ in trial["intermediate"]] == [1, 2]
    assert trial["intermediate"][-1][1] == pytest.approx(trial["score"])


def test_a_run_validates_on_the_metric_it_is_given(tmp_path: Path, synthetic_split) -> None:
    """``recrepro train-evaluate --validation-metric`` (what the workflow passes): the run's
    history holds that metric; the recorded hyperparameters do not mention it."""
    data, split = tmp_path / "data", tmp_path / "split"
    for folder in (data, split):
        folder.mkdir()
    synthetic_split.catalogue.users.to_parquet(data / "users.parquet")
    synthetic_split.catalogue.items.to_parquet(data / "items.parquet")
    for part in ("train", "valid", "test"):
        getattr(synthetic_split, part).to_frame().to_parquet(split / f"{part}.parquet")
    params = {"epochs": 2, "no_components": 8}
    out = tmp_path / "run"
    assert main(["train-evaluate", "--dataset", "synthetic", "--protocol", "random", "--model",
                 "lightfm_warp", "--setting", "faithful", "--seed", "1", "--params", json.dumps(params),
                 "--evaluation", json.dumps({"ks": [10]}), "--data", str(data), "--split", str(split),
                 "--out", str(out), "--validation-metric", "recall@20"]) == 0  # fmt: skip
    history = pd.read_csv(out / "history.csv")
    assert "val_recall@20" in history and "val_ndcg@10" not in history
    assert len(history) == 2 and history["val_recall@20"].between(0, 1).all()
    recorded = json.loads((out / "metrics.json").read_text())["params"]
    assert recorded == build_model("lightfm_warp", params).params  # no trace of the metric


def test_the_workflow_tunes_and_runs_each_model_on_the_same_metric(
    tmp_path: Path, shared_data_dir: str
) -> None:
    """A dry run with ``tuning.metric: recall@20``: every tune and train-evaluate command of a
    model carries its tuning metric (rating-only models keep ``tuning.metrics``' RMSE)."""
    workdir = workflow_copy(tmp_path)
    config = yaml.safe_load((workdir / "config" / "smoke.yaml").read_text())
    config["tuning"]["metric"] = "recall@20"
    (workdir / "config" / "recall.yaml").write_text(yaml.safe_dump(config))
    proc = run_snakemake(workdir, "-n", "-p", "--configfile", "config/recall.yaml", data_dir=shared_data_dir)
    assert proc.returncode == 0, proc.stderr[-2000:]
    seen: dict[tuple[str, str], set[str]] = {}
    for command, model, metric in re.findall(
        r"recrepro .*? (tune|train-evaluate) .*?--model (\S+) .*?--(?:validation-)?metric (\S+)",
        proc.stdout + proc.stderr,
    ):
        seen.setdefault((model, command), set()).add(metric)
    expected = {"random": "recall@20", "popularity": "recall@20", "ease": "recall@20",
                "two_tower": "recall@20", "biased_mf": "rmse"}  # fmt: skip
    assert seen == {(m, c): {metric} for m, metric in expected.items() for c in ("tune", "train-evaluate")}
