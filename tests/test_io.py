"""Atomic writes: a result file appears whole, with the usual permissions, or not at all."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from recrepro.io import atomic_path, write_text


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out" / "metrics.json"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("{half")
        raise RuntimeError("killed mid-write")
    assert not target.exists() and list(target.parent.iterdir()) == []


def test_a_failed_write_keeps_the_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "summary.csv"
    write_text(target, "old\n")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("new, but cut")
        raise RuntimeError
    assert target.read_text() == "old\n" and len(list(tmp_path.iterdir())) == 1


def test_written_files_follow_the_umask(tmp_path: Path) -> None:
    write_text(tmp_path / "a.txt", "x")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o666 & ~mask
