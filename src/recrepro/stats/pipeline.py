"""Compute every statistics table from a list of run files (or from the same data as frames:
the per-user values published under ``reported/``) and write them as CSV.

Every number speaks of the linearised units (:mod:`recrepro.stats.units`): per user and seed,
values whose mean over the users is that seed run's aggregate, so means and differences are the
tables' values. Tables (all tidy, rows sorted by their key columns):

- ``pairwise``: paired comparisons (primary test ``stats.test``, default the crossed users x
  seeds t-test, plus the per-user sign-flip and t-test p-values). ``comparison`` is
  ``all_pairs`` (every pair of models of a group, one Holm family per group and metric),
  ``vs_best`` (the all-pairs rows that involve the best model, oriented model vs best, with the
  all-pairs family's adjusted p-values: choosing the best by its test mean is covered because
  every pair is in the family), ``vs_reference`` (every model vs ``stats.reference``, its own
  family) and ``tuned_vs_faithful`` (each model's tuned against its faithful runs, one family
  per dataset, protocol and metric).
- ``friedman``, ``ranks``, ``cd_cliques``: Friedman test over all models, average ranks, and
  the critical-difference diagram's groups (models the all-pairs tests do not separate).
- ``seed_level``: per model, and per model minus the best model, the variance components
  (users, seeds, residual), the crossed-model t-interval of the mean (``ci_low``, ``ci_high``,
  ``se``, ``df``) and, as extra columns, the two-level bootstrap interval.
- ``power``: the minimum detectable effect of each group's paired comparisons.
- ``agreement``: per group and metric, how many ``vs_best`` comparisons the primary test and the
  per-user paired t-test call significant, both, and how often they disagree.
- ``calibration``: coverage and false-positive rate of the crossed test (and of the users-only
  t-test) on null data simulated with the group's own variance components.
- ``aa_control``: the A/A pair (``stats.aa_pair``), which must not differ.

The best model of a group (dataset, protocol, setting, metric) is the one with the best
across-seed mean of the aggregate metric (as reported in the tables), ties broken by name; if
some model lacks the aggregate, the mean of its linearised units is used.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from recrepro.core.errors import ConfigError, DataError
from recrepro.core.io import write_csv
from recrepro.core.rng import derive_seed
from recrepro.evaluation import catalogue
from recrepro.stats.collect import (
    GROUP_KEYS,
    RUN_KEYS,
    WEIGHT,
    load_metrics,
    load_per_user,
    model_seeds,
    per_user_columns,
    run_matrices,
)
from recrepro.stats.config import DEFAULT_METRICS, StatsConfig, higher_is_better
from recrepro.stats.crossed import crossed_test, simulate_null
from recrepro.stats.friedman import (
    CLIQUE_COLUMNS,
    FRIEDMAN_COLUMNS,
    RANK_COLUMNS,
    friedman_tables,
)
from recrepro.stats.multilevel import two_level_bootstrap
from recrepro.stats.paired import (
    BETTER,
    PAIRWISE_COLUMNS,
    WORSE,
    Side,
    compare_pairs,
    pair_units,
    side_units,
)
from recrepro.stats.power import min_detectable_dz
from recrepro.stats.seeds import seed_summary
from recrepro.stats.units import is_pooled

log = logging.getLogger(__name__)

SEED_LEVEL_COLUMNS = (
    "dataset", "protocol", "setting", "metric", "model", "other", "n_users", "n_seeds", "mean",
    "ci_low", "ci_high", "se", "df", "var_user", "var_seed", "var_residual", "share_seed",
    "boot_ci_low", "boot_ci_high",
)
AGREEMENT_COLUMNS = (
    "dataset", "protocol", "setting", "metric", "comparison", "test", "n_users", "n_seeds",
    "n_tested", "significant", "significant_ttest", "significant_both", "disagreements",
    "significant_users",
)
CALIBRATION_COLUMNS = (
    "dataset", "protocol", "setting", "metric", "source", "n_users", "n_seeds", "var_user",
    "var_seed", "var_residual", "draws", "alpha", "coverage", "fpr", "coverage_users",
    "fpr_users",
)
AA_COLUMNS = (
    "dataset", "protocol", "setting", "metric", "model", "other", "test", "n_users", "n_seeds",
    "diff_mean", "ci_low", "ci_high", "se", "df", "p_raw", "p_adj", "family_size",
    "significant", "decision", "p_users_adj", "p_ttest_adj", "n_fired", "n_tested",
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
    "agreement": (AGREEMENT_COLUMNS, ("dataset", "protocol", "setting", "metric")),
    "calibration": (CALIBRATION_COLUMNS, ("dataset", "protocol", "setting", "metric", "source")),
    "aa_control": (AA_COLUMNS, ("dataset", "protocol", "setting", "metric")),
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
    metrics = select_metrics(per_user_columns(per_user_files), cfg)
    summary = seed_summary(load_metrics(metrics_files))
    return tables_from_frames(load_per_user(per_user_files, metrics), summary, cfg)


def tables_from_frames(
    per_user: pd.DataFrame,
    summary: pd.DataFrame,
    config: Mapping[str, Any] | StatsConfig | None = None,
) -> dict[str, pd.DataFrame]:
    """All statistics tables from frames instead of run files.

    ``per_user``: RUN_KEYS + ``user`` + metric columns (+ ``n_ratings``), as
    :func:`recrepro.stats.collect.load_per_user` reads them (float64 values); the metrics tested
    are chosen among its columns (:func:`select_metrics`). ``summary``: the across-seed means of
    the aggregate metrics (``results/summary.csv``; columns dataset, protocol, model, setting,
    metric, mean) that choose each group's best model.
    """
    cfg = StatsConfig.from_mapping(config)
    columns = [c for c in per_user.columns if c not in (*RUN_KEYS, "user", WEIGHT, "n_relevant")]
    metrics = select_metrics(columns, cfg)
    raw = per_user.reindex(columns=[*RUN_KEYS, "user", *metrics,
                                    *([WEIGHT] if WEIGHT in per_user.columns else [])])
    aggregates = _aggregate_means(summary)
    seeds = model_seeds(raw)
    rows: dict[str, list[dict[str, object]]] = {name: [] for name in TABLES}
    for keys, frame in raw.groupby(list(GROUP_KEYS), sort=True):
        group_keys = dict(zip(GROUP_KEYS, keys, strict=True))
        for metric in metrics:
            group = {**group_keys, "metric": metric}
            sides = _sides(frame, metric, seeds, keys)
            if not sides:
                continue
            best = _group_rows(sides, group, aggregates, cfg, rows)
            _seed_level_rows(sides, group, best, cfg, rows)
    rows["pairwise"] += _tuned_vs_faithful(raw, metrics, seeds, cfg)
    rows["agreement"] = _agreement_rows(rows["pairwise"], cfg)
    rows["calibration"] = _calibration_rows(rows["pairwise"], cfg)
    rows["aa_control"] = _aa_rows(rows["pairwise"], cfg)
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
    """model -> its users x seeds values, test ratings (pooled metrics) and seeds for one group
    and metric (``frame``: the group's per-user rows)."""
    own = {m: seeds[(*keys, m)] for m in frame["model"].unique()}
    values = run_matrices(frame, metric, own)
    weights = run_matrices(frame, WEIGHT, own) if is_pooled(metric) else {}
    setting = keys[GROUP_KEYS.index("setting")]
    return {m: Side(v, weights.get(m), own[m], setting) for m, v in values.items()}


def _user_matrix(sides: Mapping[str, Side], metric: str) -> pd.DataFrame:
    """Users x models: each model's seed-averaged linearised units over its complete users."""
    columns = {}
    for model, side in sorted(sides.items()):
        users = side.complete()
        units = side_units(metric, side, users).mean(axis=1) if len(users) else np.empty(0)
        columns[model] = pd.Series(units, index=users, dtype=np.float64)
    return pd.DataFrame(columns)


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
    matrix = _user_matrix(sides, group["metric"])
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


def _versus(row: Mapping[str, object], best: str, comparison: str = "vs_best"
            ) -> dict[str, object]:
    """An all-pairs row as ``model vs best`` (sign-carrying fields flipped if needed)."""
    out = dict(row, comparison=comparison)
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
    sides: Mapping[str, Side], group: dict[str, str], best: str | None, cfg: StatsConfig,
    rows: dict[str, list[dict[str, object]]],
) -> None:
    """Crossed-model interval and variance components of each model's linearised units, and of
    each model minus the best (on their common users)."""
    metric = group["metric"]
    for model, side in sorted(sides.items()):
        users = side.complete()
        if len(users) < 2:
            continue
        rows["seed_level"].append(
            _seed_level(side_units(metric, side, users), group, model, "", cfg)
        )
        if best is None or model == best or best not in sides or sides[best].seeds != side.seeds:
            continue  # seed sets differ: the pairwise row says so
        common, diff = pair_units(metric, side, sides[best])
        if len(common) >= 2:
            rows["seed_level"].append(_seed_level(diff, group, model, best, cfg))


