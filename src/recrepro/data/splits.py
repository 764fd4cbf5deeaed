"""Evaluation splits (protocols). Written once per (dataset, protocol, seed) and shared by every
model, so all comparisons are paired.

:data:`PROTOCOLS` is the one registry of protocols. For every protocol the test part of a
(dataset, protocol) is the same for all seeds; the seed only changes train/valid (and the models'
initialisation). Each seed's search tunes on that seed's train/valid, so it never sees any
seed's test part.

* ``random``: per user, the test part (``test_fraction`` of the user's ratings) is drawn once
  with a fixed generator (the CLI derives it from the dataset name and ``split.test_seed``); the
  run seed then shuffles each user's remaining ratings into train and validation
  (``valid_fraction`` of the user's ratings). Every user keeps at least one training rating.
* ``temporal``: one global time cutoff. Interactions are ordered by time; the oldest fraction is
  train, the next is validation, the newest is test. The seed does not change this split.
* ``temporal_user``: per user, ratings ordered by (timestamp, item id); the newest
  ``test_fraction`` are test, the previous ``valid_fraction`` validate, the rest train. Every
  user keeps at least one training rating, so every user with a test rating is evaluated.
* source protocols, the published splits the reproduction table needs (``ml-100k`` only, no
  validation part, faithful setting only): ``tfrs_tutorial`` (the TFRS tutorials' TFDS shuffle,
  80,000 train / 20,000 test, :mod:`recrepro.data.tfds_source`) and ``grouplens_u1`` ...
  ``grouplens_u5``, ``grouplens_ua``, ``grouplens_ub`` (GroupLens' own ``u?.base`` /
  ``u?.test`` files). Their rows come from a *source frame* (tidy rows with a ``part`` column,
  0 = train, 2 = test) written by :func:`source_frame`.

Validation data is for early stopping and tuning only; test data is touched once, at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from recrepro.core import layout
from recrepro.core.errors import ConfigError, DataError

PARTS = layout.PARTS  # part codes 0, 1, 2
TRAIN, VALID, TEST = 0, 1, 2


@dataclass(frozen=True)
class Protocol:
    """One evaluation protocol.

    ``source``: the split is a published one, read from a source frame (not drawn by fractions);
    ``datasets``: the datasets it exists for (empty = any); ``has_valid``: it has a validation
    part, so the tuned setting (which selects on validation) applies.
    """

    name: str
    description: str
    source: str = ""  # "", "tfds" or "grouplens"
    datasets: tuple[str, ...] = ()
    has_valid: bool = True


_GROUPLENS_FOLDS = ("u1", "u2", "u3", "u4", "u5", "ua", "ub")

PROTOCOLS: dict[str, Protocol] = {
    p.name: p
    for p in (
        Protocol("random", "per-user random train/valid/test (split fractions; default 80/10/10); "
                 "the test part is the same for every seed"),
        Protocol("temporal", "global time cutoffs: oldest ratings train, then valid, newest test "
                 "(split fractions; default 80/10/10)"),
        Protocol("temporal_user", "per user: newest ratings test, the previous ones validate "
                 "(split fractions; default 10% each)"),
        Protocol(
            "tfrs_tutorial",
            "TFRS tutorials: TFDS movielens/100k-ratings, shuffle(100_000, seed=42), 80k/20k",
            source="tfds",
            datasets=("ml-100k",),
            has_valid=False,
        ),
        *(
            Protocol(
                f"grouplens_{fold}",
                f"GroupLens' {fold}.base / {fold}.test",
                source="grouplens",
                datasets=("ml-100k",),
                has_valid=False,
            )
            for fold in _GROUPLENS_FOLDS
        ),
    )
}


def get_protocol(name: str) -> Protocol:
    """The registered protocol ``name``; unknown names are a ConfigError listing the known ones."""
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise ConfigError(f"unknown protocol '{name}'; known: {', '.join(PROTOCOLS)}") from None


def check_protocol(name: str, dataset: str, settings: list[str] | tuple[str, ...]) -> None:
    """Stop (ConfigError, one line) if ``name`` cannot run on ``dataset`` in ``settings``."""
    protocol = get_protocol(name)
    if protocol.datasets and dataset not in protocol.datasets:
        raise ConfigError(
            f"protocol '{name}' is a published split of {', '.join(protocol.datasets)} only, not "
            f"'{dataset}'; remove it from protocols or use random, temporal or temporal_user"
        )
    if not protocol.has_valid and "tuned" in settings:
        raise ConfigError(
            f"protocol '{name}' is a published split without a validation part, so the tuned "
            "setting cannot apply; run it with settings: [faithful] (e.g. config/reproduce.yaml)"
        )


def split_ratings(
    ratings: pd.DataFrame,
    protocol: str,
    valid_fraction: float,
    test_fraction: float,
    rng: np.random.Generator,
    *,
    test_rng: np.random.Generator | None = None,
    source: pd.DataFrame | None = None,
) -> dict[str, pd.DataFrame]:
    """Split tidy ratings into ``{"train", "valid", "test"}`` frames by ``protocol``.

    ``rng`` is the run seed's generator (train/valid of ``random``); ``test_rng`` the fixed
    generator of ``random``'s test part (default: seed 0); ``source`` the source frame of a
    source protocol (its rows replace ``ratings``).
    """
    spec = get_protocol(protocol)
    if spec.source:
        if source is None:
            raise ConfigError(f"protocol '{protocol}' needs its source frame (recrepro source)")
        return _source_parts(source)
    if not (0 <= valid_fraction < 1 and 0 < test_fraction < 1 and valid_fraction + test_fraction < 1):
        raise ConfigError(
            f"split fractions valid={valid_fraction}, test={test_fraction} must be in [0, 1) "
            "and leave a positive training fraction"
        )
    # A canonical order makes the split independent of the input file's row order.
    ratings = ratings.sort_values(["user", "timestamp", "item"], kind="stable").reset_index(drop=True)
    users = ratings["user"].to_numpy()
    if protocol == "random":
        test_rng = np.random.default_rng(0) if test_rng is None else test_rng
        part = _random_parts(users, valid_fraction, test_fraction, rng, test_rng)
    elif protocol == "temporal_user":
        # Rows are sorted by (user, timestamp, item): each user's newest ratings come last.
        part = _per_user_parts(users, np.arange(len(users))[::-1].copy(), valid_fraction, test_fraction)
    else:
        part = _temporal_parts(ratings, valid_fraction, test_fraction)
    return {name: ratings[part == code].reset_index(drop=True) for code, name in enumerate(PARTS)}


def _per_user_sizes(
    counts: np.ndarray, valid_fraction: float, test_fraction: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per-user test and validation sizes, keeping at least one training rating per user
    (validation shrinks first, then test)."""
    n_test = np.rint(counts * test_fraction).astype(int)
    n_valid = np.rint(counts * valid_fraction).astype(int)
    excess = np.maximum(n_test + n_valid - (counts - 1), 0)
    cut = np.minimum(excess, n_valid)
    return n_test - (excess - cut), n_valid - cut


