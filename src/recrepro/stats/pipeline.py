"""Compute every statistics table from a list of run files and write them as CSV.

Tables (all tidy, rows sorted by their key columns):

- ``seed_summary``: across-seed mean, std, 95% t-CI of each aggregate metric (metrics.json).
- ``pairwise``: paired per-user tests of every model vs the best model and vs the reference.
- ``friedman``, ``ranks``, ``nemenyi``: Friedman test over all models, average ranks, post-hoc.

The best model of a group (dataset, protocol, setting, metric) is the one with the best
across-seed mean of the aggregate metric (the ``seed_summary`` mean, as reported in the tables),
ties broken by name; if some model lacks the aggregate, the mean of its per-user values is used.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from recrepro.errors import ConfigError, DataError
from recrepro.io import write_csv
from recrepro.stats.collect import (
    GROUP_KEYS,
    load_metrics,
    load_per_user,
    metric_matrix,
    per_user_columns,
    user_means,
)
from recrepro.stats.config import DEFAULT_METRICS, StatsConfig, higher_is_better
from recrepro.stats.friedman import (
    FRIEDMAN_COLUMNS,
    NEMENYI_COLUMNS,
    RANK_COLUMNS,
    friedman_tables,
)
from recrepro.stats.paired import PAIRWISE_COLUMNS, compare_family
from recrepro.stats.seeds import SEED_SUMMARY_COLUMNS, seed_summary

log = logging.getLogger(__name__)

#: Output name -> (columns, sort keys).
TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "seed_summary": (SEED_SUMMARY_COLUMNS, ("dataset", "protocol", "setting", "metric", "model")),
    "pairwise": (
        PAIRWISE_COLUMNS, ("dataset", "protocol", "setting", "metric", "comparison", "model"),
    ),
    "friedman": (FRIEDMAN_COLUMNS, ("dataset", "protocol", "setting", "metric")),
    "ranks": (RANK_COLUMNS, ("dataset", "protocol", "setting", "metric", "model")),
    "nemenyi": (NEMENYI_COLUMNS, ("dataset", "protocol", "setting", "metric", "model", "other")),
}


def select_metrics(available: Iterable[str], config: StatsConfig) -> list[str]:
    """The metrics to test: ``config.metrics`` (all must exist) or the defaults that exist."""
    available = set(available)
    if config.metrics is not None:
        missing = [m for m in config.metrics if m not in available]
        if missing:
            raise ConfigError(
                f"stats.metrics {', '.join(missing)} not in the per-user files; "
                f"choose from {', '.join(sorted(available))}"
            )
        return sorted(set(config.metrics))
    chosen = sorted(m for m in DEFAULT_METRICS if m in available)
    if not chosen:
        raise ConfigError(
            f"none of the default stats metrics ({', '.join(DEFAULT_METRICS)}) is in the per-user "
            f"files; set stats.metrics to some of {', '.join(sorted(available))}"
        )
    return chosen


def best_model(matrix: pd.DataFrame, aggregate: Mapping[str, float], metric: str) -> str:
    """The best model (column) of ``matrix``: by ``aggregate`` means if all have one."""
    models = list(matrix.columns)
    if all(m in aggregate for m in models):
        means = {m: aggregate[m] for m in models}
    else:
        means = matrix.mean().to_dict()
    sign = -1.0 if higher_is_better(metric) else 1.0
    return min(models, key=lambda m: (sign * means[m], m))


def compute_tables(
    per_user_files: Iterable[str | os.PathLike],
    metrics_files: Iterable[str | os.PathLike],
    config: Mapping[str, Any] | StatsConfig | None = None,
) -> dict[str, pd.DataFrame]:
    """All statistics tables (see the module docstring) of the given runs."""
    cfg = StatsConfig.from_mapping(config)
    per_user_files = sorted(map(str, per_user_files))
    if not per_user_files:
        raise DataError("no per_user.parquet files given; run the models first")
    summary = seed_summary(load_metrics(metrics_files))
    metrics = select_metrics(per_user_columns(per_user_files), cfg)
    means = user_means(load_per_user(per_user_files, metrics), metrics)
    aggregates = _aggregate_means(summary)
    rows: dict[str, list[dict[str, object]]] = {name: [] for name in TABLES if name != "seed_summary"}
    for keys, frame in means.groupby(list(GROUP_KEYS), sort=True):
        for metric in metrics:
            group = {**dict(zip(GROUP_KEYS, keys, strict=True)), "metric": metric}
            _group_rows(metric_matrix(frame, metric), group, aggregates, cfg, rows)
    tables = {"seed_summary": summary} | {
        name: pd.DataFrame(found, columns=list(TABLES[name][0])) for name, found in rows.items()
    }
    return {name: _tidy(name, table) for name, table in tables.items()}


def compute_stats(
    per_user_files: Iterable[str | os.PathLike],
    metrics_files: Iterable[str | os.PathLike],
    outputs: Mapping[str, str | os.PathLike],
    config: Mapping[str, Any] | StatsConfig | None = None,
) -> dict[str, pd.DataFrame]:
    """Compute all tables and write each to ``outputs[name]`` (names: keys of :data:`TABLES`)."""
    missing = [name for name in TABLES if name not in outputs]
    if missing:
        raise ConfigError(f"compute_stats needs output paths for {', '.join(missing)}")
    tables = compute_tables(per_user_files, metrics_files, config)
    for name, table in tables.items():
        write_csv(outputs[name], table)
        log.info("wrote %s (%d rows) to %s", name, len(table), outputs[name])
    return tables


def _group_rows(
    matrix: pd.DataFrame, group: dict[str, str], aggregates: Mapping[tuple, Mapping[str, float]],
    cfg: StatsConfig, rows: dict[str, list[dict[str, object]]],
) -> None:
    """Append one group's pairwise, Friedman, rank and Nemenyi rows to ``rows``."""
    label = "/".join(group.values())
    if matrix.shape[1] < 2:
        log.info("%s: fewer than 2 models, no tests", label)
        return
    best = best_model(matrix, aggregates.get(tuple(group.values()), {}), group["metric"])
    rows["pairwise"] += compare_family(matrix, best, "vs_best", group, cfg)
    if cfg.reference in matrix.columns:
        rows["pairwise"] += compare_family(matrix, cfg.reference, "vs_reference", group, cfg)
    elif cfg.reference is not None:
        log.info("%s: reference %s not in the study, no vs_reference tests", label, cfg.reference)
    if matrix.shape[1] < 3:
        log.info("%s: fewer than 3 models, no Friedman test", label)
        return
    if len(matrix.dropna()) < 2:
        raise DataError(f"{label}: fewer than 2 users have every model; runs must share a split")
    summary, ranks, nemenyi = friedman_tables(
        matrix, group, higher_is_better(group["metric"]), cfg.alpha
    )
    rows["friedman"].append(summary)
    rows["ranks"] += ranks
    rows["nemenyi"] += nemenyi


def _aggregate_means(summary: pd.DataFrame) -> dict[tuple, dict[str, float]]:
    """(dataset, protocol, setting, metric) -> {model: across-seed mean}."""
    out: dict[tuple, dict[str, float]] = {}
    for row in summary.itertuples(index=False):
        key = (row.dataset, row.protocol, row.setting, row.metric)
        out.setdefault(key, {})[row.model] = float(row.mean)
    return out


def _tidy(name: str, table: pd.DataFrame) -> pd.DataFrame:
    columns, keys = TABLES[name]
    table = table.reindex(columns=list(columns))
    return table.sort_values(list(keys), kind="mergesort").reset_index(drop=True)
