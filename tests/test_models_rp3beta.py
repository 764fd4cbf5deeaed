"""RP3beta: the random-walk item-item weights, against a hand computation and the dense formula."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from conftest import dense_interactions as interactions
from conftest import heldout_recall
from recrepro.core.errors import ConfigError
from recrepro.data.interactions import Interactions
from recrepro.models import available_models, build_model, get_model_class
from recrepro.models.rp3beta import rp3beta_weights


def fit(train: Interactions, **params):
    return build_model("rp3beta", params).fit(train, None, np.random.default_rng(0))


def dense_rp3beta(x: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """The formula on dense arrays: (P_iu^alpha P_ui^alpha) / n_j^beta, zero diagonal."""
    n_u, n_i = x.sum(axis=1), x.sum(axis=0)
    p_ui = np.divide(x, n_u[:, None], out=np.zeros_like(x), where=n_u[:, None] > 0)
    p_iu = np.divide(x.T, n_i[:, None], out=np.zeros_like(x.T), where=n_i[:, None] > 0)
    discount = np.divide(1.0, n_i**beta, out=np.zeros_like(n_i), where=n_i > 0)
    w = (p_iu**alpha * (p_iu > 0)) @ (p_ui**alpha * (p_ui > 0)) * discount[None, :]
    np.fill_diagonal(w, 0.0)
    return w


def test_rp3beta_is_registered_with_its_declarations():
    cls = get_model_class("rp3beta")
    assert "rp3beta" in available_models() and cls.citation_keys() == ("paudel2016updatable",)
    assert cls.task == "ranking" and cls.tuned_on("ndcg@10") == "ndcg@10"
    assert set(cls.search_space) == set(cls.defaults) == {"alpha", "beta", "top_k"}


def test_rp3beta_scores_match_a_hand_computed_walk():
    # Users x items: u0 = {0, 1}, u1 = {0, 1, 2}, u2 = {0, 2}; n_u = (2, 3, 2), n_i = (3, 2, 2).
    # alpha 1, beta 0: W_01 = 1/3 * 1/2 + 1/3 * 1/3 = 5/18 = W_02, W_10 = 1/2 * 1/2 + 1/2 * 1/3
    # = 5/12 = W_20, W_12 = 1/2 * 1/3 = 1/6 = W_21; beta 1 divides column j by n_j.
    x = np.array([[1, 1, 0], [1, 1, 1], [1, 0, 1]], dtype=float)
    expected = np.array([[0, 5 / 36, 5 / 36], [5 / 36, 0, 1 / 12], [5 / 36, 1 / 12, 0]])
    model = fit(interactions(x), alpha=1.0, beta=1.0, top_k=10)
    np.testing.assert_allclose(model.weights_.toarray(), expected, rtol=1e-6)
    # User u2 = {0, 2}: score_j = W_0j + W_2j.
    np.testing.assert_allclose(model.score(np.array([2]))[0], [5 / 36, 2 / 9, 5 / 36], rtol=1e-6)
    # top_k 1 keeps each item's largest weight; the tie of row 0 goes to the lower index.
    top1 = fit(interactions(x), alpha=1.0, beta=1.0, top_k=1).weights_.toarray()
    np.testing.assert_allclose(top1, [[0, 5 / 36, 0], [5 / 36, 0, 0], [5 / 36, 0, 0]], rtol=1e-6)


@pytest.mark.parametrize(("alpha", "beta"), [(1.0, 0.0), (0.5, 0.3), (1.7, 1.2), (0.0, 0.6)])
def test_rp3beta_weights_and_scores_equal_the_dense_formula(alpha, beta):
    rng = np.random.default_rng(4)
    x = (rng.random((40, 25)) < 0.25).astype(float)
    x[:, 7] = 0.0  # an item nobody has: no weight to or from it
    x[3] = 0.0  # a user with no items: all-zero scores
    dense = dense_rp3beta(x, alpha, beta)
    weights = rp3beta_weights(sp.csr_matrix(x), alpha, beta, top_k=25)
    np.testing.assert_allclose(weights.toarray(), dense, rtol=1e-5, atol=1e-9)
    model = fit(interactions(x), alpha=alpha, beta=beta, top_k=25)
    np.testing.assert_allclose(model.score(np.arange(40)), x @ dense, rtol=1e-5, atol=1e-8)
    # top_k keeps exactly the k largest of each row (ties aside): the k-th largest is a floor.
    kept = rp3beta_weights(sp.csr_matrix(x), alpha, beta, top_k=5).toarray()
    assert ((kept > 0).sum(axis=1) <= 5).all()
    for row, full in zip(kept, dense, strict=True):
        floor = np.sort(full)[-5]
        assert set(np.flatnonzero(row)) <= set(np.flatnonzero(full >= floor))


def test_rp3beta_beats_random_and_popularity(synthetic_split):
    recall = {name: heldout_recall(build_model(name).fit(synthetic_split.train, synthetic_split.valid,
                                                         np.random.default_rng(1)), synthetic_split)
              for name in ("random", "popularity", "rp3beta")}  # fmt: skip
    assert recall["rp3beta"] > 2 * recall["random"], recall
    assert recall["rp3beta"] > recall["popularity"] + 0.05, recall


def test_rp3beta_is_deterministic_and_batch_invariant(synthetic_split):
    users = np.arange(30)
    first = fit(synthetic_split.train, alpha=0.8, beta=0.5, top_k=20)
    again = fit(synthetic_split.train, alpha=0.8, beta=0.5, top_k=20)
    np.testing.assert_array_equal(first.score(users), again.score(users))
    np.testing.assert_array_equal(first.score(users)[10:20], again.score(users[10:20]))
    assert first.score(users).dtype == np.float32


@pytest.mark.parametrize("params", [{"alpha": -0.1}, {"beta": -1.0}, {"top_k": 0}])
def test_rp3beta_rejects_invalid_hyperparameters(params, synthetic_split):
    with pytest.raises(ConfigError, match="rp3beta"):
        fit(synthetic_split.train, **params)
    with pytest.raises(ConfigError, match="unknown hyperparameter"):
        build_model("rp3beta", {"topK": 5})