def _per_user_parts(
    users: np.ndarray,
    keys: np.ndarray,
    valid_fraction: float,
    test_fraction: float,
    fixed_test: np.ndarray | None = None,
) -> np.ndarray:
    """0/1/2 (train/valid/test) per row: within each user (``users`` sorted), rows in ascending
    ``keys`` order are test first, then validation, then train. With ``fixed_test`` (a boolean
    mask with exactly each user's test rows), only validation and train are assigned by ``keys``."""
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
    counts = np.diff(np.r_[starts, len(users)])
    n_test, n_valid = _per_user_sizes(counts, valid_fraction, test_fraction)
    if fixed_test is not None:
        keys = np.where(fixed_test, -np.inf, keys)  # test rows first, in any order
    order = np.lexsort((keys, users))
    rank = np.arange(len(users)) - np.repeat(starts, counts)
    per_row_test = np.repeat(n_test, counts)
    per_row_valid = np.repeat(n_valid, counts)
    part_sorted = np.where(
        rank < per_row_test, TEST, np.where(rank < per_row_test + per_row_valid, VALID, TRAIN)
    )
    part = np.empty(len(users), dtype=np.int8)
    part[order] = part_sorted
    return part


def _random_parts(
    users: np.ndarray,
    valid_fraction: float,
    test_fraction: float,
    rng: np.random.Generator,
    test_rng: np.random.Generator,
) -> np.ndarray:
    """Per-user random split; the test rows depend on ``test_rng`` only."""
    test = _per_user_parts(users, test_rng.random(len(users)), 0.0, test_fraction) == TEST
    # Validation is valid_fraction of the user's ratings (not of the rest): the sizes are those
    # of one 80/10/10 draw.
    return _per_user_parts(users, rng.random(len(users)), valid_fraction, test_fraction, test)


