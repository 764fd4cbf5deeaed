"""Synthetic interaction data, for tests and scaling benchmarks.

Two generators:

* :func:`make_synthetic` returns small tidy tables (the parsed MovieLens format) for tests.
  Users and items get low-rank latent factors; items also get a power-law popularity. Each user
  picks items with probability proportional to ``popularity * exp(sharpness * affinity)``, so
  the data has both a popularity signal and a personal signal that collaborative models can
  learn. Ratings (1-5) grow with affinity. Timestamps increase along each user's sequence and
  the next item is biased towards the previous one's neighbourhood, which gives sequential
  models a signal. It builds a dense users x items matrix, so it is for small sizes only.
* :func:`write_ml100k_folder` writes a dataset of any size in the raw MovieLens 100K file format
  (``u.data``, ``u.item``, ``u.user``) with Zipf item popularity and heavy-tailed user activity
  (:class:`SyntheticML`), in memory linear in the number of ratings. The datasets ``synth-1x``,
  ``synth-10x`` and ``synth-100x`` of :mod:`recrepro.data.movielens` are ML-100K's size times 1,
  10 and 100, generated on demand into the download cache.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recrepro.core.io import sha256_file
from recrepro.data.ml100k_format import ML100K_GENRES

GENRES = ("Action", "Comedy", "Drama", "Romance", "Thriller", "Sci-Fi")


def make_synthetic(
    n_users: int = 200,
    n_items: int = 150,
    interactions_per_user: int = 30,
    rank: int = 4,
    popularity_exponent: float = 1.0,
    sharpness: float = 3.0,
    seed: int = 0,
) -> dict[str, pd.DataFrame]:
    """Return ``{"ratings", "items", "users"}`` frames shaped like the parsed MovieLens tables."""
    rng = np.random.default_rng(seed)
    if interactions_per_user >= n_items:
        raise ValueError("interactions_per_user must be smaller than n_items")
    user_f = rng.normal(size=(n_users, rank)) / np.sqrt(rank)
    item_f = rng.normal(size=(n_items, rank)) / np.sqrt(rank)
    popularity = 1.0 / np.arange(1, n_items + 1) ** popularity_exponent
    popularity = popularity[rng.permutation(n_items)]
    affinity = user_f @ item_f.T
    logits = np.log(popularity)[None, :] + sharpness * affinity
    # Gumbel top-k: sampling without replacement proportional to exp(logits).
    keys = logits + rng.gumbel(size=logits.shape)
    chosen = np.argsort(-keys, axis=1)[:, :interactions_per_user]
    users = np.repeat(np.arange(n_users), interactions_per_user)
    items = chosen.ravel()
    aff = affinity[users, items]
    ratings = np.clip(np.rint(3.0 + 2.0 * aff / (affinity.std() * 2) + rng.normal(0, 0.5, aff.size)), 1, 5)
    base_time = 880_000_000
    starts = rng.integers(0, 10_000_000, n_users)
    # Order each user's picks by a noisy path through factor space, so order carries signal.
    order_key = item_f[items, 0] + rng.normal(0, 0.3, items.size)
    ts = np.empty(items.size, np.int64)
    for u in range(n_users):
        sl = slice(u * interactions_per_user, (u + 1) * interactions_per_user)
        rank_in_user = np.argsort(np.argsort(order_key[sl]))
        ts[sl] = base_time + starts[u] + rank_in_user * 3600
    ratings_frame = pd.DataFrame(
        {
            "user": users.astype(np.int64) + 1,
            "item": items.astype(np.int64) + 1,
            "rating": ratings.astype(np.float32),
            "timestamp": ts,
        }
    )
    genre_of = np.array(GENRES)[np.argmax(item_f[:, :1] * np.arange(1, 7)[None, :] % 6, axis=1) % 6]
    items_frame = pd.DataFrame(
        {
            "item_id": np.arange(1, n_items + 1, dtype=np.int64),
            "title": [f"Synthetic movie {i} ({1970 + i % 30})" for i in range(1, n_items + 1)],
            "year": pd.array(1970 + np.arange(1, n_items + 1) % 30, dtype="Int64"),
            "genres": genre_of,
        }
    )
    users_frame = pd.DataFrame(
        {
            "user_id": np.arange(1, n_users + 1, dtype=np.int64),
            "age": rng.integers(18, 70, n_users),
            "gender": rng.choice(["M", "F"], n_users),
            "occupation": rng.choice(["student", "engineer", "other"], n_users),
        }
    )
    return {"ratings": ratings_frame, "items": items_frame, "users": users_frame}


# -- Synthetic datasets in the MovieLens 100K file format ------------------------------------------

#: Size of MovieLens 100K (Harper & Konstan 2015): users, movies, ratings.
ML100K_SIZE = (943, 1682, 100_000)
#: Bump when the generator's output changes, so cached folders are regenerated.
GENERATOR_VERSION = 1
MANIFEST = "synthetic.json"
#: Relative frequency of each ML-100K genre (``u.item`` order without "unknown"), roughly as in
#: ML-100K; a movie's primary genre is drawn from it.
GENRE_WEIGHTS = (
    251, 135, 42, 122, 505, 109, 50, 725, 22, 24, 92, 56, 61, 247, 101, 251, 71, 27,
)  # fmt: skip
OCCUPATIONS = (
    "administrator", "artist", "doctor", "educator", "engineer", "entertainment", "executive",
    "healthcare", "homemaker", "lawyer", "librarian", "marketing", "none", "other", "programmer",
    "retired", "salesman", "scientist", "student", "technician", "writer",
)  # fmt: skip
#: First and last timestamp of ML-100K (Sept 1997 - April 1998).
TIME_RANGE = (874_724_710, 893_286_638)


@dataclass(frozen=True)
class SyntheticML:
    """Parameters of a synthetic dataset written in the MovieLens 100K file format.

    * Item popularity follows a power law: the item of popularity rank ``r`` (ranks are a random
      permutation of the items) has weight ``r ** -zipf_exponent`` (Zipf's law).
    * User activity is heavy-tailed: every user rates ``min_per_user`` movies (as in ML-100K)
      plus a share of the remaining ratings proportional to a log-normal weight with spread
      ``activity_sigma`` (1.1 matches ML-100K's median/mean activity of 65/106); no user rates
      more than half of the catalogue.
    * Each movie has a primary genre (drawn with ML-100K's genre frequencies) and a few others;
      each user has a favourite genre (uniform over the genres): a share ``taste`` of their
      picks is drawn from the movies of that genre (by popularity), the rest from all movies,
      always without repetition, so collaborative and genre-aware models have a personal signal.
    * Ratings (1-5) add a user bias, a movie quality and a bonus for the favourite genre.

    The defaults put the classic baselines near their ML-100K results (random split, nDCG@10 of
    popularity / item kNN / EASE: 0.14 / 0.23 / 0.32 here, 0.13 / 0.20 / 0.26 on ML-100K).
    ``n_users``, ``n_items`` and ``n_interactions`` are exact; the output is a deterministic
    function of these parameters (``seed`` included).
    """

    n_users: int = ML100K_SIZE[0]
    n_items: int = ML100K_SIZE[1]
    n_interactions: int = ML100K_SIZE[2]
    zipf_exponent: float = 0.8
    activity_sigma: float = 1.1
    min_per_user: int = 20
    taste: float = 0.8
    seed: int = 0

    @classmethod
    def scaled(cls, scale: float, **params: Any) -> SyntheticML:
        """ML-100K's size times ``scale`` (users, movies and ratings alike: the mean number of
        ratings per user stays at 106 while the matrix gets sparser)."""
        n_users, n_items, n_ratings = (max(1, round(x * scale)) for x in ML100K_SIZE)
        return cls(n_users=n_users, n_items=n_items, n_interactions=n_ratings, **params)

    @property
    def max_per_user(self) -> int:
        return max(self.min_per_user, self.n_items // 2)

    def check(self) -> None:
        """Raise ValueError if the parameters cannot be met."""
        if min(self.n_users, self.n_items, self.min_per_user) < 1:
            raise ValueError("n_users, n_items and min_per_user must be positive")
        if self.min_per_user > self.n_items:
            raise ValueError(f"min_per_user={self.min_per_user} exceeds n_items={self.n_items}")
        low, high = self.n_users * self.min_per_user, self.n_users * self.max_per_user
        if not low <= self.n_interactions <= high:
            raise ValueError(
                f"n_interactions={self.n_interactions} must lie in [{low}, {high}] for "
                f"{self.n_users} users rating {self.min_per_user} to {self.max_per_user} movies"
            )
        if self.zipf_exponent < 0 or self.activity_sigma < 0 or not 0 <= self.taste <= 1:
            raise ValueError("need zipf_exponent >= 0, activity_sigma >= 0 and 0 <= taste <= 1")


def _user_activity(cfg: SyntheticML, rng: np.random.Generator) -> np.ndarray:
    """Ratings per user: ``min_per_user`` plus a log-normal share, capped at ``max_per_user``."""
    weights = rng.lognormal(0.0, cfg.activity_sigma, cfg.n_users)
    extra = cfg.n_interactions - cfg.n_users * cfg.min_per_user
    counts = cfg.min_per_user + rng.multinomial(extra, weights / weights.sum())
    cap = cfg.max_per_user
    while (over := counts > cap).any():  # hand the excess of capped users to the others
        excess = int((counts[over] - cap).sum())
        counts[over] = cap
        free = weights * (counts < cap)
        counts += rng.multinomial(excess, free / free.sum())
    return counts


class _ItemSampler:
    """Draws movies for users: by popularity, or by popularity within the user's favourite genre."""

    def __init__(
        self, popularity: np.ndarray, genre: np.ndarray, favourite: np.ndarray, taste: float
    ) -> None:
        self.favourite, self.taste = favourite, taste
        self.popularity = popularity / popularity.sum()
        self.global_cdf = np.cumsum(self.popularity)
        self.order = np.lexsort((np.arange(len(genre)), genre))  # movies grouped by genre
        sorted_genre = genre[self.order]
        genres = np.arange(len(GENRE_WEIGHTS))
        self.start = np.searchsorted(sorted_genre, genres)
        self.stop = np.searchsorted(sorted_genre, genres, side="right")
        cum = np.cumsum(self.popularity[self.order])
        before = np.r_[0.0, cum][self.start[sorted_genre]]
        self.genre_mass = np.bincount(genre, self.popularity, minlength=len(genres))
        # Genre g's movies have keys in (g, g + 1]: g plus the CDF within the genre.
        self.key = sorted_genre + (cum - before) / self.genre_mass[sorted_genre]

    def draw(self, users: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One movie (with replacement) for each entry of ``users``."""
        u = rng.random(len(users))
        own = rng.random(len(users)) < self.taste
        items = np.searchsorted(self.global_cdf, u, side="right")
        g = self.favourite[users[own]]
        pos = np.searchsorted(self.key, g + u[own], side="right")
        items[own] = self.order[np.clip(pos, self.start[g], self.stop[g] - 1)]  # clip: rounding
        return np.minimum(items, len(self.order) - 1)

    def weights(self, user: int) -> np.ndarray:
        """Exact sampling probabilities of every movie for ``user``."""
        in_genre = self.order[self.start[self.favourite[user]] : self.stop[self.favourite[user]]]
        w = (1 - self.taste) * self.popularity
        w[in_genre] += self.taste * self.popularity[in_genre] / self.popularity[in_genre].sum()
        return w


def _distinct_items(
    counts: np.ndarray, sampler: _ItemSampler, n_items: int, rng: np.random.Generator, rounds: int = 12
) -> tuple[np.ndarray, np.ndarray]:
    """``counts[u]`` distinct movies per user, drawn by ``sampler`` without replacement.

    Rounds of draws with replacement, duplicates dropped (first draw kept) and surplus draws cut,
    until every user has enough; users still short after ``rounds`` (only those who rate a large
    part of a small catalogue) draw the rest exactly from their remaining movies.
    """
    n_users = len(counts)
    keys = np.empty(0, np.int64)  # user * n_items + item, in draw order
    for _ in range(rounds):
        need = counts - np.bincount(keys // n_items, minlength=n_users)
        who = np.flatnonzero(need > 0)
        if len(who) == 0:
            break
        users = np.repeat(who, need[who] + need[who] // 4 + 2)
        keys = np.concatenate([keys, users * np.int64(n_items) + sampler.draw(users, rng)])
        _, first = np.unique(keys, return_index=True)
        keys = keys[np.sort(first)]
        keys = keys[_rank_within(keys // n_items) < counts[keys // n_items]]
    need = counts - np.bincount(keys // n_items, minlength=n_users)
    extra, ordered = [], np.sort(keys)
    for user in np.flatnonzero(need > 0):
        w = sampler.weights(user)
        lo, hi = np.searchsorted(ordered, [user * n_items, (user + 1) * n_items])
        w[ordered[lo:hi] % n_items] = 0.0
        picks = rng.choice(n_items, need[user], replace=False, p=w / w.sum())
        extra.append(user * np.int64(n_items) + picks)
    keys = np.concatenate([keys, *extra])
    return keys // n_items, keys % n_items


def _rank_within(groups: np.ndarray) -> np.ndarray:
    """For each entry, how many earlier entries share its group (0 for the first)."""
    order = np.argsort(groups, kind="stable")
    sorted_groups = groups[order]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    rank_sorted = np.arange(len(groups)) - np.repeat(starts, np.diff(np.r_[starts, len(groups)]))
    rank = np.empty(len(groups), np.int64)
    rank[order] = rank_sorted
    return rank


def generate_ml100k_files(cfg: SyntheticML) -> dict[str, pd.DataFrame]:
    """The rows of ``u.data``, ``u.item`` and ``u.user`` (raw ML-100K columns) for ``cfg``."""
    cfg.check()
    rng = np.random.default_rng(cfg.seed)
    n_users, n_items, n_genres = cfg.n_users, cfg.n_items, len(GENRE_WEIGHTS)
    popularity = (rng.permutation(n_items) + 1.0) ** -cfg.zipf_exponent
    genre_p = np.asarray(GENRE_WEIGHTS, float) / sum(GENRE_WEIGHTS)
    genre = rng.choice(n_genres, n_items, p=genre_p)
    present = np.bincount(genre, minlength=n_genres) > 0
    favourite = rng.choice(n_genres, n_users, p=present / present.sum())
    sampler = _ItemSampler(popularity, genre, favourite, cfg.taste)
    counts = _user_activity(cfg, rng)
    user, item = _distinct_items(counts, sampler, n_items, rng)

    user_bias = rng.normal(0.0, 0.45, n_users)
    quality = rng.normal(0.0, 0.5, n_items)
    liked = genre[item] == favourite[user]
    raw = 3.4 + user_bias[user] + quality[item] + 0.4 * liked + rng.normal(0.0, 0.85, len(user))
    first, last = TIME_RANGE
    start = rng.integers(first, last - (last - first) // 5, n_users)
    span = np.minimum(rng.lognormal(14.0, 1.5, n_users), last - start).astype(np.int64) + 1
    stamp = start[user] + (rng.random(len(user)) * span[user]).astype(np.int64)
    order = np.lexsort((item, user))
    ratings = pd.DataFrame(
        {
            "user": user[order] + 1,
            "item": item[order] + 1,
            "rating": np.clip(np.rint(raw[order]), 1, 5).astype(np.int64),
            "timestamp": stamp[order],
        }
    )

    flags = rng.random((n_items, n_genres)) < 0.06  # a few secondary genres
    flags[np.arange(n_items), genre] = True
    year = 1998 - np.minimum(rng.geometric(0.1, n_items) - 1, 76)
    ids = np.arange(1, n_items + 1)
    items = pd.DataFrame(
        {
            "item_id": ids,
            "title": [f"Synthetic Movie {i} ({y})" for i, y in zip(ids, year, strict=True)],
            "release_date": [f"01-Jan-{y}" for y in year],
            "video_release": "",
            "url": "",
            ML100K_GENRES[0]: 0,
            **{g: flags[:, j].astype(np.int64) for j, g in enumerate(ML100K_GENRES[1:])},
        }
    )
    users = pd.DataFrame(
        {
            "user_id": np.arange(1, n_users + 1),
            "age": rng.integers(7, 74, n_users),
            "gender": rng.choice(["M", "F"], n_users, p=[0.71, 0.29]),
            "occupation": rng.choice(OCCUPATIONS, n_users),
            "zip_code": [f"{z:05d}" for z in rng.integers(0, 100_000, n_users)],
        }
    )
    return {"u.data": ratings, "u.item": items, "u.user": users}


def write_ml100k_folder(folder: str | os.PathLike, cfg: SyntheticML) -> Path:
    """Write ``u.data``, ``u.item``, ``u.user`` for ``cfg`` into ``folder`` (ML-100K's formats:
    tab-separated ratings, ``|``-separated latin-1 movies and users) and a manifest recording
    the parameters and each file's SHA-256."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = generate_ml100k_files(cfg)
    for name, frame in files.items():
        sep = "\t" if name == "u.data" else "|"
        frame.to_csv(folder / name, sep=sep, header=False, index=False, encoding="latin-1")
    manifest = {
        "generator": "recrepro.data.synthetic.write_ml100k_folder",
        "version": GENERATOR_VERSION,
        "params": asdict(cfg),
        "sha256": {name: sha256_file(folder / name) for name in files},
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return folder


def is_current(folder: str | os.PathLike, cfg: SyntheticML) -> bool:
    """True if ``folder`` holds intact output of this generator version for ``cfg``."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    if manifest.get("version") != GENERATOR_VERSION or manifest.get("params") != asdict(cfg):
        return False
    sums = manifest.get("sha256", {})
    return bool(sums) and all(
        (folder / n).is_file() and sha256_file(folder / n) == s for n, s in sums.items()
    )


def ensure_ml100k_folder(folder: str | os.PathLike, cfg: SyntheticML) -> Path:
    """``folder`` holding the synthetic files of ``cfg``: reused if intact and current, else
    (re)generated in a temporary folder beside it and moved into place."""
    folder = Path(folder)
    if is_current(folder, cfg):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=f".{folder.name}.") as tmp:
        write_ml100k_folder(Path(tmp) / folder.name, cfg)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(Path(tmp) / folder.name, folder)
    return folder


