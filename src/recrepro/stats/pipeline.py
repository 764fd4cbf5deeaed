"""Compute every statistics table from a list of run files and write them as CSV.

Tables (all tidy, rows sorted by their key columns):

- ``pairwise``: paired per-user tests. ``comparison`` is
  ``all_pairs`` (every pair of models of a group, one Holm family per group and metric),
  ``vs_best`` (the all-pairs rows that involve the best model, oriented model vs best, with the
  all-pairs family's adjusted p-values: choosing the best by its test mean is covered because
  every pair is in the family), ``vs_reference`` (every model vs ``stats.reference``, its own
  family) and ``tuned_vs_faithful`` (each model's tuned against its faithful runs, one family
  per dataset, protocol and metric).
- ``friedman``, ``ranks``, ``cd_cliques``: Friedman test over all models, average ranks, and
  the critical-difference diagram's groups (models the all-pairs tests do not separate).
- ``seed_level``: per model, and per model minus the best model, the variance components
  (users, seeds, residual) and a two-level (users x seeds) bootstrap CI of the mean.
- ``power``: the minimum detectable effect of each group's paired comparisons.

The best model of a group (dataset, protocol, setting, metric) is the one with the best
across-seed mean of the aggregate metric (as reported in the tables), ties broken by name; if
some model lacks the aggregate, the mean of its per-user values is used.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from recrepro.errors import ConfigError, DataError
from recrepro.evaluation import catalogue
from recrepro.io import write_csv
from recrepro.rng import derive_seed
from recrepro.stats.collect import (
    GROUP_KEYS,
    load_metrics,
    load_per_user,
    metric_matrix,
    model_seeds,
    per_user_columns,
    to_units,
    user_means,
)
from recrepro.stats.config import DEFAULT_METRICS, StatsConfig, higher_is_better
from recrepro.stats.friedman import (
    CLIQUE_COLUMNS,
    FRIEDMAN_COLUMNS,
    RANK_COLUMNS,
    friedman_tables,
)
from recrepro.stats.multilevel import two_level_bootstrap, variance_components
from recrepro.stats.paired import (
    BETTER,
    PAIRWISE_COLUMNS,
    WORSE,
    Side,
    compare_pairs,
)
from recrepro.stats.power import min_detectable_dz
from recrepro.stats.seeds import seed_summary

log = logging.getLogger(__name__)

SEED_LEVEL_COLUMNS = (
    "dataset", "protocol", "setting", "metric", "model", "other", "n_users", "n_seeds", "mean",
    "ci_low", "ci_high", "var_user", "var_seed", "var_residual", "share_seed",
)
POWER_COLUMNS = (
    "dataset", "protocol", "setting", "metric", "n_users", "n_models", "family_size", "alpha",
    "power", "mde_dz", "mde_dz_worst", "sd_diff", "mde", "mde_worst",
)
#: Output name -> (columns, sort keys).
TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "pairwise": (
        PAIRWISE_COLUMNS,
        ("dataset", "protocol", "setting", "metric", "comparison", "model", "other"),
    ),
    "friedman": (FRIEDMAN_COLUMNS, ("dataset", "protocol", "setting", "metric")),
    "ranks": (RANK_COLUMNS, ("dataset", "protocol", "setting", "metric", "model")),
    "cd_cliques": (CLIQUE_COLUMNS, ("dataset", "protocol", "setting", "metric", "clique", "model")),
    "seed_level": (SEED_LEVEL_COLUMNS, ("dataset", "protocol", "setting", "metric", "model", "other")),
    "power": (POWER_COLUMNS, ("dataset", "protocol", "setting", "metric")),
}
_FLIP = {BETTER: WORSE, WORSE: BETTER}


def select_metrics(available: Iterable[str], config: StatsConfig) -> list[str]:
    """The metrics to test: ``config.metrics`` (all must exist) or the defaults that exist,
    with their relevance-sensitivity variants (``ndcg_r4@10``, ...) where the files have them."""
    available = set(available)
    if config.metrics is not None:
        missing = [m for m in config.metrics if m not in available]
        if missing:
            raise ConfigError(
                f"stats.metrics {', '.join(missing)} not in the per-user files; "
                f"choose from {', '.join(sorted(available))}"
            )
        return sorted(set(config.metrics))
    chosen = {m for m in DEFAULT_METRICS if m in available}
    if not chosen:
        raise ConfigError(
            f"none of the default stats metrics ({', '.join(DEFAULT_METRICS)}) is in the per-user "
            f"files; set stats.metrics to some of {', '.join(sorted(available))}"
        )
    for name in available:
        parsed = catalogue.parse(name)
        base = parsed.family + (f"@{parsed.k}" if parsed.k is not None else "")
        if parsed.threshold is not None and base in chosen:
            chosen.add(name)
    return sorted(chosen)


def best_model(matrix: pd.DataFrame, aggregate: Mapping[str, float], metric: str) -> str | None:
    """The best model (column) of ``matrix``: by ``aggregate`` means if all have one; None for
    metrics without a better direction."""
    direction = higher_is_better(metric)
    if direction is None:
        return None
    models = list(matrix.columns)
    if all(m in aggregate for m in models):
        means = {m: aggregate[m] for m in models}
    else:
        means = matrix.mean().to_dict()
    sign = -1.0 if direction else 1.0
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
    aggregates = _aggregate_means(seed_summary(load_metrics(metrics_files)))
    metrics = select_metrics(per_user_columns(per_user_files), cfg)
    raw = load_per_user(per_user_files, metrics)
    seeds = model_seeds(raw)
    means = user_means(to_units(raw, metrics), metrics)
    indexed = raw.set_index([*GROUP_KEYS, "user", "model", "seed"]).sort_index()
    rows: dict[str, list[dict[str, object]]] = {name: [] for name in TABLES}
    for keys, frame in means.groupby(list(GROUP_KEYS), sort=True):
        group_keys = dict(zip(GROUP_KEYS, keys, strict=True))
        for metric in metrics:
            group = {**group_keys, "metric": metric}
            sides = _sides(frame, metric, seeds, keys)
            if not sides:
                continue
            best = _group_rows(sides, group, aggregates, cfg, rows)
            _seed_level_rows(indexed, group, list(sides), best, cfg, rows)
    rows["pairwise"] += _tuned_vs_faithful(means, metrics, seeds, cfg)
    tables = {
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


def _sides(
    frame: pd.DataFrame, metric: str, seeds: Mapping[tuple, frozenset[int]], keys: tuple
) -> dict[str, Side]:
    """model -> its per-user units, weights and seeds for one group and metric."""
    matrix = metric_matrix(frame, metric)
    pooled = catalogue.parse(metric).spec is not None and \
        catalogue.parse(metric).spec.aggregate != "mean"
    weights = metric_matrix(frame, "weight") if pooled else None
    setting = keys[GROUP_KEYS.index("setting")]
    return {
        model: Side(
            matrix[model],
            weights[model] if weights is not None else pd.Series(1.0, index=matrix.index),
            seeds[(*keys, model)], setting,
        )
        for model in matrix.columns
    }


def _group_rows(
    sides: Mapping[str, Side], group: dict[str, str],
    aggregates: Mapping[tuple, Mapping[str, float]], cfg: StatsConfig,
    rows: dict[str, list[dict[str, object]]],
) -> str | None:
    """Append one group's pairwise, Friedman, rank and clique rows; returns the best model."""
    label = "/".join(group.values())
    models = sorted(sides)
    if len(models) < 2:
        log.info("%s: fewer than 2 models, no tests", label)
        return None
    matrix = pd.DataFrame({m: sides[m].units for m in models})
    best = best_model(matrix, aggregates.get(tuple(group.values()), {}), group["metric"])
    pairs = [
        (a, sides[a], b, sides[b]) for i, a in enumerate(models) for b in models[i + 1 :]
    ]
    all_pairs = compare_pairs(pairs, "all_pairs", group, cfg, lambda a, b: best in (a, b))
    rows["pairwise"] += all_pairs
    if best is not None:
        rows["pairwise"] += [_versus(row, best) for row in all_pairs if best in (row["model"],
                                                                                row["other"])]
    if cfg.reference in sides:
        rows["pairwise"] += compare_pairs(
            [(m, sides[m], cfg.reference, sides[cfg.reference]) for m in models
             if m != cfg.reference],
            "vs_reference", group, cfg,
        )
    elif cfg.reference is not None:
        log.info("%s: reference %s not in the study, no vs_reference tests", label, cfg.reference)
    direction = higher_is_better(group["metric"])
    if len(models) < 3 or direction is None:
        log.info("%s: fewer than 3 models or no direction, no Friedman test", label)
        return best
    if len(matrix.dropna()) < 2:
        raise DataError(f"{label}: fewer than 2 users have every model; runs must share a split")
    different = {frozenset((r["model"], r["other"])) for r in all_pairs if r["significant"]}
    summary, ranks, cliques = friedman_tables(matrix, group, direction, different)
    rows["friedman"].append(summary)
    rows["ranks"] += ranks
    rows["cd_cliques"] += cliques
    _power_row(all_pairs, len(matrix.dropna()), len(models), group, cfg, rows)
    return best