def _seed_level(
    values: np.ndarray, group: dict[str, str], model: str, other: str, cfg: StatsConfig
) -> dict[str, object]:
    crossed = crossed_test(values)
    seed = derive_seed("stats.two_level", *group.values(), model, other)
    low, high = two_level_bootstrap(values, cfg.bootstrap, seed)
    total = crossed.var_user + crossed.var_seed + crossed.var_residual
    return {
        **group, "model": model, "other": other, "n_users": values.shape[0],
        "n_seeds": values.shape[1], "mean": crossed.mean, "ci_low": crossed.ci_low,
        "ci_high": crossed.ci_high, "se": crossed.se, "df": crossed.df,
        "var_user": crossed.var_user, "var_seed": crossed.var_seed,
        "var_residual": crossed.var_residual,
        "share_seed": crossed.var_seed / total if total > 0 else math.nan,
        "boot_ci_low": low, "boot_ci_high": high,
    }


def _tuned_vs_faithful(
    raw: pd.DataFrame, metrics: list[str], seeds: Mapping[tuple, frozenset[int]],
    cfg: StatsConfig,
) -> list[dict[str, object]]:
    """Each model's tuned vs faithful runs, one Holm family per dataset, protocol and metric."""
    out: list[dict[str, object]] = []
    for (dataset, protocol), frame in raw.groupby(["dataset", "protocol"], sort=True):
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


