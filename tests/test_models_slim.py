"""SLIM ElasticNet: non-negative weights with a zero diagonal that solve each item's elastic net."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from conftest import heldout_recall
from recrepro.core.errors import ConfigError
from recrepro.data.interactions import Interactions
from recrepro.models import available_models, build_model, get_model_class
from recrepro.models.slim import slim_weights


def fit(train: Interactions, **params):
    return build_model("slim", params).fit(train, None, np.random.default_rng(0))


@pytest.fixture(scope="module")
def small() -> np.ndarray:
    rng = np.random.default_rng(7)
    return (rng.random((60, 20)) < 0.3).astype(float)


def test_slim_is_registered_with_its_declarations():
    cls = get_model_class("slim")
    assert "slim" in available_models() and cls.citation_keys() == ("ning2011slim",)
    assert cls.task == "ranking" and "sklearn" in cls.libraries
    assert set(cls.search_space) == {"alpha", "l1_ratio", "top_k"} <= set(cls.defaults)


def test_slim_weights_are_non_negative_sparse_with_zero_diagonal(synthetic_split):
    model = fit(synthetic_split.train, top_k=15)
    weights = model.weights_.toarray()
    assert (weights >= 0).all() and not np.diagonal(weights).any()
    assert ((weights > 0).sum(axis=0) <= 15).all() and (weights > 0).any()
    scores = model.score(np.arange(5))
    assert scores.dtype == np.float32
    np.testing.assert_allclose(scores, model.seen_[:5].toarray() @ weights, rtol=1e-5)


@pytest.mark.parametrize(("alpha", "l1_ratio"), [(0.01, 0.1), (0.05, 0.5), (0.002, 1.0)])
def test_slim_columns_solve_their_non_negative_elastic_net(small, alpha, l1_ratio):
    # Optimality (KKT) of min 1/(2n) ||x_j - X w||^2 + a r |w|_1 + a (1 - r)/2 |w|^2, w >= 0,
    # w_j = 0: the gradient is 0 where w_k > 0 and >= 0 where w_k = 0.
    n_users, n_items = small.shape
    weights = slim_weights(sp.csr_matrix(small), alpha, l1_ratio, n_items, 100_000, 1e-12).toarray()
    assert (weights >= 0).all() and not np.diagonal(weights).any() and (weights > 0).any()
    for j in range(n_items):
        w = weights[:, j].astype(np.float64)
        others = small.copy()
        others[:, j] = 0.0
        gradient = (-others.T @ (small[:, j] - others @ w) / n_users + alpha * (1 - l1_ratio) * w
                    + alpha * l1_ratio)  # fmt: skip
        active = (w > 0) & (np.arange(n_items) != j)
        np.testing.assert_allclose(gradient[active], 0.0, atol=1e-5)
        assert (gradient[~active & (np.arange(n_items) != j)] >= -1e-5).all()


def test_slim_top_k_keeps_each_columns_largest_weights(small):
    full = slim_weights(sp.csr_matrix(small), 0.01, 0.1, 20, 1000, 1e-8).toarray()
    kept = slim_weights(sp.csr_matrix(small), 0.01, 0.1, 3, 1000, 1e-8).toarray()
    assert ((kept > 0).sum(axis=0) <= 3).all()
    for j in range(small.shape[1]):
        top = np.argsort(-full[:, j], kind="stable")[:3]
        top = top[full[top, j] > 0]
        np.testing.assert_array_equal(np.flatnonzero(kept[:, j]), np.sort(top))
        np.testing.assert_allclose(kept[top, j], full[top, j])


def test_slim_beats_random_and_popularity(synthetic_split):
    recall = {name: heldout_recall(build_model(name).fit(synthetic_split.train, synthetic_split.valid,
                                                         np.random.default_rng(1)), synthetic_split)
              for name in ("random", "popularity", "slim")}  # fmt: skip
    assert recall["slim"] > 2 * recall["random"] and recall["slim"] > recall["popularity"] + 0.03, recall


def test_slim_is_deterministic_and_batch_invariant(synthetic_split):
    users = np.arange(30)
    first = fit(synthetic_split.train, alpha=0.02, top_k=30)
    again = build_model("slim", {"alpha": 0.02, "top_k": 30}).fit(
        synthetic_split.train, None, np.random.default_rng(99)  # no randomness: any seed
    )
    np.testing.assert_array_equal(first.weights_.toarray(), again.weights_.toarray())
    np.testing.assert_array_equal(first.score(users)[10:20], again.score(users[10:20]))


@pytest.mark.parametrize(
    "params", [{"alpha": 0.0}, {"l1_ratio": 0.0}, {"l1_ratio": 1.5}, {"top_k": 0}, {"max_iter": 0}]
)
def test_slim_rejects_invalid_hyperparameters(params, synthetic_split):
    with pytest.raises(ConfigError, match="slim"):
        fit(synthetic_split.train, **params)
