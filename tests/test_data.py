"""MovieLens loading: checksums, clear errors, tidy tables."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from recrepro.core.errors import DataError
from recrepro.data.movielens import DATA_DIR_ENV, load_tables, locate


@pytest.fixture
def copy_of_ml100k(tmp_path: Path, shared_data_dir: str) -> Path:
    """A writable copy of the three checksummed files (tests may corrupt it)."""
    target = tmp_path / "ml-100k"
    target.mkdir()
    for name in ("u.data", "u.item", "u.user"):
        shutil.copy(Path(shared_data_dir) / "ml-100k" / name, target / name)
    return tmp_path


def test_parses_ml100k_into_tidy_tables(shared_data_dir: str, monkeypatch) -> None:
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    tables = load_tables("ml-100k", locate("ml-100k", shared_data_dir, "unused"))
    ratings, items, users = tables["ratings"], tables["items"], tables["users"]
    assert ratings.shape == (100_000, 4)
    assert list(ratings.columns) == ["user", "item", "rating", "timestamp"]
    assert ratings["user"].nunique() == 943 and len(users) == 943 and len(items) == 1682
    assert set(ratings["rating"].unique()) == {1, 2, 3, 4, 5}
    toy_story = items.set_index("item_id").loc[1]
    assert toy_story["title"] == "Toy Story (1995)" and toy_story["year"] == 1995
    assert toy_story["genres"] == "Animation|Children's|Comedy"
    # Titles are not unique in ML-100K: that is why items are keyed by MovieLens id.
    assert items["title"].duplicated().sum() == 18
    assert items["year"].isna().sum() == 1  # item 267 has no release date


def test_env_variable_may_name_the_dataset_folder_itself(copy_of_ml100k: Path, monkeypatch) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(copy_of_ml100k / "ml-100k"))
    assert locate("ml-100k", None, "unused") == copy_of_ml100k / "ml-100k"


def test_corrupt_file_is_a_clear_error(copy_of_ml100k: Path, monkeypatch) -> None:
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    data = copy_of_ml100k / "ml-100k" / "u.data"
    data.write_bytes(data.read_bytes()[:-1000])  # truncated
    with pytest.raises(DataError, match=r"u\.data is corrupt or truncated \(SHA-256 mismatch\)"):
        locate("ml-100k", copy_of_ml100k, "unused")


def test_missing_file_and_missing_folder_are_clear_errors(copy_of_ml100k: Path, monkeypatch) -> None:
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    (copy_of_ml100k / "ml-100k" / "u.item").unlink()
    with pytest.raises(DataError, match=r"u\.item is missing"):
        locate("ml-100k", copy_of_ml100k, "unused")
    with pytest.raises(DataError, match="does not exist"):
        locate("ml-100k", copy_of_ml100k / "nowhere", "unused")


def test_unknown_dataset(monkeypatch) -> None:
    with pytest.raises(DataError, match="unknown dataset 'ml-3k'"):
        locate("ml-3k", None, "unused")