def _tested(pairwise: list[dict[str, object]], comparison: str) -> pd.DataFrame:
    """The ``comparison`` rows of ``pairwise`` that were tested (finite adjusted p)."""
    frame = pd.DataFrame(pairwise, columns=list(PAIRWISE_COLUMNS))
    frame = frame[frame["comparison"] == comparison]
    return frame[np.isfinite(frame["p_adj"].astype(float))]


def _agreement_rows(pairwise: list[dict[str, object]], cfg: StatsConfig) -> list[dict[str, object]]:
    """Per group and metric: ``vs_best`` comparisons significant under the primary test, under
    the per-user paired t-test, both, disagreements, and under the per-user sign-flip test."""
    out = []
    keys = ["dataset", "protocol", "setting", "metric"]
    for key, rows in _tested(pairwise, "vs_best").groupby(keys, sort=True):
        primary = rows["p_adj"].to_numpy(float) < cfg.alpha
        ttest = rows["p_ttest_adj"].to_numpy(float) < cfg.alpha
        out.append({
            **dict(zip(keys, key, strict=True)), "comparison": "vs_best",
            "test": cfg.test, "n_users": int(rows["n_users"].max()),
            "n_seeds": int(rows["n_seeds"].max()), "n_tested": len(rows),
            "significant": int(primary.sum()), "significant_ttest": int(ttest.sum()),
            "significant_both": int((primary & ttest).sum()),
            "disagreements": int((primary != ttest).sum()),
            "significant_users": int((rows["p_users_adj"].to_numpy(float) < cfg.alpha).sum()),
        })
    return out