def _versus(row: Mapping[str, object], best: str) -> dict[str, object]:
    """An all-pairs row as ``model vs best`` (sign-carrying fields flipped if needed)."""
    out = dict(row, comparison="vs_best")
    if row["other"] == best:
        return out
    out.update(model=row["other"], other=best, decision=_FLIP.get(row["decision"],
                                                                  row["decision"]))
    for column in ("effect", "diff_mean"):
        out[column] = -row[column] if row.get(column) is not None else row.get(column)
    if row["test"] != "wilcoxon" and row.get("statistic") is not None:
        out["statistic"] = -row["statistic"]
    for low, high in (("ci_low", "ci_high"), ("effect_ci_low", "effect_ci_high")):
        if row.get(low) is not None:
            out[low], out[high] = -row[high], -row[low]
    return out


def _power_row(
    all_pairs: list[dict[str, object]], n_users: int, n_models: int, group: dict[str, str],
    cfg: StatsConfig, rows: dict[str, list[dict[str, object]]],
) -> None:
    """Minimum detectable effect at ``n_users``: d_z, and in the test's units via the median
    standard deviation of the per-user differences of the group's pairs (``sd_diff``)."""
    family = n_models * (n_models - 1) // 2
    mde, worst = (min_detectable_dz(n_users, a, cfg.power) for a in (cfg.alpha, cfg.alpha / family))
    sds = [r["sd_diff"] for r in all_pairs if np.isfinite(r.get("sd_diff", math.nan))]
    sd = float(np.median(sds)) if sds else math.nan
    rows["power"].append({
        **group, "n_users": n_users, "n_models": n_models, "family_size": family,
        "alpha": cfg.alpha, "power": cfg.power, "mde_dz": mde, "mde_dz_worst": worst,
        "sd_diff": sd, "mde": mde * sd, "mde_worst": worst * sd,
    })


