"""Atomic writes: a result file appears whole, with the usual permissions, or not at all."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from recrepro.cli import main
from recrepro.core.errors import StorageError
from recrepro.core.io import atomic_path, write_text


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


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_is_one_clear_error_and_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "out" / "summary.csv"
    with pytest.raises(StorageError, match=r"cannot write .*summary.csv: no space left on the device"):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            _disk_full()
    assert list(target.parent.iterdir()) == []


def test_the_cli_reports_a_full_disk_in_one_line(tmp_path: Path, monkeypatch, capsys) -> None:
    metrics = tmp_path / "metrics.json"
    metrics.write_text(
        '{"dataset": "d", "protocol": "random", "model": "m", "setting": "faithful", "seed": 1,'
        ' "metrics": {"ndcg@10": 0.5}}'
    )
    monkeypatch.setattr("pandas.DataFrame.to_csv", _disk_full)
    assert main(["summarize", "--out", str(tmp_path / "summary.csv"), str(metrics)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("recrepro: error: cannot write") and "free disk space" in err[-1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]