def _calibration_rows(pairwise: list[dict[str, object]], cfg: StatsConfig
                      ) -> list[dict[str, object]]:
    """Null simulations of the crossed test at each group's size, with the variance components
    of the A/A pair (``aa_pair``) and the median components over the group's pairs
    (``median_pairs``); groups with one seed are left out (no seed component)."""
    out = []
    keys = ["dataset", "protocol", "setting", "metric"]
    tested = _tested(pairwise, "all_pairs")
    tested = tested[tested["metric"].isin(cfg.calibration_metrics) & (tested["n_seeds"] >= 2)]
    for key, rows in tested.groupby(keys, sort=True):
        sources = {"median_pairs": rows}
        if cfg.aa_pair is not None:
            aa = rows[rows.apply(lambda r: {r["model"], r["other"]} == set(cfg.aa_pair), axis=1)]
            if len(aa):
                sources = {"aa_pair": aa, **sources}
        group = dict(zip(keys, key, strict=True))
        for source, part in sources.items():
            parts = {c: float(part[c].astype(float).median())
                     for c in ("var_user", "var_seed", "var_residual")}
            if not all(math.isfinite(v) for v in parts.values()):
                continue
            users, n_seeds = int(part["n_users"].median()), int(part["n_seeds"].iloc[0])
            result = simulate_null(
                *parts.values(), users, n_seeds, cfg.calibration_draws,
                derive_seed("stats.calibration", *key, source), cfg.alpha,
            )
            out.append({**group, "source": source, "n_users": users, "n_seeds": n_seeds, **parts,
                        "draws": cfg.calibration_draws, "alpha": cfg.alpha, **result})
    return out


def _aa_rows(pairwise: list[dict[str, object]], cfg: StatsConfig) -> list[dict[str, object]]:
    """The A/A pair's all-pairs rows, oriented ``aa_pair[0]`` vs ``aa_pair[1]``, with how many
    of the (protocol, metric) rows of its dataset and setting fire (``n_fired`` of
    ``n_tested``)."""
    if cfg.aa_pair is None:
        return []
    first, second = cfg.aa_pair
    rows = [
        _versus(row, second, "aa_control") for row in pairwise
        if row["comparison"] == "all_pairs" and {row["model"], row["other"]} == {first, second}
        and math.isfinite(row["p_adj"])
    ]
    for row in rows:
        same = [r for r in rows if (r["dataset"], r["setting"]) == (row["dataset"],
                                                                      row["setting"])]
        row["n_fired"] = sum(bool(r["significant"]) for r in same)
        row["n_tested"] = len(same)
    return rows


def _aggregate_means(summary: pd.DataFrame) -> dict[tuple, dict[str, float]]:
    """(dataset, protocol, setting, metric) -> {model: across-seed mean}; non-finite means are
    left out (as :func:`recrepro.stats.collect.load_metrics` leaves out non-finite values)."""
    out: dict[tuple, dict[str, float]] = {}
    for row in summary.itertuples(index=False):
        if not math.isfinite(float(row.mean)):
            continue
        key = (row.dataset, row.protocol, row.setting, row.metric)
        out.setdefault(key, {})[row.model] = float(row.mean)
    return out


def _tidy(name: str, table: pd.DataFrame) -> pd.DataFrame:
    columns, keys = TABLES[name]
    table = table.reindex(columns=list(columns))
    return table.sort_values(list(keys), kind="mergesort").reset_index(drop=True)
