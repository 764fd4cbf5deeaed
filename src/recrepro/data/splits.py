"""Evaluation splits. Written once per (dataset, protocol, seed) and shared by every model, so
all comparisons are paired.

* ``random``: each user's interactions are shuffled (the seed drives the shuffle) and split into
  train / validation / test with the configured fractions (default 80/10/10). Every user keeps
  at least one training interaction.
* ``temporal``: one global time cutoff. Interactions are ordered by time; the oldest fraction is
  train, the next is validation, the newest is test. The seed does not change this split. Users
  with no training interaction cannot be personalised and are not evaluated; users absent from
  the test period are not evaluated either.

Validation data is for early stopping and tuning only; test data is touched once, at the end.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recrepro.errors import ConfigError

PROTOCOLS = ("random", "temporal")
PARTS = ("train", "valid", "test")


def split_ratings(
    ratings: pd.DataFrame,
    protocol: str,
    valid_fraction: float,
    test_fraction: float,
    rng: np.random.Generator,
) -> dict[str, pd.DataFrame]:
    """Split tidy ratings into ``{"train", "valid", "test"}`` frames by ``protocol``."""
    if not (0 <= valid_fraction < 1 and 0 < test_fraction < 1 and valid_fraction + test_fraction < 1):
        raise ConfigError(
            f"split fractions valid={valid_fraction}, test={test_fraction} must be in [0, 1) "
            "and leave a positive training fraction"
        )
    # A canonical order makes the split independent of the input file's row order.
    ratings = ratings.sort_values(["user", "timestamp", "item"], kind="stable").reset_index(drop=True)
    if protocol == "random":
        part = _random_parts(ratings["user"].to_numpy(), valid_fraction, test_fraction, rng)
    elif protocol == "temporal":
        part = _temporal_parts(ratings, valid_fraction, test_fraction)
    else:
        raise ConfigError(f"unknown protocol '{protocol}'; known: {', '.join(PROTOCOLS)}")
    return {name: ratings[part == code].reset_index(drop=True) for code, name in enumerate(PARTS)}


def _random_parts(
    users: np.ndarray, valid_fraction: float, test_fraction: float, rng: np.random.Generator
) -> np.ndarray:
    """Per-user shuffle; returns 0/1/2 (train/valid/test) per row. ``users`` must be sorted."""
    keys = rng.random(len(users))
    order = np.lexsort((keys, users))
    sorted_users = users[order]
    starts = np.flatnonzero(np.r_[True, sorted_users[1:] != sorted_users[:-1]])
    counts = np.diff(np.r_[starts, len(users)])
    n_test = np.rint(counts * test_fraction).astype(int)
    n_valid = np.rint(counts * valid_fraction).astype(int)
    # Keep at least one training interaction per user; shrink validation first, then test.
    excess = np.maximum(n_test + n_valid - (counts - 1), 0)
    cut = np.minimum(excess, n_valid)
    n_valid -= cut
    n_test -= excess - cut
    rank = np.arange(len(users)) - np.repeat(starts, counts)
    per_row_test = np.repeat(n_test, counts)
    per_row_valid = np.repeat(n_valid, counts)
    part_sorted = np.where(rank < per_row_test, 2, np.where(rank < per_row_test + per_row_valid, 1, 0))
    part = np.empty(len(users), dtype=np.int8)
    part[order] = part_sorted
    return part


def _temporal_parts(ratings: pd.DataFrame, valid_fraction: float, test_fraction: float) -> np.ndarray:
    """Global time cutoffs; returns 0/1/2 (train/valid/test) per row."""
    order = np.lexsort(
        (ratings["item"].to_numpy(), ratings["user"].to_numpy(), ratings["timestamp"].to_numpy())
    )
    n = len(ratings)
    n_train = int(round(n * (1 - valid_fraction - test_fraction)))
    n_valid = int(round(n * valid_fraction))
    part = np.empty(n, dtype=np.int8)
    part[order[:n_train]] = 0
    part[order[n_train : n_train + n_valid]] = 1
    part[order[n_train + n_valid :]] = 2
    return part
