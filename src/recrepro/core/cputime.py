"""Exact CPU time of a job, recorded by the job itself beside its Snakemake benchmark file.

Snakemake's ``benchmark:`` samples the job's processes every 0.5 s for the first 15 s and then
only every 30 s, so its ``cpu_time`` misses up to 30 s of CPU at the end of a long job. The
heavy rules therefore also pass ``recrepro --cpu-record <benchmark>.cpu.json``: at exit the
command writes the CPU seconds (user + system) of its process and of its waited-for children,
from ``getrusage``. Both are lower bounds (the record misses the shell around the command and
the interpreter's exit, a fraction of a second), so :func:`read_benchmark` takes the larger.
"""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from recrepro.core.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

#: Suffix of the record beside ``<name>.tsv``: ``<name>.cpu.json``.
SUFFIX = ".cpu.json"


def record_path(benchmark: str | Path) -> Path:
    """The CPU record beside a benchmark file."""
    return Path(benchmark).with_suffix(SUFFIX)


def process_cpu_seconds() -> float:
    """User + system CPU seconds of this process and its finished children so far."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@contextmanager
def cpu_recorded(path: str | Path | None) -> Iterator[None]:
    """Write ``{"cpu_seconds", "wall_seconds"}`` of the process to ``path`` when the block ends
    (also when it fails); nothing without a path."""
    start = time.perf_counter()
    try:
        yield
    finally:
        if path:
            from recrepro.core.io import write_json

            write_json(path, {"cpu_seconds": process_cpu_seconds(),
                              "wall_seconds": time.perf_counter() - start})  # fmt: skip


def read_cpu_seconds(benchmark: str | Path) -> float | None:
    """CPU seconds recorded beside ``benchmark``, or None without a record."""
    path = record_path(benchmark)
    if not path.is_file():
        return None
    return float(json.loads(path.read_text())["cpu_seconds"])


def read_benchmark(path: str | Path) -> pd.DataFrame:
    """One Snakemake benchmark TSV (one row per execution; several with ``repeat()``); where the
    job recorded its own CPU time, ``cpu_time`` is the larger of the two. (pandas is imported
    here, not at the top: every command enters :func:`cpu_recorded`.)"""
    import pandas as pd

    try:
        frame = pd.read_csv(path, sep="\t", na_values=["NA", "-", ""])
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{path} is not a Snakemake benchmark file ({exc.__class__.__name__})") from None
    missing = [name for name in ("s", "cpu_time", "max_rss") if name not in frame.columns]
    if missing:
        raise DataError(f"{path} lacks column(s) {', '.join(missing)}; is it a Snakemake benchmark file?")
    recorded = read_cpu_seconds(path)
    if recorded is not None and len(frame) == 1:  # both are lower bounds (see the module docstring)
        frame["cpu_time"] = max(recorded, float(frame["cpu_time"].fillna(0.0).iloc[0]))
    return frame
