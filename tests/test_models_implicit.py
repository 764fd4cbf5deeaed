"""iALS and BPR from the ``implicit`` library: closed-form ALS check, quality, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import heldout_recall
from recrepro.models import available_models, build_model
from test_models_classic import fit, tiny


def test_implicit_models_are_registered() -> None:
    assert {"ials", "bpr"} <= set(available_models())


def test_ials_item_factors_solve_the_weighted_least_squares_given_the_user_factors() -> None:
    # Items are solved last in every iteration: y_i = (X^T C_i X + reg I)^-1 X^T C_i p_i with
    # confidence alpha on an interaction and 1 elsewhere (exact solves with use_cg=False).
    pairs = [(0, 0), (0, 1), (1, 1), (1, 2), (2, 0), (2, 2), (2, 3), (3, 3), (3, 1)]
    train = tiny(pairs, n_users=4, n_items=4)
    reg, alpha = 0.1, 3.0
    model = fit("ials", train, factors=2, regularization=reg, alpha=alpha, iterations=5, use_cg=False)
    x = model.model_.user_factors.astype(np.float64)
    y = model.model_.item_factors.astype(np.float64)
    p = train.matrix().toarray().astype(np.float64)
    for i in range(4):
        c = np.diag(np.where(p[:, i] > 0, alpha, 1.0))
        expected = np.linalg.solve(x.T @ c @ x + reg * np.eye(2), x.T @ c @ p[:, i])
        np.testing.assert_allclose(y[i], expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(model.score(np.arange(4)), x @ y.T, rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module")
def random_recall(synthetic_split) -> float:
    return heldout_recall(fit("random", synthetic_split.train, synthetic_split.valid), synthetic_split)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("ials", {"factors": 16, "regularization": 1.0, "alpha": 10.0}),
        ("bpr", {"factors": 16, "learning_rate": 0.05}),
    ],
)
def test_implicit_model_beats_random_and_is_reproducible(name, params, synthetic_split, random_recall):
    model = fit(name, synthetic_split.train, synthetic_split.valid, seed=3, **params)
    scores = model.score(np.arange(20))
    assert scores.shape == (20, synthetic_split.train.n_items) and scores.dtype == np.float32
    recall = heldout_recall(model, synthetic_split)
    assert recall > 2 * random_recall and recall > random_recall + 0.05, (name, recall)
    again = fit(name, synthetic_split.train, synthetic_split.valid, seed=3, **params)
    np.testing.assert_array_equal(scores, again.score(np.arange(20)))
    assert model.history and all("val_ndcg@10" in row for row in model.history)
    other = fit(name, synthetic_split.train, synthetic_split.valid, seed=4, **params)
    assert not np.array_equal(scores, other.score(np.arange(20)))


def test_bpr_logs_validation_every_validate_every_iterations(synthetic_split) -> None:
    model = build_model("bpr", {"iterations": 12, "validate_every": 4})
    model.fit(synthetic_split.train, synthetic_split.valid, np.random.default_rng(0))
    assert [row["epoch"] for row in model.history] == [1, 2, 3]
