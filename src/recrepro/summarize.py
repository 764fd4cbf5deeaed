"""Across-seed summary of every run: mean and standard deviation per model and metric.

Runs a model refused for the dataset (status ``not_applicable``, see :mod:`recrepro.runs`) have
no metrics; :func:`collect_skipped` lists them with their reason for the tables' notes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

from recrepro.runs import STATUS_NOT_APPLICABLE

KEY = ["dataset", "protocol", "model", "setting"]
SKIPPED_COLUMNS = [*KEY, "seed", "reason"]


def _records(paths: Iterable[str | Path]) -> Iterator[tuple[dict, dict]]:
    """``(run key with seed, record)`` of each ``metrics.json`` file."""
    for path in paths:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
        yield {k: record[k] for k in [*KEY, "seed"]}, record


def collect_metrics(paths: Iterable[str | Path]) -> pd.DataFrame:
    """Tidy frame (dataset, protocol, model, setting, seed, metric, value) of ``metrics.json`` files."""
    rows = [
        {**key, "metric": metric, "value": value}
        for key, record in _records(paths)
        for metric, value in record["metrics"].items()
    ]
    return pd.DataFrame(rows, columns=[*KEY, "seed", "metric", "value"])


def collect_skipped(paths: Iterable[str | Path]) -> pd.DataFrame:
    """The runs whose model was not applicable to the dataset: KEY + seed + reason."""
    rows = [
        {**key, "reason": record.get("reason", "")}
        for key, record in _records(paths)
        if record.get("status") == STATUS_NOT_APPLICABLE
    ]
    return pd.DataFrame(rows, columns=SKIPPED_COLUMNS)


def summarize(metrics: pd.DataFrame) -> pd.DataFrame:
    """Mean, sample standard deviation (ddof=1; 0 for one seed) and seed count per group."""
    grouped = metrics.groupby([*KEY, "metric"], sort=True)["value"]
    summary = grouped.agg(mean="mean", std="std", n_seeds="count").reset_index()
    summary["std"] = summary["std"].fillna(0.0)
    return summary
