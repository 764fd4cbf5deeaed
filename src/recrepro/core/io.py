"""Atomic file writing: write to a temporary file beside the target, then rename.

A killed job therefore never leaves a half-written file that looks like a result.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from recrepro.core.errors import DataError, StorageError

_DISK_FULL = {errno.ENOSPC, errno.EDQUOT}


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


@contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it onto ``target`` on success.

    On any failure the temporary file is removed and ``target`` keeps its previous content (or
    stays absent); a full disk becomes a one-line :class:`StorageError`.
    """
    target = Path(target)
    tmp_path: Path | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        os.close(fd)
        tmp_path = Path(tmp)
        yield tmp_path
        tmp_path.chmod(0o666 & ~_UMASK)  # mkstemp makes 0600; results get the usual permissions
        os.replace(tmp_path, target)
    except OSError as exc:
        if exc.errno in _DISK_FULL:
            raise StorageError(
                f"cannot write {target}: no space left on the device (nothing partial was kept); "
                "free disk space, then rerun snakemake, which resumes from the finished jobs"
            ) from None
        raise
    finally:
        if tmp_path is not None:
            tmp_path.unlink(missing_ok=True)


def _write_with(target: str | os.PathLike, write: Callable[[Path], None]) -> None:
    with atomic_path(target) as tmp:
        write(tmp)


def write_text(target: str | os.PathLike, text: str) -> None:
    _write_with(target, lambda p: p.write_text(text, encoding="utf-8"))


def write_json(target: str | os.PathLike, data: Any) -> None:
    write_text(target, json.dumps(data, indent=2, sort_keys=True, default=_json_default) + "\n")


def write_parquet(target: str | os.PathLike, frame: pd.DataFrame) -> None:
    _write_with(target, lambda p: frame.to_parquet(p, index=False))


def write_csv(target: str | os.PathLike, frame: pd.DataFrame, **kwargs: Any) -> None:
    _write_with(target, lambda p: frame.to_csv(p, index=False, **kwargs))


def read_json(path: str | os.PathLike, hint: str) -> Any:
    """A JSON file's content; a missing or unreadable file stops with one line ending in ``hint``
    (how to restore it)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path} not found; {hint}") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"cannot read {path} ({exc}); {hint}") from None


def _json_default(value: Any) -> Any:
    """Serialise NumPy scalars and arrays."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot serialise {type(value).__name__} to JSON")


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
