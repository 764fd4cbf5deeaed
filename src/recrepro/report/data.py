"""Reading the result tables the reporting layer consumes, with their column contracts.

A missing file or column is a DataError that names the rule to rerun. A file with a header and
no rows is fine (e.g. no pairwise tests when only one model ran): every consumer copes with it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from recrepro.core.errors import DataError
from recrepro.core.layout import GROUP_KEY, RUN_KEY
from recrepro.report.style import higher_is_better

KEYS = ("dataset", "protocol", "setting", "metric")
COLUMNS: dict[str, tuple[str, ...]] = {
    # the one across-seed summary (recrepro.stats.seeds.seed_summary), written by `summarize`
    "summary": (*GROUP_KEY, "metric", "mean", "std", "ci_low", "ci_high", "n_seeds"),
    "pairwise": (
        "dataset", "protocol", "setting", "metric", "comparison", "model", "other",
        "other_setting", "test", "statistic", "p_raw", "p_adj", "correction", "family_size",
        "effect", "effect_name", "effect_ci_low", "effect_ci_high", "diff_mean", "ci_low",
        "ci_high", "n_users", "n_seeds", "significant", "decision", "note",
    ),
    "friedman": (
        "dataset", "protocol", "setting", "metric", "statistic", "p_value", "n_users", "n_models",
    ),
    "ranks": ("dataset", "protocol", "setting", "metric", "model", "avg_rank"),
    "cd_cliques": ("dataset", "protocol", "setting", "metric", "clique", "model", "avg_rank"),
    "skipped": (*RUN_KEY, "reason"),
    # the A/A control, the agreement of the crossed test with a per-user t-test, and the
    # calibration of the crossed test by simulation (recrepro.stats)
    "aa_control": (
        "dataset", "protocol", "setting", "metric", "model", "other", "diff_mean", "ci_low",
        "ci_high", "p_adj", "decision", "n_fired", "n_tested",
    ),
    "agreement": (
        "dataset", "protocol", "setting", "metric", "n_tested", "significant",
        "significant_ttest", "significant_both", "disagreements",
    ),
    "calibration": ("dataset", "protocol", "setting", "metric", "source", "coverage", "fpr"),
}
#: Tables a study may lack (older result folders): read as empty when no path is given.
OPTIONAL = ("aa_control", "agreement", "calibration")
PRODUCERS = {
    "summary": "summarize",
    "pairwise": "compute_stats",
    "friedman": "compute_stats",
    "ranks": "compute_stats",
    "cd_cliques": "compute_stats",
    "skipped": "summarize",
    "aa_control": "compute_stats",
    "agreement": "compute_stats",
    "calibration": "compute_stats",
}


def read_csv_checked(
    path: str | os.PathLike, columns: tuple[str, ...], producer: str
) -> pd.DataFrame:
    """Read a CSV and check it has ``columns``; string key columns stay strings."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} is missing; run the '{producer}' rule first")
    try:
        frame = pd.read_csv(
            path,
            dtype={c: str for c in (*GROUP_KEY, "metric", "other")},
        )
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame(columns=list(columns))
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{path} lacks column(s) {', '.join(missing)}; rerun the '{producer}' rule")
    return frame


def as_bool(series: pd.Series) -> pd.Series:
    """True/False from booleans or their common spellings in CSV files."""
    if series.dtype == bool:
        return series
    return series.astype(str).str.strip().str.lower().isin(("true", "1", "1.0", "yes"))


@dataclass(frozen=True)
class ReportData:
    """The aggregate result tables (any of the stats tables, and ``skipped``, may be empty)."""

    summary: pd.DataFrame  # across-seed mean, std, 95% t-CI (results/summary.csv)
    pairwise: pd.DataFrame
    friedman: pd.DataFrame
    ranks: pd.DataFrame
    cd_cliques: pd.DataFrame
    skipped: pd.DataFrame  # runs whose model was not applicable to the dataset, with the reason
    aa_control: pd.DataFrame = field(default_factory=lambda: _empty("aa_control"))
    agreement: pd.DataFrame = field(default_factory=lambda: _empty("agreement"))
    calibration: pd.DataFrame = field(default_factory=lambda: _empty("calibration"))

    @classmethod
    def load(cls, paths: Mapping[str, str | os.PathLike]) -> ReportData:
        """Read each table from ``paths[name]`` (names as in :data:`COLUMNS`)."""
        frames = {
            name: read_csv_checked(paths[name], cols, PRODUCERS[name])
            for name, cols in COLUMNS.items()
            if name in paths or name not in OPTIONAL
        }
        frames["pairwise"]["significant"] = as_bool(frames["pairwise"]["significant"])
        frames["pairwise"]["decision"] = frames["pairwise"]["decision"].fillna("").astype(str)
        return cls(**frames)


def _empty(name: str) -> pd.DataFrame:
    return pd.DataFrame(columns=list(COLUMNS[name]))


def select(frame: pd.DataFrame, **equal: object) -> pd.DataFrame:
    """Rows whose columns equal the given values (values of None are ignored)."""
    mask = pd.Series(True, index=frame.index)
    for column, value in equal.items():
        if value is not None:
            mask &= frame[column] == value
    return frame[mask]


def lookup(frame: pd.DataFrame, column: str, **equal: object) -> float:
    """The single value of ``column`` in the selected rows; NaN if there is none."""
    rows = select(frame, **equal)
    return float(rows[column].iloc[0]) if len(rows) else float("nan")


def ranking(summary: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Rows of one metric, best first (by the metric's direction; ties by model name)."""
    rows = summary[summary["metric"] == metric].dropna(subset=["mean"])
    return rows.sort_values(
        ["mean", "model"], ascending=[not higher_is_better(metric), True], kind="stable"
    )


def read_convergence(paths: list[str]) -> pd.DataFrame | None:
    """A tuning table (``results/tuning/convergence.csv`` or ``curves.csv``), or None if the
    study has no tuned setting."""
    return pd.read_csv(paths[0]) if paths else None
