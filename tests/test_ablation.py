"""The ablation table: each seed model's addition removed, against the model, by the crossed test."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recrepro.core.config import load_yaml
from recrepro.core.errors import ConfigError
from recrepro.core.runs import RunKey
from recrepro.stats.ablation import ablation_markdown, ablation_table
from recrepro.stats.crossed import crossed_test
from recrepro.study.config_check import check_config

REPO = Path(__file__).resolve().parents[1]


def _per_user(root: Path, model: str, setting: str, seed: int, values: np.ndarray) -> Path:
    path = RunKey("d", "random", model, setting, seed).path(root) / "per_user.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"user": np.arange(len(values)), "ndcg@10": values}).to_parquet(path)
    return path


def test_gain_is_the_crossed_test_of_model_minus_ablation(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    full = rng.random((40, 3))
    ablated = full - 0.05 + 0.02 * rng.standard_normal((40, 3))
    files = []
    for seed in range(3):
        files.append(_per_user(tmp_path, "gnn", "tuned", seed + 1, full[:, seed]))
        files.append(_per_user(tmp_path, "gnn__no_propagation", "tuned", seed + 1, ablated[:, seed]))
    table = ablation_table(files, {"gnn__no_propagation": {"n_layers": 0}}, ["ndcg@10"])
    assert len(table) == 1
    row = table.iloc[0]
    expected = crossed_test(full - ablated)
    assert row["gain"] == pytest.approx(expected.mean) and abs(row["gain"] - 0.05) < 0.01
    assert row["ci_low"] == pytest.approx(expected.ci_low)
    assert row["ci_high"] == pytest.approx(expected.ci_high)
    assert (row["model"], row["removed"], row["n_users"], row["n_seeds"]) == ("gnn", "n_layers = 0", 40, 3)
    assert row["model_mean"] == pytest.approx(full.mean())
    assert "| gnn | n_layers = 0 | tuned | ndcg@10 |" in ablation_markdown(table)
    with pytest.raises(ConfigError, match="per-user means only"):
        ablation_table(files, {"gnn__no_propagation": {"n_layers": 0}}, ["rmse"])


def test_an_ablation_of_a_model_the_study_does_not_run_stops_with_one_line() -> None:
    config = load_yaml(REPO / "config" / "smoke.yaml")
    config["ablations"] = {"gnn__no_propagation": {"n_layers": 0}}
    with pytest.raises(ConfigError, match="ablation 'gnn__no_propagation' removes a part of model 'gnn'"):
        check_config(config)
    config["ablations"] = {"two_tower__small": {"no_such_parameter": 1}}
    with pytest.raises(ConfigError, match="no_such_parameter"):
        check_config(config)


def test_default_study_ablates_every_seed_models_addition() -> None:
    config = check_config(load_yaml(REPO / "config" / "config.yaml"))
    assert {name.split("__")[0] for name in config["ablations"]} == {
        "gnn", "knn_embedding", "session", "wide_deep", "enhanced_retrieval", "multitask"}