def _temporal_parts(ratings: pd.DataFrame, valid_fraction: float, test_fraction: float) -> np.ndarray:
    """Global time cutoffs; returns 0/1/2 (train/valid/test) per row."""
    order = np.lexsort(
        (ratings["item"].to_numpy(), ratings["user"].to_numpy(), ratings["timestamp"].to_numpy())
    )
    n = len(ratings)
    n_train = int(round(n * (1 - valid_fraction - test_fraction)))
    n_valid = int(round(n * valid_fraction))
    part = np.empty(n, dtype=np.int8)
    part[order[:n_train]] = TRAIN
    part[order[n_train : n_train + n_valid]] = VALID
    part[order[n_train + n_valid :]] = TEST
    return part


# -- source protocols -------------------------------------------------------------------------------
RATING_COLUMNS = ("user", "item", "rating", "timestamp")


def _source_parts(source: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Train and test rows of a source frame, in its order; validation is empty."""
    columns = list(RATING_COLUMNS)
    return {
        name: source.loc[source["part"] == code, columns].reset_index(drop=True)
        for code, name in enumerate(PARTS)
    }


def read_grouplens_fold(folder: Path, fold: str) -> pd.DataFrame:
    """GroupLens' ``<fold>.base`` (part 0) and ``<fold>.test`` (part 2) rows, in file order."""
    from recrepro.core.io import sha256_file
    from recrepro.data.movielens import RATING_DTYPES, get_spec

    spec = get_spec("ml-100k")
    frames = []
    for suffix, code in (("base", TRAIN), ("test", TEST)):
        path = Path(folder) / f"{fold}.{suffix}"
        expected = spec.checksums.get(path.name)
        if not path.is_file() or (expected and sha256_file(path) != expected):
            raise DataError(
                f"{path} is missing or corrupt (SHA-256 mismatch); restore it from GroupLens' "
                "ml-100k.zip"
            )
        frame = pd.read_csv(path, sep="\t", names=list(RATING_COLUMNS), dtype=RATING_DTYPES)
        frames.append(frame.assign(part=np.int8(code)))
    return pd.concat(frames, ignore_index=True)


def source_frame(protocol: str, folder: Path, cache_dir: Path) -> pd.DataFrame:
    """The source frame of a source protocol, from the verified ``ml-100k`` ``folder``
    (``cache_dir`` holds TFDS's build for ``tfrs_tutorial``)."""
    spec = get_protocol(protocol)
    if spec.source == "grouplens":
        return read_grouplens_fold(folder, protocol.removeprefix("grouplens_"))
    if spec.source == "tfds":
        from recrepro.data.tfds_source import tutorial_split

        return tutorial_split(folder, Path(cache_dir) / "tfds")
    raise ConfigError(f"protocol '{protocol}' is drawn from the ratings, it has no source frame")
