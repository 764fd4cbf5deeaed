"""TFRS tutorials the reproduction adds: the DCN rating model (``recrepro.models.dcn``) and the
efficient-serving experiment (``recrepro.experiments.scann_serving``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recrepro.core.errors import ConfigError
from recrepro.data.splits import split_ratings
from recrepro.data.synthetic import make_synthetic
from recrepro.experiments import scann_serving as serving
from recrepro.models import build_model, get_model_class
from recrepro.models.dcn import AGE_THRESHOLDS, user_feature_indices

FAST = {"batch_size": 256, "epochs": 5}


def rmse(model, part) -> float:
    return float(np.sqrt(np.mean((model.predict(part.user, part.item) - part.rating) ** 2)))


# -- DCN -----------------------------------------------------------------------------------------
def test_dcn_faithful_defaults_are_the_tutorials_recipe() -> None:
    cls = get_model_class("dcn")
    assert cls.defaults == {
        "embedding_dim": 32, "user_features": True, "cross_layers": 1, "projection_dim": None,
        "deep_layers": [192, 192], "optimizer": "adam", "learning_rate": 0.01, "epochs": 8,
        "batch_size": 8192, "patience": 0,
    }  # fmt: skip
    assert cls.predicts_ratings and cls.task == "rating" and cls.tuned_on("ndcg@10") == "rmse"
    assert cls.citation_keys() == ("tfrsDcn", "wang2021dcn") and cls.source
    assert get_model_class("dcn__low_rank") is cls  # the tutorial's other models are variants


def test_dcn_beats_the_global_mean_and_scores_every_movie(synthetic_split) -> None:
    train, valid = synthetic_split.train, synthetic_split.valid
    model = build_model("dcn", FAST).fit(train, valid, np.random.default_rng(0))
    mean_rmse = float(np.sqrt(np.mean((valid.rating - train.rating.mean()) ** 2)))
    assert rmse(model, valid) < mean_rmse - 0.05
    assert [h["epoch"] for h in model.history] == [1, 2, 3, 4, 5]
    assert model.history[-1]["val_rmse"] == pytest.approx(rmse(model, valid), rel=1e-5)
    assert model.history[-1]["loss"] < model.history[0]["loss"]
    scores = model.score(np.array([0, 3]))
    assert scores.shape == (2, train.n_items) and scores.dtype == np.float32
    assert np.isfinite(scores).all()
    items = np.arange(train.n_items)
    np.testing.assert_allclose(scores[1], model.predict(np.full(len(items), 3), items), rtol=1e-5)


def test_dcn_same_seed_same_predictions(synthetic_split) -> None:
    train, test = synthetic_split.train, synthetic_split.test
    fits = [build_model("dcn", {**FAST, "epochs": 1}).fit(train, None, np.random.default_rng(s))
            for s in (7, 7, 8)]  # fmt: skip
    preds = [m.predict(test.user, test.item) for m in fits]
    np.testing.assert_array_equal(preds[0], preds[1])
    assert not np.array_equal(preds[0], preds[2])


def test_dcn_variants_are_the_tutorials_low_rank_dcn_and_dnn(synthetic_split) -> None:
    train = synthetic_split.train
    low = build_model("dcn__low_rank", {**FAST, "epochs": 1, "projection_dim": 20})
    dnn = build_model("dcn__dnn", {**FAST, "epochs": 1, "cross_layers": 0, "deep_layers": [192] * 3})
    for model in (low, dnn):
        model.fit(train, None, np.random.default_rng(0))
    (cross,) = low.keras_model.cross
    width = 32 * len(low.keras_model.feature_names)  # ids and the synthetic users' 3 features
    assert low.keras_model.feature_names == ["item", "user", "occupation", "gender", "age"]
    assert cross._dense_u.kernel.shape == (width, 20) and cross._dense_v.kernel.shape == (20, width)
    assert dnn.keras_model.cross == [] and [d.units for d in dnn.keras_model.deep] == [192] * 3
    ids_only = build_model("dcn", {**FAST, "epochs": 1, "user_features": False})
    assert ids_only.fit(train, None, np.random.default_rng(0)).keras_model.feature_names == ["item", "user"]


@pytest.mark.parametrize(
    "params", [{"projection_dim": 0}, {"cross_layers": -1}, {"deep_layers": [0]}, {"epochs": 1.5}]
)
def test_dcn_rejects_impossible_hyperparameters(params: dict) -> None:
    with pytest.raises(ConfigError, match=f"model 'dcn': {next(iter(params))}"):
        build_model("dcn", params)


def test_user_features_bucketise_age_as_tfds_and_index_the_rest() -> None:
    ages = [7, 17, 18, 24, 25, 34, 35, 44, 45, 49, 50, 55, 56, 73]
    users = pd.DataFrame({"user_id": range(len(ages)), "age": ages, "zip_code": ["b", "a"] * 7})
    table = user_feature_indices(users)
    assert list(table) == ["zip_code", "age"]  # the tutorial's order; absent columns skipped
    codes, size = table["age"]
    buckets = np.array((1, *AGE_THRESHOLDS))[codes]
    assert buckets.tolist() == [1, 1, 18, 18, 25, 25, 35, 35, 45, 45, 50, 50, 56, 56]
    assert size == 7 and table["zip_code"][0].tolist()[:2] == [1, 0] and table["zip_code"][1] == 2


# -- efficient serving (ScaNN) -------------------------------------------------------------------
def test_recall_is_the_tutorials_intersection_over_the_truth() -> None:
    truth = np.array([[3, 5, 7, 9], [1, 2, -1, -1]])
    assert serving.recall(truth[:1], truth[:1]).tolist() == [1.0]
    # the copies share one identifier (the tutorial's empty title): brute force against itself
    # scores below 1 when its own top-k holds several copies
    assert serving.recall(truth, truth).tolist() == [1.0, 0.75]
    assert serving.recall(truth[:1], np.array([[9, 3, 0, 4]])).tolist() == [0.5]


def test_brute_force_top_k_is_exact_with_ties_to_the_lower_index() -> None:
    rng = np.random.default_rng(0)
    candidates = rng.normal(size=(30_000, 8)).astype(np.float32)
    candidates[17] = candidates[4]  # a tie
    queries = rng.normal(size=(20, 8)).astype(np.float32)
    expected = np.argsort(-(queries @ candidates.T), axis=1, kind="stable")
    for k in (1, 10, 100):
        np.testing.assert_array_equal(serving.brute_force_top_k(queries, candidates, k), expected[:, :k])


def test_enlarged_candidates_are_noisy_copies_of_the_movies(monkeypatch) -> None:
    monkeypatch.setattr(serving, "COPIES", 3)
    movies = np.random.default_rng(1).normal(size=(5, 4)).astype(np.float32)
    candidates, ids = serving.enlarged_candidates(movies, np.random.default_rng(2))
    assert candidates.shape == (20, 4) and ids.tolist() == [*range(5), *[serving.DUMMY_ID] * 15]
    np.testing.assert_array_equal(candidates[:5], movies)
    ratio = candidates[5:].reshape(3, 5, 4) / movies
    assert ((ratio >= 0) & (ratio < 1)).all()


@pytest.fixture(scope="module")
def synthetic_dirs(tmp_path_factory) -> tuple[Path, Path]:
    """A synthetic dataset and one random split of it, written as the workflow writes them."""
    root = tmp_path_factory.mktemp("serving")
    tables = make_synthetic(n_users=120, n_items=150, interactions_per_user=20, seed=4)
    for name, frame in tables.items():
        frame.to_parquet(root / f"{name}.parquet", index=False)
    split = root / "split"
    split.mkdir()
    parts = split_ratings(tables["ratings"], "random", 0.1, 0.2, np.random.default_rng(0))
    for name, frame in parts.items():
        frame.to_parquet(split / f"{name}.parquet", index=False)
    return root, split


def test_scann_serving_recalls_and_accuracies(synthetic_dirs, monkeypatch) -> None:
    try:
        serving.import_scann()
    except ImportError as missing:
        pytest.skip(str(missing))
    monkeypatch.setattr(serving, "COPIES", 40)  # 150 movies -> 6,150 candidates (1,000 leaves fit)
    got = serving.scann_serving(*synthetic_dirs, seed=1)
    searchers = ("brute_force", "random_subset", *serving.SEARCHERS)
    assert {f"{s}.recall@10" for s in searchers} <= set(got)
    assert all(0.0 <= value <= 1.0 for value in got.values()), got
    assert got["brute_force.recall@10_candidates"] == 1.0  # brute force against itself
    assert got["brute_force.recall@10"] <= 1.0
    assert min(got[f"{s}.recall@10_candidates"] for s in serving.SEARCHERS) > got[
        "random_subset.recall@10_candidates"
    ]
    import tensorflow_recommenders  # noqa: F401 (still imports with scann loaded)
