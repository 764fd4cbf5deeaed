"""Splits: sizes, no leakage between parts, determinism per seed, temporal ordering."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recrepro.core.errors import ConfigError
from recrepro.data.splits import split_ratings
from recrepro.data.synthetic import make_synthetic


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
    pd.testing.assert_frame_equal(a["valid"], b["valid"])
    assert _pairs(a["valid"]) != _pairs(c["valid"])  # the seed changes train/valid ...
    assert _pairs(a["test"]) == _pairs(c["test"])  # ... never the test part
    d = split_ratings(ratings, "random", 0.1, 0.1, np.random.default_rng(7),
                      test_rng=np.random.default_rng(1))  # fmt: skip
    assert _pairs(a["test"]) != _pairs(d["test"])  # the fixed test seed draws it


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


def test_tuning_never_sees_any_seeds_test_part(ratings: pd.DataFrame) -> None:
    """Issue 9 item 4: tuning uses seed 1's train/valid for every seed; for every seed s that
    train/valid is disjoint from seed s's test part (rows, not only (user, item) pairs)."""
    from recrepro.core.rng import make_rng

    def split(seed: int) -> dict[str, pd.DataFrame]:
        return split_ratings(ratings, "random", 0.1, 0.1, make_rng("split", "synth", seed),
                             test_rng=make_rng("split-test", "synth", 0))  # fmt: skip

    tuning = split(1)
    tuning_rows = _pairs(tuning["train"]) | _pairs(tuning["valid"])
    for seed in (1, 2, 3, 4, 5):
        parts = split(seed)
        assert not (tuning_rows & _pairs(parts["test"])), seed
        assert _pairs(parts["train"]) | _pairs(parts["valid"]) == tuning_rows, seed
        if seed > 1:
            assert _pairs(parts["valid"]) != _pairs(tuning["valid"]), seed


def test_temporal_user_holds_out_each_users_newest_ratings() -> None:
    # user 1: 10 ratings at t = 1..10 -> 1 test (t=10), 1 valid (t=9), 8 train;
    # user 2: 20 ratings at t = 1..19, items 119 and 120 both at t=19 -> 2 test, 2 valid, 16 train.
    rows = [(1, item, 4.0, item) for item in range(1, 11)]
    rows += [(2, item, 3.0, min(item - 100, 19)) for item in range(101, 121)]
    rows += [(3, 7, 5.0, 1), (3, 8, 5.0, 2)]  # too few for a test rating: all train
    frame = pd.DataFrame(rows, columns=["user", "item", "rating", "timestamp"])
    parts = split_ratings(frame.sample(frac=1, random_state=0), "temporal_user", 0.1, 0.1,
                          np.random.default_rng(0))  # fmt: skip
    test = parts["test"].groupby("user")["item"].apply(sorted).to_dict()
    valid = parts["valid"].groupby("user")["item"].apply(sorted).to_dict()
    assert test == {1: [10], 2: [119, 120]}  # the tie: both at t=19, the newest two
    assert valid == {1: [9], 2: [117, 118]}
    assert set(parts["train"]["user"]) == {1, 2, 3}
    assert len(parts["train"]) == 8 + 16 + 2
    held_out = pd.concat([parts["valid"], parts["test"]])
    for user, frame_u in parts["train"].groupby("user"):
        later = held_out[held_out["user"] == user]
        assert later.empty or frame_u["timestamp"].max() <= later["timestamp"].min()
    again = split_ratings(frame, "temporal_user", 0.1, 0.1, np.random.default_rng(5))
    for name in ("train", "valid", "test"):  # the seed does not matter
        pd.testing.assert_frame_equal(parts[name], again[name])


def test_temporal_user_tie_order_is_by_item_id() -> None:
    frame = pd.DataFrame({"user": 1, "item": list(range(10, 0, -1)), "rating": 4.0,
                          "timestamp": 5})  # fmt: skip
    parts = split_ratings(frame, "temporal_user", 0.1, 0.1, np.random.default_rng(0))
    assert parts["test"]["item"].tolist() == [10] and parts["valid"]["item"].tolist() == [9]


def test_every_user_keeps_a_training_rating_under_temporal_user() -> None:
    tiny = pd.DataFrame({"user": [1, 1, 2], "item": [1, 2, 3], "rating": 4.0, "timestamp": [1, 2, 3]})
    parts = split_ratings(tiny, "temporal_user", 0.4, 0.4, np.random.default_rng(0))
    assert set(parts["train"]["user"]) == {1, 2} and parts["test"]["item"].tolist() == [2]


def test_source_protocols_take_the_source_frame_as_is() -> None:
    source = pd.DataFrame({"user": [3, 1, 2], "item": [1, 2, 3], "rating": [4.0, 5.0, 1.0],
                           "timestamp": [9, 8, 7], "part": [0, 2, 0]})  # fmt: skip
    parts = split_ratings(source.drop(columns="part"), "grouplens_u1", 0.1, 0.1,
                          np.random.default_rng(0), source=source)  # fmt: skip
    assert parts["train"]["user"].tolist() == [3, 2]  # the source's order is kept
    assert parts["test"]["user"].tolist() == [1] and parts["valid"].empty
    with pytest.raises(ConfigError, match="needs its source frame"):
        split_ratings(source, "tfrs_tutorial", 0.1, 0.1, np.random.default_rng(0))


@pytest.mark.parametrize(
    ("protocol", "dataset", "settings", "message"),
    [
        ("grouplens_u3", "ml-1m", ["faithful"], "published split of ml-100k only"),
        ("tfrs_tutorial", "ml-100k", ["faithful", "tuned"], "tuned setting cannot apply"),
        ("leave_one_out", "ml-100k", ["faithful"], "unknown protocol 'leave_one_out'"),
    ],
)
def test_impossible_protocol_requests_stop_with_one_line(
    protocol: str, dataset: str, settings: list[str], message: str
) -> None:
    from recrepro.data.splits import check_protocol

    with pytest.raises(ConfigError, match=message) as info:
        check_protocol(protocol, dataset, settings)
    assert "\n" not in str(info.value)
    check_protocol("temporal_user", dataset, settings)  # drawn protocols run anywhere
