"""A run stopped on request (Ctrl-C, SIGTERM) told apart from one whose job failed.

Snakemake reports both as "At least one job did not complete successfully"; its log says which.
The workflow's ``onerror`` handler prints :data:`STOPPED` instead when the run was stopped.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

#: What Snakemake logs when asked to stop: on SIGINT (Ctrl-C), and on SIGTERM.
MARKERS = (
    "Terminating processes on user request",
    "Will exit after finishing currently running jobs",
)
STOPPED = (
    "recrepro: stopped on request (Ctrl-C or SIGTERM); job errors above are jobs it cut short, which "
    "left no output: rerun the same command to resume (finished jobs are kept)"
)


def stopped_on_request(logs: str | os.PathLike | Iterable[str | os.PathLike] | None) -> bool:
    """Whether the Snakemake log file(s) ``logs`` record a stop on request."""
    if logs is None:
        return False
    paths = [logs] if isinstance(logs, str | os.PathLike) else list(logs)
    for path in paths:
        try:
            text = Path(path).read_text(errors="replace")
        except OSError:
            continue
        if any(marker in text for marker in MARKERS):
            return True
    return False
