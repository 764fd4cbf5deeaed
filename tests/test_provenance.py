"""Provenance: the revision a result was made from, dirty whenever the tree differs from it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from recrepro.core.provenance import file_checksums, git_state


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        cwd=repo, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git checkout with one commit (tracked.txt, .gitignore ignoring results/), as cwd."""
    _git(tmp_path, "init", "-q")
    (tmp_path / "tracked.txt").write_text("one\n")
    (tmp_path / ".gitignore").write_text("results/\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "first")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")  # provenance is taken from inside the tree
    return tmp_path


def test_a_clean_tree_is_not_dirty_and_ignored_files_do_not_count(repo: Path) -> None:
    (repo / "results").mkdir()
    (repo / "results" / "metrics.json").write_text("{}")
    commit = _git(repo, "rev-parse", "HEAD")
    assert git_state() == {"git_commit": commit, "git_dirty": False, "git_diff_sha256": None}


def test_untracked_files_make_the_tree_dirty_and_their_bytes_enter_the_hash(repo: Path) -> None:
    new = repo / "new_model.py"
    new.write_text("a = 1\n")
    first = git_state()
    assert first["git_dirty"] is True and len(first["git_diff_sha256"]) == 64
    assert git_state() == first  # the same tree, the same hash
    new.write_text("a = 2\n")  # same name, other bytes
    second = git_state()
    assert second["git_dirty"] is True and second["git_diff_sha256"] != first["git_diff_sha256"]


def test_modified_tracked_files_change_the_hash_with_their_content(repo: Path) -> None:
    (repo / "tracked.txt").write_text("two\n")
    two = git_state()
    (repo / "tracked.txt").write_text("three\n")
    three = git_state()
    assert two["git_dirty"] and three["git_dirty"]
    assert None not in (two["git_diff_sha256"], three["git_diff_sha256"])
    assert two["git_diff_sha256"] != three["git_diff_sha256"]
    (repo / "tracked.txt").write_text("one\n")  # back to the commit
    assert git_state()["git_dirty"] is False


def test_a_folder_being_published_can_be_left_out_but_nothing_else(repo: Path) -> None:
    """publish_reported records the revision while it rewrites reported/: only that folder is
    left out of the dirty check."""
    (repo / "reported").mkdir()
    (repo / "reported" / "summary.csv").write_text("a\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "reported")
    (repo / "reported" / "summary.csv").write_text("b\n")  # being rewritten
    (repo / "reported" / "new.csv").write_text("c\n")
    assert git_state()["git_dirty"] is True
    assert git_state(excluding=[repo / "reported"])["git_dirty"] is False
    (repo / "tracked.txt").write_text("two\n")  # a change elsewhere still counts
    left_out = git_state(excluding=[repo / "reported"])
    assert left_out["git_dirty"] is True and left_out["git_diff_sha256"] != git_state()["git_diff_sha256"]
    assert git_state(excluding=["/elsewhere"]) == git_state()  # outside the checkout: no effect


def test_outside_a_checkout_everything_is_unknown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert git_state() == {"git_commit": None, "git_dirty": None, "git_diff_sha256": None}


def test_file_checksums_are_sha256_by_path(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"abc")
    assert file_checksums([tmp_path / "a"]) == {
        str(tmp_path / "a"): "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    }
