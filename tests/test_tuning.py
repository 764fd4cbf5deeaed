"""The shared hyperparameter search: seeded, faithful first, validation only."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from recrepro.evaluation.evaluate import validation_score
from recrepro.models import build_model
from recrepro.tuning import candidates, tune


def test_candidates_start_with_faithful_and_are_seeded() -> None:
    space = {"a": [1, 2, 3], "b": [0.1, 0.2]}
    first = candidates(space, 4, np.random.default_rng(5))
    again = candidates(space, 4, np.random.default_rng(5))
    assert first == again and first[0] == {} and len(first) == 4
    assert len({json.dumps(c, sort_keys=True) for c in first}) == 4  # no repeats
    assert len(candidates(space, 50, np.random.default_rng(0))) == 1 + 6  # whole grid
    assert candidates({}, 8, np.random.default_rng(0)) == [{}]


def _write_split(tmp_path: Path, synthetic_split) -> tuple[Path, Path]:
    data, split = tmp_path / "data", tmp_path / "split"
    data.mkdir()
    split.mkdir()
    cat = synthetic_split.catalogue
    cat.users.to_parquet(data / "users.parquet")
    cat.items.to_parquet(data / "items.parquet")
    synthetic_split.train.to_frame().to_parquet(split / "train.parquet")
    synthetic_split.valid.to_frame().to_parquet(split / "valid.parquet")
    return data, split


def test_tune_picks_the_best_validation_score_and_never_reads_test(tmp_path: Path, synthetic_split) -> None:
    data, split = _write_split(tmp_path, synthetic_split)
    # A poisoned test part: tuning must not depend on it.
    poisoned = synthetic_split.test.to_frame().assign(rating=-99.0)
    poisoned.to_parquet(split / "test.parquet")
    space = {"l2": [1.0, 50.0, 5000.0]}
    record = tune("synthetic", "random", "ease", {}, space, trials=4, metric="ndcg@10", seed=0,
                  data_dir=data, split_dir=split, out=tmp_path / "best.json")  # fmt: skip
    scores = {}
    for l2 in [build_model("ease").params["l2"], *space["l2"]]:
        model = build_model("ease", {"l2": l2})
        model.fit(synthetic_split.train, synthetic_split.valid, np.random.default_rng(0))
        scores[l2] = validation_score(model, synthetic_split.train, synthetic_split.valid)
    assert record["params"]["l2"] == max(scores, key=scores.get)
    assert record["score"] == max(scores.values())
    assert json.loads((tmp_path / "best.json").read_text())["params"] == record["params"]
    assert pd.DataFrame(record["trials"])["trial"].tolist() == [0, 1, 2, 3]


def test_rating_models_minimise_rmse(synthetic_split) -> None:
    model = build_model("biased_mf", {"epochs": 2}).fit(synthetic_split.train, None, np.random.default_rng(0))
    rmse = validation_score(model, synthetic_split.train, synthetic_split.valid, metric="rmse")
    assert 0 < rmse < 2


def test_candidates_a_model_refuses_are_recorded_not_chosen(tmp_path: Path, synthetic_split) -> None:
    data, split = _write_split(tmp_path, synthetic_split)
    args = dict(trials=3, metric="ndcg@10", seed=0, data_dir=data, split_dir=split)
    mixed = tune("synthetic", "random", "ease", {"max_items": 10}, {"max_items": [10, 1000]},
                 out=tmp_path / "mixed.json", **args)  # fmt: skip
    assert mixed["params"]["max_items"] == 1000 and "status" not in mixed
    assert [t.get("status") for t in mixed["trials"]] == ["not_applicable", "not_applicable", None]
    refused = tune("synthetic", "random", "ease", {"max_items": 10}, {}, out=tmp_path / "none.json", **args)
    assert refused["status"] == "not_applicable" and refused["score"] is None
    assert refused["params"]["max_items"] == 10 and "more than max_items=10" in refused["reason"]