def _seed_level_rows(
    raw: pd.DataFrame, group: dict[str, str], models: list[str], best: str | None,
    cfg: StatsConfig, rows: dict[str, list[dict[str, object]]],
) -> None:
    """Variance components and two-level bootstrap CI per model and per model minus best
    (``raw``: per-user values indexed by dataset, protocol, setting, user, model, seed)."""
    cube = raw.loc[tuple(group[k] for k in GROUP_KEYS), group["metric"]].unstack(
        ["model", "seed"]
    )
    grids = {m: cube[m].dropna() for m in models if m in cube.columns.get_level_values(0)}
    for model, grid in grids.items():
        rows["seed_level"].append(_seed_level(grid, group, model, "", cfg))
        if best is not None and model != best and best in grids:
            other = grids[best]
            if list(other.columns) != list(grid.columns):
                continue  # seed sets differ: the pairwise row says so
            common = grid.index.intersection(other.index)
            rows["seed_level"].append(
                _seed_level(grid.loc[common] - other.loc[common], group, model, best, cfg)
            )


def _seed_level(
    grid: pd.DataFrame, group: dict[str, str], model: str, other: str, cfg: StatsConfig
) -> dict[str, object]:
    values = grid.to_numpy(np.float64)
    parts = variance_components(values)
    seed = derive_seed("stats.two_level", *group.values(), model, other)
    low, high = two_level_bootstrap(values, cfg.bootstrap, seed)
    total = parts["var_user"] + parts["var_seed"] + parts["var_residual"]
    return {
        **group, "model": model, "other": other, "n_users": values.shape[0],
        "n_seeds": values.shape[1], "mean": float(values.mean()) if values.size else math.nan,
        "ci_low": low, "ci_high": high, "var_user": parts["var_user"],
        "var_seed": parts["var_seed"], "var_residual": parts["var_residual"],
        "share_seed": parts["var_seed"] / total if total > 0 else math.nan,
    }


def _tuned_vs_faithful(
    means: pd.DataFrame, metrics: list[str], seeds: Mapping[tuple, frozenset[int]],
    cfg: StatsConfig,
) -> list[dict[str, object]]:
    """Each model's tuned vs faithful runs, one Holm family per dataset, protocol and metric."""
    out: list[dict[str, object]] = []
    for (dataset, protocol), frame in means.groupby(["dataset", "protocol"], sort=True):
        settings = {s: part for s, part in frame.groupby("setting")}
        if not {"tuned", "faithful"} <= set(settings):
            continue
        for metric in metrics:
            tuned = _sides(settings["tuned"], metric, seeds, (dataset, protocol, "tuned"))
            faithful = _sides(settings["faithful"], metric, seeds, (dataset, protocol, "faithful"))
            pairs = [(m, tuned[m], m, faithful[m]) for m in sorted(set(tuned) & set(faithful))]
            if pairs:
                group = {"dataset": dataset, "protocol": protocol, "setting": "tuned",
                         "metric": metric}
                out += compare_pairs(pairs, "tuned_vs_faithful", group, cfg)
    return out


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
