"""Compare a run's ``results/summary.csv`` with the committed ``reported/summary.csv``.

Rows are matched on (dataset, protocol, model, setting, metric); a mean differs when
``|current - reported| > atol + rtol * |reported|``, and a row present on one side only differs too.
Defaults: ``atol=1e-6``, ``rtol=1e-3``. Deterministic classic models are expected to match to about
1e-9 on any machine; TensorFlow models are bit-identical on one machine but may drift slightly across
CPUs and library builds, which is what ``rtol`` and the per-model / per-metric overrides (config block
``verify:``) are for. Timings (``fit_seconds``) are never compared.

:func:`publish` is the other direction: it copies a finished run's results into ``reported/``.
"""

from __future__ import annotations

import logging
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recrepro.config import block_defaults
from recrepro.errors import DataError, RecreproError
from recrepro.io import atomic_path, write_csv, write_text

log = logging.getLogger(__name__)
KEY = ["dataset", "protocol", "model", "setting", "metric"]
COLUMNS = [*KEY, "reported", "current", "diff", "atol", "rtol", "ok", "status"]
_DEFAULTS = block_defaults("verify")  # the schema's defaults (their one home)
DEFAULT_ATOL = _DEFAULTS["atol"]
DEFAULT_RTOL = _DEFAULTS["rtol"]
DEFAULT_IGNORE = tuple(_DEFAULTS["ignore"])


class ResultsDiffer(RecreproError):
    """Current numbers differ from the reported ones beyond tolerance."""


@dataclass(frozen=True)
class Tolerances:
    """Default ``atol`` / ``rtol``, optional per-model and per-metric overrides, metrics not compared.

    An override's missing field falls back to the default. Where a model override and a metric
    override both apply, the larger ``atol`` and the larger ``rtol`` of the two are used.
    """

    atol: float = DEFAULT_ATOL
    rtol: float = DEFAULT_RTOL
    models: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    metrics: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    ignore: tuple[str, ...] = DEFAULT_IGNORE

    @classmethod
    def from_config(cls, block: Mapping[str, Any] | None, **overrides: float | None) -> Tolerances:
        """From the config's ``verify:`` block; ``overrides`` (atol, rtol) that are not None win."""
        block = dict(block or {})
        block.update({name: value for name, value in overrides.items() if value is not None})
        return cls(
            atol=float(block.get("atol", DEFAULT_ATOL)),
            rtol=float(block.get("rtol", DEFAULT_RTOL)),
            models=dict(block.get("models") or {}),
            metrics=dict(block.get("metrics") or {}),
            ignore=tuple(block.get("ignore", DEFAULT_IGNORE)),
        )

    def for_row(self, model: str, metric: str) -> tuple[float, float]:
        """The (atol, rtol) of one model's metric."""
        found = [o for o in (self.models.get(model), self.metrics.get(metric)) if o]
        if not found:
            return float(self.atol), float(self.rtol)
        atol = max(o.get("atol", self.atol) for o in found)
        rtol = max(o.get("rtol", self.rtol) for o in found)
        return float(atol), float(rtol)


