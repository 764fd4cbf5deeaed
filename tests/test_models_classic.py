"""The classic baselines: random, popularity, item kNN, EASE^R and biased MF."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import heldout_recall
from recrepro.core.errors import ConfigError
from recrepro.data.interactions import Catalogue, Interactions
from recrepro.models import available_models, build_model

CLASSIC = ("random", "popularity", "itemknn", "ease", "biased_mf")


def tiny(pairs: list[tuple[int, int]], n_users: int, n_items: int, ratings=None) -> Interactions:
    """Interactions over a small catalogue from (user index, item index) pairs."""
    users = pd.DataFrame({"user_id": np.arange(1, n_users + 1)})
    items = pd.DataFrame(
        {
            "item_id": np.arange(1, n_items + 1),
            "title": [f"m{i}" for i in range(n_items)],
            "year": pd.array([2000] * n_items, dtype="Int64"),
            "genres": ["Drama"] * n_items,
        }
    )
    u, i = (np.array(x, dtype=np.int32) for x in zip(*pairs, strict=True))
    r = np.ones(len(u), np.float32) if ratings is None else np.asarray(ratings, np.float32)
    return Interactions(u, i, r, np.arange(len(u), dtype=np.int64), Catalogue(users, items))


def fit(name: str, train: Interactions, valid=None, seed: int = 0, **params):
    return build_model(name, params).fit(train, valid, np.random.default_rng(seed))


def test_all_classic_models_are_registered():
    assert set(CLASSIC) <= set(available_models())


@pytest.fixture(scope="module")
def random_recall(synthetic_split) -> float:
    model = fit("random", synthetic_split.train, synthetic_split.valid)
    return heldout_recall(model, synthetic_split)


@pytest.mark.parametrize("name", ["popularity", "itemknn", "ease", "biased_mf"])
def test_model_beats_random_on_heldout_recall(name, synthetic_split, random_recall):
    model = fit(name, synthetic_split.train, synthetic_split.valid)
    scores = model.score(np.arange(5))
    assert scores.dtype == np.float32 and np.isfinite(scores).all()
    recall = heldout_recall(model, synthetic_split)
    assert recall > 2 * random_recall and recall > random_recall + 0.05, (name, recall)


def test_random_is_reproducible_and_batch_invariant(synthetic_split):
    users = np.arange(20)
    first = fit("random", synthetic_split.train, seed=7).score(users)
    again = fit("random", synthetic_split.train, seed=7)
    np.testing.assert_array_equal(first, again.score(users))
    np.testing.assert_array_equal(first[5:10], again.score(users[5:10]))
    other = fit("random", synthetic_split.train, seed=8).score(users)
    assert not np.array_equal(first, other)


def test_popularity_ranks_most_frequent_item_first_with_deterministic_ties():
    # Item 2 has three interactions; items 0 and 3 tie with two; item 1 has one; item 4 none.
    pairs = [(0, 2), (1, 2), (2, 2), (0, 3), (1, 3), (0, 0), (2, 0), (1, 1)]
    model = fit("popularity", tiny(pairs, n_users=3, n_items=5))
    np.testing.assert_array_equal(model.counts_, [2, 1, 3, 2, 0])
    scores = model.score(np.array([0, 2]))
    np.testing.assert_array_equal(scores[0], scores[1])
    assert np.argsort(-scores[0], kind="stable").tolist() == [2, 0, 3, 1, 4]
    assert len(np.unique(scores[0])) == 5


def test_itemknn_similarity_matches_hand_computed_shrunk_cosine():
    # Users x items: u0 = {0, 1}, u1 = {0, 1, 2}, u2 = {0, 2}; n = (3, 2, 2).
    train = tiny([(0, 0), (0, 1), (1, 0), (1, 1), (1, 2), (2, 0), (2, 2)], 3, 3)
    shrink = 1.0
    model = fit("itemknn", train, neighbors=1, shrink=shrink)
    s01 = 2 / (np.sqrt(3) * np.sqrt(2) + shrink)  # items 0 and 1 share two users
    s12 = 1 / (2 + shrink)  # items 1 and 2 share one user
    # One neighbour each: 1 and 2 keep item 0; item 0 ties s01 == s02 and keeps the lower index.
    expected = np.array([[0, s01, 0], [s01, 0, 0], [s01, 0, 0]])
    np.testing.assert_allclose(model.weights_.toarray(), expected, rtol=1e-6)
    assert s12 < s01
    np.testing.assert_allclose(model.score(np.array([2])), [[s01, s01, 0]], rtol=1e-6)
    full = fit("itemknn", train, neighbors=5, shrink=shrink).weights_.toarray()
    np.testing.assert_allclose(full[1, 2], s12, rtol=1e-6)
    np.testing.assert_allclose(np.diag(full), 0.0)


def test_ease_equals_constrained_least_squares_on_hand_matrix():
    pairs = [(0, 0), (0, 1), (1, 1), (1, 2), (2, 0), (2, 2), (2, 3), (3, 3), (3, 1)]
    train = tiny(pairs, n_users=4, n_items=4)
    l2 = 0.5
    model = fit("ease", train, l2=l2)
    x = train.matrix().toarray().astype(np.float64)
    # Column j regresses item j on the other items only (the zero-diagonal constraint).
    expected = np.zeros((4, 4))
    for j in range(4):
        others = [i for i in range(4) if i != j]
        a = x[:, others]
        expected[others, j] = np.linalg.solve(a.T @ a + l2 * np.eye(3), a.T @ x[:, j])
    np.testing.assert_allclose(model.weights_, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(np.diag(model.weights_), 0.0)
    np.testing.assert_allclose(model.score(np.arange(4)), x @ expected, rtol=1e-5, atol=1e-6)


def test_ease_refuses_catalogues_above_max_items(synthetic_split):
    with pytest.raises(ConfigError, match="150 items.*max_items=100"):
        fit("ease", synthetic_split.train, max_items=100)


def test_biased_mf_beats_global_mean_and_keeps_best_epoch(synthetic_split):
    train, valid = synthetic_split.train, synthetic_split.valid
    model = fit("biased_mf", train, valid, factors=8, epochs=15, patience=2)
    predicted = model.predict(valid.user, valid.item)
    rmse = float(np.sqrt(np.mean((predicted - valid.rating) ** 2)))
    baseline = float(np.sqrt(np.mean((train.rating.mean() - valid.rating) ** 2)))
    assert rmse < baseline - 0.05, (rmse, baseline)
    assert all({"epoch", "loss", "val_rmse"} <= set(h) for h in model.history)
    best = min(h["val_rmse"] for h in model.history)
    assert rmse == pytest.approx(best, abs=1e-6)
    assert predicted.min() >= train.rating.min() and predicted.max() <= train.rating.max()


def test_biased_mf_is_deterministic_and_scores_match_predictions(synthetic_split):
    train = synthetic_split.train
    a = fit("biased_mf", train, factors=4, epochs=3, seed=3)
    b = fit("biased_mf", train, factors=4, epochs=3, seed=3)
    users = np.arange(10)
    np.testing.assert_array_equal(a.score(users), b.score(users))
    assert [h["loss"] for h in a.history] == [h["loss"] for h in b.history]
    assert len(a.history) == 3 and "val_rmse" not in a.history[0]
    items = np.arange(10)
    unclipped = a.score(users)[users, items]
    np.testing.assert_allclose(
        a.predict(users, items), np.clip(unclipped, train.rating.min(), train.rating.max()), 1e-5
    )


@pytest.mark.parametrize("name", CLASSIC)
def test_unknown_hyperparameter_raises_config_error(name):
    with pytest.raises(ConfigError, match="unknown hyperparameter.*bogus"):
        build_model(name, {"bogus": 1})


@pytest.mark.parametrize(
    ("name", "params"),
    [("itemknn", {"neighbors": 0}), ("ease", {"l2": 0}), ("biased_mf", {"factors": -1})],
)
def test_invalid_hyperparameter_values_raise_config_error(name, params, synthetic_split):
    with pytest.raises(ConfigError, match=name):
        fit(name, synthetic_split.train, **params)
