"""A dataset's raw files identified by their verified content, not by their folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from recrepro.core.errors import DataError
from recrepro.data.identity import content_id, manifest_sha256
from recrepro.data.movielens import DATA_DIR_ENV, DATASETS

FILES = ("u.data", "u.item", "u.user")


@pytest.fixture
def copies(tmp_path: Path, shared_data_dir: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two folders holding the same ML-100K files; the environment variable unset."""
    source = Path(shared_data_dir) / "ml-100k"
    if not (source / "u.data").is_file():
        pytest.skip(f"needs ML-100K in {shared_data_dir} (set {DATA_DIR_ENV})")
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    for name in ("a", "b"):
        (tmp_path / name / "ml-100k").mkdir(parents=True)
        for file in FILES:
            shutil.copy(source / file, tmp_path / name / "ml-100k" / file)
    return tmp_path


def test_the_same_files_in_another_folder_have_the_same_identity(
    copies: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = content_id("ml-100k", copies / "a")
    assert content_id("ml-100k", copies / "b") == first
    assert content_id("ml-100k", None) == first  # a download is checked against the same sums
    sums = DATASETS["ml-100k"].checksums
    assert first == manifest_sha256({f: sums[f] for f in FILES})
    monkeypatch.setenv(DATA_DIR_ENV, str(copies / "b"))  # the environment wins over data_dir
    assert content_id("ml-100k", "/nonexistent") == first


def test_a_folder_that_fails_verification_is_one_clear_error(copies: Path) -> None:
    data = copies / "b" / "ml-100k" / "u.data"
    data.write_bytes(data.read_bytes()[:-1])
    with pytest.raises(DataError, match=rf"^ml-100k: {data} is corrupt or truncated \(SHA-256 mismatch\)"):
        content_id("ml-100k", copies / "b")
    with pytest.raises(DataError, match="data folder /nonexistent does not exist; fix RECREPRO_DATA_DIR"):
        content_id("ml-100k", "/nonexistent")


def test_unchecksummed_and_synthetic_datasets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    assert content_id("ml-1m", None) == f"archive {DATASETS['ml-1m'].archive_sha256}"
    folder = tmp_path / "ml-1m"
    folder.mkdir()
    for name in ("ratings.dat", "movies.dat", "users.dat"):
        (folder / name).write_text(f"{name}\n")
    first = content_id("ml-1m", tmp_path)
    (folder / "ratings.dat").write_text("other\n")  # no published sums: the content's own
    assert content_id("ml-1m", tmp_path) != first
    assert content_id("synth-1x", tmp_path).startswith("synthetic ")  # never read from data_dir