def read_summary(path: str | Path, hint: str = "run the study first (snakemake)") -> pd.DataFrame:
    """A ``summary.csv`` (see :mod:`recrepro.summarize`), parsed exactly; ``hint`` says how to make it."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, float_precision="round_trip", dtype={name: str for name in KEY})
    except FileNotFoundError:
        raise DataError(f"{path} not found; {hint}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} is not a readable CSV file ({exc.__class__.__name__})") from None
    missing = [name for name in [*KEY, "mean"] if name not in frame.columns]
    if missing:
        raise DataError(f"{path} lacks column(s) {', '.join(missing)}; is it a recrepro summary.csv?")
    duplicated = frame.duplicated(KEY)
    if duplicated.any():
        first = ", ".join(frame.loc[duplicated, KEY].iloc[0])
        raise DataError(f"{path} has {int(duplicated.sum())} duplicate row(s), e.g. ({first})")
    return frame


def compare(
    current: pd.DataFrame, reported: pd.DataFrame, tolerances: Tolerances | None = None
) -> pd.DataFrame:
    """One row per (dataset, protocol, model, setting, metric) present on either side.

    Columns: the key, ``reported`` and ``current`` means, ``diff`` (absolute), the row's ``atol`` and
    ``rtol``, ``ok`` and ``status`` (``ok``, ``differs``, ``missing in current``,
    ``missing in reported``). Ignored metrics are left out. Two NaN means are equal.
    """
    tolerances = tolerances or Tolerances()
    merged = pd.merge(
        reported[[*KEY, "mean"]].rename(columns={"mean": "reported"}),
        current[[*KEY, "mean"]].rename(columns={"mean": "current"}),
        on=KEY, how="outer", indicator=True,
    )  # fmt: skip
    merged = merged[~merged["metric"].isin(tolerances.ignore)]
    merged = merged.sort_values(KEY, kind="stable").reset_index(drop=True)
    pairs = zip(merged["model"], merged["metric"], strict=True)
    limits = np.array([tolerances.for_row(model, metric) for model, metric in pairs], dtype=float)
    atol, rtol = limits.reshape(-1, 2).T
    reported_mean = merged["reported"].to_numpy(dtype=float)
    current_mean = merged["current"].to_numpy(dtype=float)
    diff = np.abs(current_mean - reported_mean)
    both_nan = np.isnan(reported_mean) & np.isnan(current_mean)
    within = (diff <= atol + rtol * np.abs(reported_mean)) | both_nan
    merged["diff"], merged["atol"], merged["rtol"] = diff, atol, rtol
    status = np.where(within, "ok", "differs").astype(object)
    status[(merged["_merge"] == "left_only").to_numpy()] = "missing in current"
    status[(merged["_merge"] == "right_only").to_numpy()] = "missing in reported"
    merged["status"] = status
    merged["ok"] = merged["status"] == "ok"
    return merged[COLUMNS]


def failure_message(table: pd.DataFrame, reported: str | Path, tolerances: Tolerances) -> str | None:
    """The one-line summary of a failed comparison, or None when every number matches."""
    bad = int((~table["ok"]).sum())
    if not bad:
        return None
    overrides = "; plus per-model/metric overrides" if tolerances.models or tolerances.metrics else ""
    return (
        f"{bad} of {len(table)} numbers differ from {reported} beyond tolerance "
        f"(atol={tolerances.atol:g}, rtol={tolerances.rtol:g}{overrides})"
    )


def format_report(table: pd.DataFrame) -> str:
    """Per-metric counts and largest difference, then every row that differs or is missing."""
    if table.empty:
        return "no numbers to compare"
    per_metric = (
        table.groupby("metric", sort=True)
        .agg(compared=("ok", "size"), differ=("ok", lambda ok: int((~ok).sum())), max_diff=("diff", "max"))
        .reset_index()
    )
    lines = [
        f"{int(table['ok'].sum())} of {len(table)} numbers match the reported ones",
        "per metric:",
        per_metric.to_string(index=False),
    ]
    bad = table[~table["ok"]]
    if not bad.empty:
        shown = bad[[*KEY, "reported", "current", "diff", "status"]]
        lines += ["differing or missing:", shown.to_string(index=False)]
    return "\n".join(lines)


def verify(
    current: str | Path, reported: str | Path, tolerances: Tolerances, out: str | Path | None = None
) -> pd.DataFrame:
    """Compare two summary files, log the report, write the table to ``out`` (if given).

    Raises :class:`ResultsDiffer` (one line: how many numbers differ) on any mismatch.
    """
    hint = "restore it (git checkout reported/) or run snakemake publish_reported"
    table = compare(read_summary(current), read_summary(reported, hint), tolerances)
    if out is not None:
        write_csv(out, table)
    log.info("%s vs %s\n%s", current, reported, format_report(table))
    message = failure_message(table, reported, tolerances)
    if message:
        raise ResultsDiffer(message)
    return table


# --- publishing: results/ -> reported/ -------------------------------------------------------------


def environment_snapshot() -> str:
    """Python, platform, CPU count, git revision and ``pip freeze`` of the running interpreter."""
    from recrepro.provenance import git_state

    git = git_state()
    lines = [
        "# Environment of the run whose results are in this folder (snakemake publish_reported).",
        f"written: {datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}",
        f"python: {platform.python_version()} ({sys.implementation.name})",
        f"platform: {platform.platform()}",
        f"machine: {platform.machine()}",
        f"processor: {platform.processor() or 'unknown'}",
        f"cpu_count: {os.cpu_count()}",
        f"git_commit: {git['git_commit']}",
        f"git_dirty: {git['git_dirty']}",
        "",
        "# python -m pip freeze",
        _pip_freeze(),
    ]
    return "\n".join(lines).rstrip("\n") + "\n"


def _pip_freeze() -> str:
    """``pip freeze`` output; the installed distributions from importlib.metadata if pip is absent."""
    try:
        out = subprocess.run(
            [sys.executable, "-m", "pip", "freeze"], capture_output=True, text=True, timeout=120, check=True
        )
        return out.stdout
    except (OSError, subprocess.SubprocessError):
        from importlib import metadata

        names = sorted(f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions())
        return "# (pip unavailable; installed distributions from importlib.metadata)\n" + "\n".join(names)


def _copy(source: str | Path, target: str | Path) -> None:
    source = Path(source)
    if not source.is_file():
        raise DataError(f"{source} not found; run the study first (snakemake)")
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)


def publish(
    summary: str | Path,
    stats: Iterable[str | Path],
    paper: str | Path,
    out: str | Path,
    tables: Iterable[str | Path] = (),
) -> list[Path]:
    """Copy the summary, statistics tables (into ``stats/``), the paper's Markdown tables (into
    ``tables/``) and the paper into ``out``, and write ``environment.txt``."""
    out = Path(out)
    written = [out / "summary.csv", out / "main.pdf"]
    _copy(summary, written[0])
    _copy(paper, written[1])
    for folder, files in (("stats", stats), ("tables", tables)):
        for table in files:
            written.append(out / folder / Path(table).name)
            _copy(table, written[-1])
    written.append(out / "environment.txt")
    write_text(written[-1], environment_snapshot())
    return written
