"""Same data and seed give identical scores, for every registered model."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import make_split
from recrepro.models import available_models, build_model, get_model_class

# Smallest training budgets, so the whole file runs in seconds per model.
FAST = {"epochs": 1, "batch_size": 512}


def _params(name: str) -> dict:
    defaults = get_model_class(name).defaults
    return {k: v for k, v in FAST.items() if k in defaults}


@pytest.fixture(scope="module")
def tiny():
    return make_split(seed=2, n_users=60, n_items=50, interactions_per_user=10)


@pytest.mark.parametrize("name", available_models())
def test_same_seed_same_scores(name: str, tiny) -> None:
    users = np.arange(tiny.train.n_users)
    scores = []
    for _ in range(2):
        model = build_model(name, _params(name)).fit(tiny.train, tiny.valid, np.random.default_rng(11))
        scores.append(model.score(users))
    np.testing.assert_array_equal(scores[0], scores[1])
    if get_model_class(name).predicts_ratings:
        assert np.isfinite(model.predict(tiny.test.user, tiny.test.item)).all()
