"""Splits: sizes, no leakage between parts, determinism per seed, temporal ordering."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recrepro.data.splits import split_ratings
from recrepro.data.synthetic import make_synthetic
from recrepro.errors import ConfigError


@pytest.fixture(scope="module")
def ratings() -> pd.DataFrame:
    return make_synthetic(n_users=120, n_items=90, interactions_per_user=20, seed=3)["ratings"]


def _pairs(frame: pd.DataFrame) -> set[tuple[int, int]]:
    return set(zip(frame["user"], frame["item"], strict=True))


def test_random_split_sizes_and_disjointness(ratings: pd.DataFrame) -> None:
    parts = split_ratings(ratings, "random", 0.1, 0.1, np.random.default_rng(0))
    assert sum(len(p) for p in parts.values()) == len(ratings)
    train, valid, test = _pairs(parts["train"]), _pairs(parts["valid"]), _pairs(parts["test"])
    assert not (train & valid) and not (train & test) and not (valid & test)
    # 20 interactions per user -> exactly 16 / 2 / 2 for every user.
    for name, expected in (("train", 16), ("valid", 2), ("test", 2)):
        assert (parts[name].groupby("user").size() == expected).all(), name


def test_random_split_is_deterministic_per_seed_and_order_independent(ratings: pd.DataFrame) -> None:
    a = split_ratings(ratings, "random", 0.1, 0.1, np.random.default_rng(7))
    shuffled = ratings.sample(frac=1.0, random_state=1)
    b = split_ratings(shuffled, "random", 0.1, 0.1, np.random.default_rng(7))
    c = split_ratings(ratings, "random", 0.1, 0.1, np.random.default_rng(8))
    pd.testing.assert_frame_equal(a["test"], b["test"])
    assert _pairs(a["test"]) != _pairs(c["test"])


def test_every_user_keeps_a_training_interaction() -> None:
    tiny = pd.DataFrame({"user": [1, 1, 2], "item": [1, 2, 3], "rating": 4.0, "timestamp": [1, 2, 3]})
    parts = split_ratings(tiny, "random", 0.4, 0.4, np.random.default_rng(0))
    assert set(parts["train"]["user"]) == {1, 2}


def test_temporal_split_trains_on_the_past(ratings: pd.DataFrame) -> None:
    parts = split_ratings(ratings, "temporal", 0.1, 0.1, np.random.default_rng(0))
    assert parts["train"]["timestamp"].max() <= parts["valid"]["timestamp"].min()
    assert parts["valid"]["timestamp"].max() <= parts["test"]["timestamp"].min()
    assert len(parts["test"]) == round(0.1 * len(ratings))
    again = split_ratings(ratings, "temporal", 0.1, 0.1, np.random.default_rng(99))
    pd.testing.assert_frame_equal(parts["test"], again["test"])  # the seed does not matter


@pytest.mark.parametrize(("valid", "test"), [(0.5, 0.5), (0.0, 0.0), (-0.1, 0.2)])
def test_bad_fractions_are_rejected(ratings: pd.DataFrame, valid: float, test: float) -> None:
    with pytest.raises(ConfigError, match="split fractions"):
        split_ratings(ratings, "random", valid, test, np.random.default_rng(0))


def test_unknown_protocol(ratings: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="unknown protocol 'leave_one_out'"):
        split_ratings(ratings, "leave_one_out", 0.1, 0.1, np.random.default_rng(0))
