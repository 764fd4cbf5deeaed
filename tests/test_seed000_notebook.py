"""Seed 000's notebook under its own set-up (recrepro.experiments.seed000_notebook): the recipe
is the notebook's and our models' faithful defaults, and a quick run (one epoch on a sample of
ML-100K) gives the metrics with their names, in range, above the random null."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recrepro.core.errors import ConfigError
from recrepro.experiments import seed000_notebook as S
from recrepro.models.registry import build_model

SUFFIXES = ("train", "train_epoch1", "train_evaluator", "train_after", "train_after_evaluator")


@pytest.fixture(scope="module")
def data_dir(shared_data_dir: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The parsed ML-100K tables, written as the workflow's data preparation writes them."""
    from recrepro.data.movielens import load_tables, locate

    folder = locate("ml-100k", shared_data_dir, "data/raw")
    data = tmp_path_factory.mktemp("data")
    for name, frame in load_tables("ml-100k", folder).items():
        frame.to_parquet(data / f"{name}.parquet", index=False)
    return data


@pytest.fixture(scope="module")
def quick(data_dir: Path) -> dict[str, float]:
    """One epoch of each model on 6,000 ratings."""
    return S.seed000_notebook(data_dir, None, seed=3, epochs=1, max_ratings=6000)


def test_recipes_are_the_models_faithful_defaults() -> None:
    for name, recipe in S.RECIPES.items():
        defaults = build_model(name, {}).params
        assert {key: defaults[key] for key in recipe} == recipe, name
    assert S.RECIPES["enhanced_retrieval"]["epochs"] == 5 == max(S.NOTEBOOK_NUMBERS["enhanced_retrieval"])
    assert S.RECIPES["collaborative"]["epochs"] == 3 == max(S.NOTEBOOK_NUMBERS["collaborative"])


def test_quick_run_names_ranges_and_nulls(quick: dict[str, float]) -> None:
    n_items, n_ratings = 1682, 6000
    for name in S.MODELS:
        for suffix in SUFFIXES:
            values = [quick[f"{name}.factorized_top@{k}_{suffix}"] for k in S.KS]
            assert all(0.0 <= v <= 1.0 for v in values), (name, suffix, values)
            assert values == sorted(values), (name, suffix, values)  # non-decreasing in K
        assert quick[f"{name}.loss"] > 0 and quick[f"{name}.cpu_seconds"] > 0
        assert 0 < quick[f"{name}.loss_progbar"] <= quick[f"{name}.loss"]  # smaller last batch
        assert quick[f"{name}.loss_progbar_epoch1"] == quick[f"{name}.loss_progbar"]
    assert quick["uniform.loss_progbar"] == pytest.approx(S.uniform_loss(n_ratings, 4096))
    for k in S.KS:
        expected = k / n_items  # a random ranking puts the rated movie in the top K this often
        sd = np.sqrt(expected * (1 - expected) / n_ratings)
        assert abs(quick[f"random.factorized_top@{k}_train"] - expected) < 5 * sd + 1e-3, k
    random_100 = quick["random.factorized_top@100_train"]
    assert quick["popularity.factorized_top@100_train"] > 2 * random_100
    for name in S.MODELS:
        assert quick[f"{name}.factorized_top@100_train"] > random_100, name  # in training
        assert quick[f"{name}.factorized_top@100_train_after"] > 2 * random_100, name
        # TFRS's score-based rule never counts more hits than the evaluator's
        assert quick[f"{name}.factorized_top@1_train_after"] <= (
            quick[f"{name}.factorized_top@1_train_after_evaluator"] + 1e-9
        )


def test_seed000_notebook_refuses_a_split_and_unknown_models(data_dir: Path) -> None:
    with pytest.raises(ConfigError, match="no split"):
        S.seed000_notebook(data_dir, data_dir, seed=1)
    with pytest.raises(ConfigError, match="unknown model"):
        S.seed000_notebook(data_dir, None, seed=1, models=("two_tower_x",))


def test_tfrs_rule_is_tfrs_factorized_top_k(synthetic_split) -> None:
    """:func:`tfrs_rule_hits` counts what ``tfrs.metrics.FactorizedTopK`` (score-based, over
    ``candidates.batch(128).map(candidate_tower)``) counts, rating by rating."""
    model = build_model("basic_retrieval", {"epochs": 1, "batch_size": 512})
    model.fit(synthetic_split.train, None, np.random.default_rng(0))
    import tensorflow as tf
    import tensorflow_recommenders as tfrs

    test = synthetic_split.test
    inputs = model._ids("item", np.arange(model.n_items))
    candidates = tf.data.Dataset.from_tensor_slices(inputs).batch(128).map(model.candidate_tower)
    metric = tfrs.metrics.FactorizedTopK(candidates=candidates, ks=S.KS)
    query = model.query_tower(model.query_features(test.user))
    metric.update_state(query, model.candidate_tower(model._ids("item", test.item)))
    ours = S.tfrs_rule_hits(tf, model, test.user, test.item).mean(axis=0)
    assert np.allclose(ours, [float(v) for v in metric.result()], atol=1e-7)


def test_progress_bar_counts_the_last_step_twice_and_the_uniform_null() -> None:
    assert S.progbar_mean([3.0, 5.0, 1.0]) == pytest.approx((3 + 5 + 1 + 1) / 4)
    expected = (2 * 4 * np.log(4) + 2 * 2 * np.log(2)) / 4  # batches of 4, 4 and 2 rows
    assert S.uniform_loss(10, 4) == pytest.approx(expected)
