"""Synthetic datasets in the ML-100K file format: the generator and the synth-Nx datasets."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from recrepro.data.movielens import DATA_DIR_ENV, DATASETS, load_tables, locate, parse_ml100k
from recrepro.data.synthetic import MANIFEST, SyntheticML, is_current, write_ml100k_folder

SMALL = SyntheticML(n_users=120, n_items=300, n_interactions=9_000, seed=3)


def file_bytes(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in ("u.data", "u.item", "u.user")}


def test_generator_is_deterministic_for_a_seed(tmp_path) -> None:
    first = file_bytes(write_ml100k_folder(tmp_path / "a", SMALL))
    assert first == file_bytes(write_ml100k_folder(tmp_path / "b", SMALL))
    other = SyntheticML(**{**SMALL.__dict__, "seed": 4})
    assert first["u.data"] != file_bytes(write_ml100k_folder(tmp_path / "c", other))["u.data"]


def test_sizes_are_exact_and_pairs_distinct(tmp_path) -> None:
    tables = parse_ml100k(write_ml100k_folder(tmp_path, SMALL))
    ratings = tables["ratings"]
    assert (len(tables["users"]), len(tables["items"]), len(ratings)) == (120, 300, 9_000)
    assert not ratings.duplicated(["user", "item"]).any()
    per_user = ratings.groupby("user").size()
    assert per_user.min() >= SMALL.min_per_user and per_user.max() <= SMALL.max_per_user
    assert set(ratings["rating"].unique()) <= {1, 2, 3, 4, 5}
    assert tables["items"]["year"].notna().all() and (tables["items"]["genres"] != "").all()


def test_popularity_is_power_law_and_activity_heavy_tailed(tmp_path) -> None:
    def top_share(exponent: float) -> float:
        cfg = SyntheticML(n_users=500, n_items=1_000, n_interactions=40_000, zipf_exponent=exponent)
        counts = np.sort(parse_ml100k(write_ml100k_folder(tmp_path / str(exponent), cfg))["ratings"]
                         .groupby("item").size().to_numpy())[::-1]  # fmt: skip
        return counts[:10].sum() / counts.sum()

    flat, steep = top_share(0.0), top_share(1.0)
    assert flat < 0.02 and steep > 3 * flat  # the 10 most popular of 1,000 movies
    cfg = SyntheticML(n_users=500, n_items=5_000, n_interactions=50_000)
    activity = parse_ml100k(write_ml100k_folder(tmp_path / "act", cfg))["ratings"].groupby("user").size()
    assert activity.min() >= 20 and activity.max() > 8 * activity.median()  # ML-100K: 737 / 65


def test_scaled_sizes_multiply_ml100k() -> None:
    cfg = SyntheticML.scaled(10)
    assert (cfg.n_users, cfg.n_items, cfg.n_interactions) == (9_430, 16_820, 1_000_000)
    assert DATASETS["synth-100x"].synthetic == SyntheticML.scaled(100)


def test_impossible_parameters_are_refused(tmp_path) -> None:
    with pytest.raises(ValueError, match="n_interactions=10 must lie in"):
        write_ml100k_folder(tmp_path, SyntheticML(n_users=5, n_items=50, n_interactions=10))


def test_synth_dataset_is_generated_into_the_cache_on_demand(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "not-used"))  # data_dir is for GroupLens files
    cache = tmp_path / "cache"
    folder = locate("synth-1x", None, cache)
    assert folder == cache / "synth-1x" and is_current(folder, SyntheticML.scaled(1))
    tables = load_tables("synth-1x", folder)
    assert (len(tables["users"]), len(tables["items"]), len(tables["ratings"])) == (943, 1_682, 100_000)
    assert list(tables["users"].columns) == ["user_id", "age", "gender", "occupation", "zip_code"]
    assert not DATASETS["synth-1x"].checksums  # ML-100K's SHA-256 sums do not apply

    stamp = os.stat(folder / "u.data").st_mtime_ns
    assert locate("synth-1x", None, cache) == folder
    assert os.stat(folder / "u.data").st_mtime_ns == stamp  # reused, not regenerated

    original = (folder / "u.data").read_bytes()
    (folder / "u.data").write_bytes(original[:-100])  # damaged: regenerated identically
    assert not is_current(folder, SyntheticML.scaled(1))
    locate("synth-1x", None, cache)
    assert (folder / "u.data").read_bytes() == original
    assert (folder / MANIFEST).is_file()


def test_favourite_genres_give_a_personal_signal(tmp_path) -> None:
    """Item kNN must beat popularity on held-out hits@10: the data is not popularity alone."""
    from recrepro.data.interactions import Catalogue, Interactions
    from recrepro.data.splits import split_ratings
    from recrepro.models import build_model

    tables = parse_ml100k(write_ml100k_folder(tmp_path, SyntheticML()))  # ML-100K's size
    catalogue = Catalogue(users=tables["users"], items=tables["items"])
    parts = split_ratings(tables["ratings"], "random", 0.1, 0.1, np.random.default_rng(0))
    train, test = (Interactions.from_frame(parts[p], catalogue) for p in ("train", "test"))
    relevant = test.matrix().toarray() > 0

    def hits(name: str) -> int:
        scores = build_model(name).fit(train, None, np.random.default_rng(0)).score(np.arange(943))
        scores[train.matrix().toarray() > 0] = -np.inf
        top = np.argsort(-scores, axis=1, kind="stable")[:, :10]
        return int(np.take_along_axis(relevant, top, axis=1).sum())

    assert hits("itemknn") > 1.2 * hits("popularity") > 0, (hits("itemknn"), hits("popularity"))
