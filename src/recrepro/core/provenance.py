"""What produced a result: code version, configuration, software, machine and timing."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
from collections.abc import Iterable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = (
    "recrepro", "tensorflow", "tensorflow-datasets", "tf-keras", "tensorflow-recommenders",
    "lightfm-next", "implicit", "optuna", "numpy", "pandas", "scipy", "statsmodels", "matplotlib",
    "snakemake",
)  # fmt: skip


def config_hash(config: Any) -> str:
    """SHA-256 of the canonical JSON form of ``config``."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode("utf-8")).hexdigest()


def _git_bytes(*args: str) -> bytes | None:
    """Standard output of ``git ARGS``; None if git fails or is missing."""
    try:
        out = subprocess.run(["git", *args], capture_output=True, timeout=60, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout


def _git(*args: str) -> str | None:
    out = _git_bytes(*args)
    return None if out is None else out.decode("utf-8", "replace").strip()


def _file_bytes(path: Path) -> bytes:
    """A file's bytes (a symlink's target); a marker if it cannot be read."""
    try:
        return os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
    except OSError as exc:
        return f"<unreadable: {exc.strerror}>".encode()


def diff_sha256(top: str, pathspec: Sequence[str] = ()) -> str:
    """SHA-256 of the working tree's changes against HEAD: ``git diff HEAD`` (binary patches
    included) and the path and bytes of every untracked, not ignored file (within ``pathspec``)."""
    diff = _git_bytes(
        "-C", top, "diff", "HEAD", "--binary", "--no-ext-diff", "--no-textconv", "--", *pathspec
    )
    digest = hashlib.sha256(diff or b"")
    listed = _git_bytes("-C", top, "ls-files", "--others", "--exclude-standard", "-z", "--", *pathspec) or b""
    for name in sorted(filter(None, listed.split(b"\0"))):
        digest.update(b"\0untracked\0" + name + b"\0")
        digest.update(_file_bytes(Path(top) / os.fsdecode(name)))
    return digest.hexdigest()


def git_state(excluding: Iterable[str | os.PathLike] = ()) -> dict[str, Any]:
    """``git_commit`` (HEAD); ``git_dirty``: any change against it, untracked (not ignored) files
    included, outside the folders ``excluding`` (e.g. the folder being written, which differs from
    HEAD by construction); ``git_diff_sha256``: :func:`diff_sha256` of those changes (None when
    clean). All None outside a checkout."""
    top = _git("rev-parse", "--show-toplevel")
    pathspec = _excluding(top, excluding) if top else []
    status = _git("status", "--porcelain", "--", *pathspec)
    if status is None or not top:
        return {"git_commit": _git("rev-parse", "HEAD"), "git_dirty": None, "git_diff_sha256": None}
    return {
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(status),
        "git_diff_sha256": diff_sha256(top, pathspec) if status else None,
    }


def _excluding(top: str, folders: Iterable[str | os.PathLike]) -> list[str]:
    """A git pathspec for the whole checkout but ``folders`` (those inside it)."""
    spec = []
    for folder in folders:
        try:
            relative = Path(folder).resolve().relative_to(Path(top).resolve())
        except ValueError:
            continue  # outside the checkout: nothing to exclude
        spec.append(f":(top,exclude){relative.as_posix()}")
    return [":(top)", *spec] if spec else []


def file_checksums(paths: Iterable[str | os.PathLike]) -> dict[str, str]:
    """SHA-256 of each file, keyed by its path as given (a run's input data)."""
    from recrepro.core.io import sha256_file

    return {str(path): sha256_file(path) for path in paths}


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def provenance(config: Any, **extra: Any) -> dict[str, Any]:
    """A provenance record: git commit, dirty flag and diff hash, config hash, versions, host,
    ``extra``."""
    return {
        **git_state(),
        "config_hash": config_hash(config),
        "config": config,
        "packages": package_versions(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "threads": int(os.environ.get("RECREPRO_THREADS", "0")) or None,
        **extra,
    }
