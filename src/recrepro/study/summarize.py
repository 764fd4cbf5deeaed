"""Across-seed summary of every run (results/summary.csv): mean, standard deviation and 95% t-CI
per model and metric, computed by the one across-seed function
:func:`recrepro.stats.seeds.seed_summary` (the statistics layer uses the same function).

Runs a model refused for the dataset (status ``not_applicable``, see :mod:`recrepro.core.runs`) have
no metrics; :func:`collect_skipped` lists them with their reason for the tables' notes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

from recrepro.core.layout import GROUP_KEY
from recrepro.core.runs import STATUS_NOT_APPLICABLE

KEY = list(GROUP_KEY)
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
    """Mean, sample standard deviation (ddof=1; NaN for one seed), 95% t-CI and seed count per
    run group and metric (:func:`recrepro.stats.seeds.seed_summary`)."""
    from recrepro.stats.seeds import seed_summary

    return seed_summary(metrics)
