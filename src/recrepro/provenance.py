"""What produced a result: code version, configuration, software, machine and timing."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
from importlib import metadata
from typing import Any

PACKAGES = (
    "recrepro", "tensorflow", "tensorflow-datasets", "tf-keras", "tensorflow-recommenders",
    "lightfm-next", "implicit", "optuna", "numpy", "pandas", "scipy", "statsmodels", "matplotlib",
    "snakemake",
)  # fmt: skip


def config_hash(config: Any) -> str:
    """SHA-256 of the canonical JSON form of ``config``."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode("utf-8")).hexdigest()


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def git_state() -> dict[str, Any]:
    """``git_commit`` (HEAD) and ``git_dirty`` (tracked files changed); None outside a checkout."""
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"git_commit": _git("rev-parse", "HEAD"), "git_dirty": None if status is None else bool(status)}


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def provenance(config: Any, **extra: Any) -> dict[str, Any]:
    """A provenance record: git commit and dirty flag, config hash, versions, host, ``extra``."""
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
