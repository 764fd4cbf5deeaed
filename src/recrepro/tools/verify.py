"""Check a rerun of the study against the committed ``reported/`` one, by the study's own uncertainty.

Numbers: rows of ``results/summary.csv`` and ``reported/summary.csv`` are matched on (dataset,
protocol, model, setting, metric); timings (``verify.ignore``) are not compared. Each model gets one
rule, from its class attribute ``exact_across_cpus`` (read through the model registry, which imports
no TensorFlow):

* ``exact`` (a model whose numbers are the same on any CPU): ``|current - reported| <= atol + rtol *
  |reported|``, defaults ``atol=1e-12``, ``rtol=1e-9``: equal up to the last bits a CPU-specific BLAS
  kernel may change in a float64 sum, not bit-exact. Any difference **fails**.
* ``margin`` (the others): ``|current - reported| <= t(1 - alpha/2, n_r - 1) * s * sqrt(1/n_r + 1/n_c)``
  with ``s = max(sd, sd_floor * |reported|)``: the ``1 - alpha`` prediction bound of the difference of
  two independent means of ``n_r`` (reported) and ``n_c`` (current) seeds, ``sd`` the reported s.d.
  over seeds (for tuned runs it holds the spread of the per-seed hyperparameter search too);
  ``sd_floor`` keeps a zero (or undefined, one seed) s.d. from making a stochastic model exact.
  Defaults ``alpha=0.01``, ``sd_floor=1e-3``; a margin is never tighter than the exact rule. A number
  outside its margin only **warns** (with the count, and about ``alpha`` times the numbers compared are
  expected outside by chance); the study's conclusions decide.

Conclusions, per (dataset, protocol, setting) and the primary metric (``paper.main_metric``): the
rerun's best model (best mean, ties by name, as :func:`recrepro.stats.pipeline.best_model`) must be the
reported best or a model the reported statistics do not call significantly worse than it
(``reported/stats/pairwise.csv``, comparison ``vs_best``, decision ``worse``); otherwise verify
**fails**. A group without reported ``vs_best`` tests only warns. A row present on one side only fails.

:func:`verify_stats` needs no rerun: it recomputes every statistics table from ``reported/`` alone
(the per-user values in ``reported/per_user/``, see :mod:`recrepro.stats.published`, with the
``stats`` config recorded there and ``reported/summary.csv``) and holds each cell to the exact rule
(``atol``, ``rtol``; NaN equals NaN, text must be equal) against ``reported/stats/*.csv``.

:func:`verify_figures` recomputes every figure-data table (``results/report/*``, the
``figure_data`` rule's outputs) from ``reported/`` alone (``figure_inputs/`` and ``per_user/``, see
:mod:`recrepro.report.published`) and the user's own copy of the dataset (ratings and titles, never
committed), and compares each with ``reported/figdata/``: integers exactly, other numbers by the
exact rule, text as text (rows sorted by each table's key first).

:func:`publish` is the other direction: it copies a finished run's results into ``reported/``.
"""

from __future__ import annotations

import io
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from recrepro.core.config import block_defaults
from recrepro.core.errors import ConfigError, DataError, RecreproError
from recrepro.core.io import atomic_path, write_csv, write_text
from recrepro.core.layout import GROUP_KEY

log = logging.getLogger(__name__)
KEY = [*GROUP_KEY, "metric"]
GROUP = ["dataset", "protocol", "setting"]
COLUMNS = [*KEY, "rule", "reported", "current", "diff", "limit", "sd", "n_reported", "n_current",
           "ok", "status", "why"]  # fmt: skip
CONCLUSION_COLUMNS = [*GROUP, "metric", "reported_best", "rerun_best", "rerun_best_decision", "ok",
                      "status"]  # fmt: skip
EXACT, MARGIN = "exact", "margin"
#: Statuses of a number that fail verify; ``outside margin`` only warns.
FAILING = ("differs", "missing in current", "missing in reported")
_DEFAULTS = block_defaults("verify")  # the schema's defaults (their one home)
DEFAULT_ATOL = _DEFAULTS["atol"]
DEFAULT_RTOL = _DEFAULTS["rtol"]
DEFAULT_ALPHA = _DEFAULTS["alpha"]
DEFAULT_SD_FLOOR = _DEFAULTS["sd_floor"]
DEFAULT_IGNORE = tuple(_DEFAULTS["ignore"])
RESTORE_HINT = "restore it (git checkout reported/) or run snakemake publish_reported"


class ResultsDiffer(RecreproError):
    """The rerun fails verify: an exact model's number differs, a row is missing or a conclusion flips."""


@dataclass(frozen=True)
class Tolerances:
    """The exact rule's ``atol`` / ``rtol`` (with per-model and per-metric overrides), the margin
    rule's ``alpha`` and ``sd_floor``, and the metrics not compared.

    An override's missing field falls back to the default. Where a model override and a metric
    override both apply, the larger ``atol`` and the larger ``rtol`` of the two are used.
    """

    atol: float = DEFAULT_ATOL
    rtol: float = DEFAULT_RTOL
    alpha: float = DEFAULT_ALPHA
    sd_floor: float = DEFAULT_SD_FLOOR
    models: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    metrics: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    ignore: tuple[str, ...] = DEFAULT_IGNORE
    #: Every model under the exact rule: two runs on one machine (``recrepro verify --all-exact``).
    all_exact: bool = False

    @classmethod
    def from_config(cls, block: Mapping[str, Any] | None, **overrides: float | None) -> Tolerances:
        """From the config's ``verify:`` block; ``overrides`` (atol, rtol) that are not None win."""
        block = dict(block or {})
        block.update({name: value for name, value in overrides.items() if value is not None})
        return cls(
            atol=float(block.get("atol", DEFAULT_ATOL)),
            rtol=float(block.get("rtol", DEFAULT_RTOL)),
            alpha=float(block.get("alpha", DEFAULT_ALPHA)),
            sd_floor=float(block.get("sd_floor", DEFAULT_SD_FLOOR)),
            models=dict(block.get("models") or {}),
            metrics=dict(block.get("metrics") or {}),
            ignore=tuple(block.get("ignore", DEFAULT_IGNORE)),
        )

    def for_row(self, model: str, metric: str) -> tuple[float, float]:
        """The exact rule's (atol, rtol) of one model's metric."""
        found = [o for o in (self.models.get(model), self.metrics.get(metric)) if o]
        if not found:
            return float(self.atol), float(self.rtol)
        atol = max(o.get("atol", self.atol) for o in found)
        rtol = max(o.get("rtol", self.rtol) for o in found)
        return float(atol), float(rtol)

    def describe(self) -> str:
        """Both rules with their constants, one line."""
        overrides = " plus per-model/metric overrides" if self.models or self.metrics else ""
        return (
            f"exact: |diff| <= atol + rtol*|reported| (atol={self.atol:g}, rtol={self.rtol:g}{overrides}); "
            f"margin: |diff| <= t(1-alpha/2, n_r-1) * max(sd, sd_floor*|reported|) * sqrt(1/n_r + 1/n_c) "
            f"(alpha={self.alpha:g}, sd_floor={self.sd_floor:g})"
        )


def model_rule(model: str) -> tuple[str, str]:
    """(rule, why) of a model, from its class's ``exact_across_cpus`` (registry; no TensorFlow)."""
    from recrepro.models.registry import get_model_class

    try:
        cls = get_model_class(model)
    except ConfigError:
        return MARGIN, "not a registered model: assumed not exact across CPUs"
    exact = bool(cls.exact_across_cpus)
    module = cls.__module__.removeprefix("recrepro.models.")
    where = f"{module}.{cls.__qualname__}.exact_across_cpus = {exact}"
    return (
        (EXACT, f"exact across CPUs ({where})")
        if exact
        else (MARGIN, f"not exact across CPUs ({where}); margin from the reported seed s.d.")
    )


def read_summary(path: str | Path, hint: str = "run the study first (snakemake)") -> pd.DataFrame:
    """A ``summary.csv`` (see :mod:`recrepro.study.summarize`), parsed exactly; ``hint`` says how
    to make it."""
    frame = _read_csv(path, hint, [*KEY, "mean"], "a recrepro summary.csv")
    duplicated = frame.duplicated(KEY)
    if duplicated.any():
        first = ", ".join(frame.loc[duplicated, KEY].iloc[0])
        raise DataError(f"{path} has {int(duplicated.sum())} duplicate row(s), e.g. ({first})")
    return frame


def read_pairwise(path: str | Path, hint: str) -> pd.DataFrame:
    """The ``vs_best`` rows of a ``stats/pairwise.csv`` (see :mod:`recrepro.stats.pipeline`)."""
    columns = [*GROUP, "metric", "comparison", "model", "other", "decision"]
    frame = _read_csv(path, hint, columns, "a recrepro stats/pairwise.csv")
    return frame[frame["comparison"] == "vs_best"]


def _read_csv(path: str | Path, hint: str, required: list[str], what: str) -> pd.DataFrame:
    path = Path(path)
    try:
        frame = pd.read_csv(path, float_precision="round_trip", dtype={name: str for name in KEY})
    except FileNotFoundError:
        raise DataError(f"{path} not found; {hint}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} is not a readable CSV file ({exc.__class__.__name__})") from None
    missing = [name for name in required if name not in frame.columns]
    if missing:
        raise DataError(f"{path} lacks column(s) {', '.join(missing)}; is it {what}?")
    return frame


def _column(frame: pd.DataFrame, name: str, fill: float) -> pd.Series:
    return frame[name] if name in frame.columns else pd.Series(fill, index=frame.index, dtype=float)


def margins(
    reported: np.ndarray,
    sd: np.ndarray,
    n_reported: np.ndarray,
    n_current: np.ndarray,
    alpha: float,
    sd_floor: float,
) -> np.ndarray:
    """``t(1 - alpha/2, n_r - 1) * max(sd, sd_floor * |reported|) * sqrt(1/n_r + 1/n_c)``; a missing
    s.d. counts as 0 and one seed as two (one degree of freedom)."""
    n_r = np.maximum(np.nan_to_num(n_reported, nan=1.0), 1.0)
    n_c = np.maximum(np.nan_to_num(n_current, nan=1.0), 1.0)
    spread = np.maximum(np.nan_to_num(sd, nan=0.0), sd_floor * np.abs(reported))
    t = scipy_stats.t.ppf(1.0 - alpha / 2.0, np.maximum(n_r - 1.0, 1.0))
    return t * spread * np.sqrt(1.0 / n_r + 1.0 / n_c)


def compare(
    current: pd.DataFrame, reported: pd.DataFrame, tolerances: Tolerances | None = None
) -> pd.DataFrame:
    """One row per (dataset, protocol, model, setting, metric) present on either side.

    Columns: the key, ``rule`` (exact / margin) and ``why``, ``reported`` and ``current`` means,
    ``diff`` (absolute), ``limit`` (the largest ``diff`` the rule allows), the reported ``sd`` and
    seed counts, ``ok`` and ``status`` (``ok``, ``differs`` (exact rule, fails), ``outside margin``
    (warns), ``missing in current``, ``missing in reported``). Ignored metrics are left out. Two NaN
    means are equal; one NaN differs under either rule.
    """
    tolerances = tolerances or Tolerances()

    def side(frame: pd.DataFrame, name: str) -> pd.DataFrame:
        out = frame[KEY].assign(**{name: frame["mean"], f"n_{name}": _column(frame, "n_seeds", np.nan)})
        return out.assign(sd=_column(frame, "std", np.nan)) if name == "reported" else out

    merged = pd.merge(side(reported, "reported"), side(current, "current"), on=KEY, how="outer",
                      indicator=True)  # fmt: skip
    merged = merged[~merged["metric"].isin(tolerances.ignore)]
    merged = merged.sort_values(KEY, kind="stable").reset_index(drop=True)
    same_machine = (EXACT, "--all-exact: every model under the exact rule (runs on one machine)")
    rules = {m: same_machine if tolerances.all_exact else model_rule(m) for m in merged["model"].unique()}
    merged["rule"] = merged["model"].map(lambda m: rules[m][0])
    merged["why"] = merged["model"].map(lambda m: rules[m][1])
    pairs = zip(merged["model"], merged["metric"], strict=True)
    limits = np.array([tolerances.for_row(model, metric) for model, metric in pairs], dtype=float)
    atol, rtol = limits.reshape(-1, 2).T
    reported_mean = merged["reported"].to_numpy(dtype=float)
    current_mean = merged["current"].to_numpy(dtype=float)
    limit = atol + rtol * np.abs(reported_mean)
    margin = margins(
        reported_mean,
        merged["sd"].to_numpy(dtype=float),
        merged["n_reported"].to_numpy(dtype=float),
        merged["n_current"].to_numpy(dtype=float),
        tolerances.alpha,
        tolerances.sd_floor,
    )
    is_margin = (merged["rule"] == MARGIN).to_numpy()
    limit = np.where(is_margin, np.fmax(limit, margin), limit)
    diff = np.abs(current_mean - reported_mean)
    both_nan = np.isnan(reported_mean) & np.isnan(current_mean)
    within = (diff <= limit) | both_nan
    merged["diff"], merged["limit"] = diff, limit
    outside = np.where(is_margin & ~np.isnan(diff), "outside margin", "differs")
    status = np.where(within, "ok", outside).astype(object)
    status[(merged["_merge"] == "left_only").to_numpy()] = "missing in current"
    status[(merged["_merge"] == "right_only").to_numpy()] = "missing in reported"
    merged["status"] = status
    merged["ok"] = merged["status"] == "ok"
    return merged[COLUMNS]


def best_models(summary: pd.DataFrame, metric: str) -> dict[tuple[str, str, str], str]:
    """The best model of each (dataset, protocol, setting) by its mean ``metric`` (NaN left out)."""
    from recrepro.stats.pipeline import best_model

    rows = summary[(summary["metric"] == metric) & summary["mean"].notna()]
    best = {}
    for group, frame in rows.groupby(GROUP, sort=True):
        means = dict(zip(frame["model"], frame["mean"].astype(float), strict=True))
        winner = best_model(pd.DataFrame(columns=list(means)), means, metric)
        if winner is not None:
            best[tuple(group)] = winner
    return best


def check_conclusions(current: pd.DataFrame, pairwise: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per (dataset, protocol, setting): does the reported best-model conclusion on ``metric`` hold?

    ``pairwise`` holds the reported ``vs_best`` rows (``model`` vs the best, ``other``). Status:
    ``holds`` (the rerun's best is the reported best or not significantly worse than it), ``flipped``
    (the rerun's best is a model the reported study called significantly worse: fails), ``untested``
    (the rerun's best has no reported test against the best: fails), ``missing in current`` (fails),
    ``no reported test`` (the reported statistics lack this group and metric: warns).
    """
    tests = pairwise[pairwise["metric"] == metric]
    reported_best = {tuple(g): set(f["other"]) for g, f in tests.groupby(GROUP, sort=True)}
    decisions = {(*g, m): d for *g, m, d in tests[[*GROUP, "model", "decision"]].itertuples(index=False)}
    rerun_best = best_models(current, metric)
    rows = []
    for group in sorted(set(reported_best) | set(rerun_best)):
        best, winner = ", ".join(sorted(reported_best.get(group, ()))), rerun_best.get(group, "")
        decision = "best" if winner and winner == best else decisions.get((*group, winner), "")
        if not best:
            status = "no reported test"
        elif not winner:
            status = "missing in current"
        elif decision == "worse":
            status = "flipped"
        elif not decision:
            status = "untested"
        else:
            status = "holds"
        rows.append((*group, metric, best, winner, decision, status == "holds", status))
    return pd.DataFrame(rows, columns=CONCLUSION_COLUMNS)


def failure_message(
    table: pd.DataFrame,
    reported: str | Path,
    tolerances: Tolerances,
    conclusions: pd.DataFrame | None = None,
) -> str | None:
    """The one-line summary of a failed verify, or None when it passes (warnings aside)."""
    parts = []
    bad = int(table["status"].isin(FAILING).sum())
    if bad:
        overrides = " plus overrides" if tolerances.models or tolerances.metrics else ""
        parts.append(
            f"{bad} of {len(table)} numbers differ from {reported} beyond the exact rule "
            f"(atol={tolerances.atol:g}, rtol={tolerances.rtol:g}{overrides}) or are missing"
        )
    if conclusions is not None:
        broken = conclusions[~conclusions["ok"] & (conclusions["status"] != "no reported test")]
        if not broken.empty:
            first = broken.iloc[0]
            parts.append(
                f"{len(broken)} conclusion(s) on {first['metric']} do not hold, e.g. "
                f"{first['dataset']}/{first['protocol']}/{first['setting']}: rerun best "
                f"{first['rerun_best'] or 'none'}, reported best {first['reported_best']} ({first['status']})"
            )
    return "; ".join(parts) or None


def warning_message(
    table: pd.DataFrame, tolerances: Tolerances, conclusions: pd.DataFrame | None = None
) -> str | None:
    """The one-line warning of numbers outside their margin (and untested conclusions), or None."""
    parts = []
    outside = int((table["status"] == "outside margin").sum())
    if outside:
        n = int((table["rule"] == MARGIN).sum())
        parts.append(
            f"{outside} of {n} numbers of non-exact models are outside their margin (about "
            f"{tolerances.alpha * n:.0f} expected by chance at alpha={tolerances.alpha:g})"
        )
    if conclusions is not None:
        untested = int((conclusions["status"] == "no reported test").sum())
        if untested:
            parts.append(f"{untested} group(s) have no reported vs_best test to check the conclusion")
    return "; ".join(parts) or None


def rules_by_model(table: pd.DataFrame) -> pd.DataFrame:
    """Per model: its rule, numbers compared, failing, outside margin, largest diff/limit, and why."""
    ratio = (table["diff"] / table["limit"]).where(
        table["limit"] > 0, np.where(table["diff"] > 0, np.inf, 0.0)
    )
    return (
        table.assign(ratio=ratio, failing=table["status"].isin(FAILING),
                     outside=table["status"] == "outside margin")
        .groupby("model", sort=True)
        .agg(rule=("rule", "first"), numbers=("ok", "size"), failing=("failing", "sum"),
             outside=("outside", "sum"), max_diff_over_limit=("ratio", "max"), why=("why", "first"))
        .reset_index()
    )  # fmt: skip


def format_report(
    table: pd.DataFrame, tolerances: Tolerances, conclusions: pd.DataFrame | None = None
) -> str:
    """The rules, the rule applied to each model (and why), the conclusions, then every row that
    differs, is outside its margin or is missing."""
    if table.empty:
        return "no numbers to compare"
    lines = [
        f"{int(table['ok'].sum())} of {len(table)} numbers match the reported ones",
        f"rules: {tolerances.describe()}",
        "rule per model:",
        rules_by_model(table).to_string(index=False),
    ]
    if conclusions is not None:
        lines += ["conclusions (best model per dataset, protocol, setting):",
                  conclusions.to_string(index=False) if not conclusions.empty else "none"]  # fmt: skip
    bad = table[~table["ok"]]
    if not bad.empty:
        shown = bad[[*KEY, "rule", "reported", "current", "diff", "limit", "status"]]
        lines += ["differing, outside the margin or missing:", shown.to_string(index=False)]
    return "\n".join(lines)


def verify(
    current: str | Path,
    reported: str | Path,
    tolerances: Tolerances,
    out: str | Path | None = None,
    *,
    pairwise: str | Path | None = None,
    metric: str | None = None,
    conclusions_out: str | Path | None = None,
) -> pd.DataFrame:
    """Compare two summary files (and, given ``pairwise`` and ``metric``, the reported conclusions),
    log the report, write the tables to ``out`` and ``conclusions_out`` (if given).

    Raises :class:`ResultsDiffer` (one line) when verify fails; logs one warning line when numbers of
    non-exact models lie outside their margin but nothing fails.
    """
    current_summary = read_summary(current)
    table = compare(current_summary, read_summary(reported, RESTORE_HINT), tolerances)
    conclusions = None
    if pairwise is not None and metric is not None:
        conclusions = check_conclusions(current_summary, read_pairwise(pairwise, RESTORE_HINT), metric)
    if out is not None:
        write_csv(out, table)
    if conclusions_out is not None and conclusions is not None:
        write_csv(conclusions_out, conclusions)
    log.info("%s vs %s\n%s", current, reported, format_report(table, tolerances, conclusions))
    message = failure_message(table, reported, tolerances, conclusions)
    if message:
        raise ResultsDiffer(message)
    warning = warning_message(table, tolerances, conclusions)
    if warning:
        log.warning("verify passed with a warning: %s", warning)
    return table


# --- the statistics tables, recomputed from reported/ alone -----------------------------------------


def _read_table(source: str | Path | io.StringIO) -> pd.DataFrame:
    """A statistics table as CSV text gives it back (numbers exactly: pandas 3's default parser
    round-trips every float, which the old ``float_precision`` argument had to ask for; empty
    cells NaN)."""
    return pd.read_csv(source, keep_default_na=False, na_values=[""])


def first_difference(
    current: pd.DataFrame,
    reported: pd.DataFrame,
    keys: Iterable[str],
    atol: float,
    rtol: float,
    rows: Iterable[int] | None = None,
) -> str | None:
    """Where two tables first differ (data row, its key, the column and both values), or None.

    Numbers match by the exact rule ``|current - reported| <= atol + rtol * |reported|`` (NaN
    equals NaN), integers (both columns of an integer type: counts, ids, ranks) exactly, other
    cells as text; rows are compared in order (both are sorted by ``keys``). ``rows`` are the
    reported rows' numbers to name (default 1, 2, ...: the order compared).
    """
    if list(current.columns) != list(reported.columns):
        return f"columns differ: recomputed {list(current.columns)}, reported {list(reported.columns)}"
    keys = list(keys)
    n = min(len(current), len(reported))
    now, then = current.iloc[:n], reported.iloc[:n]
    same = np.ones((n, len(current.columns)), dtype=bool)
    for j, column in enumerate(current.columns):
        a, b = now[column], then[column]
        numeric = [pd.api.types.is_numeric_dtype(c) and not pd.api.types.is_bool_dtype(c) for c in (a, b)]
        if all(pd.api.types.is_integer_dtype(c) for c in (a, b)):
            same[:, j] = a.to_numpy() == b.to_numpy()
        elif all(numeric):
            x, y = a.to_numpy(np.float64), b.to_numpy(np.float64)
            with np.errstate(invalid="ignore"):
                close = np.abs(x - y) <= atol + rtol * np.abs(y)
            same[:, j] = (x == y) | (np.isnan(x) & np.isnan(y)) | close
        else:
            same[:, j] = a.fillna("").astype(str).to_numpy() == b.fillna("").astype(str).to_numpy()

    def label(frame: pd.DataFrame, i: int) -> str:
        return "/".join(str(v) for v in frame[keys].iloc[i].fillna(""))

    numbers = list(rows) if rows is not None else list(range(1, len(reported) + 1))
    bad = np.flatnonzero(~same.all(axis=1))
    if len(bad):
        i = int(bad[0])
        column = current.columns[int(np.argmin(same[i]))]
        return (
            f"row {numbers[i]} ({label(then, i)}): {column} recomputed {now[column].iloc[i]}, "
            f"reported {then[column].iloc[i]}"
        )
    if len(current) != len(reported):
        if len(current) > n:
            return f"row {n + 1} ({label(current, n)}) only in the recomputed table"
        return f"row {numbers[n]} ({label(reported, n)}) only in the reported table"
    return None


def verify_stats(reported: str | Path, tolerances: Tolerances | None = None) -> dict[str, pd.DataFrame]:
    """Recompute every statistics table from ``reported/`` alone and compare it with
    ``reported/stats/<table>.csv`` (exact rule: ``tolerances.atol``, ``tolerances.rtol``).

    Returns the recomputed tables; raises :class:`ResultsDiffer` (one line naming the first
    differing table, row and column) when any table differs.
    """
    from recrepro.stats.pipeline import TABLES, tables_from_frames
    from recrepro.stats.published import FOLDER, read_published

    tolerances = tolerances or Tolerances()
    reported = Path(reported)
    per_user, config = read_published(reported / FOLDER, RESTORE_HINT)
    summary = read_summary(reported / "summary.csv", RESTORE_HINT)
    tables = tables_from_frames(per_user, summary, config)
    differing = []
    for name, table in tables.items():
        path = reported / "stats" / f"{name}.csv"
        try:
            published = _read_table(path)
        except FileNotFoundError:
            raise DataError(f"{path} not found; {RESTORE_HINT}") from None
        recomputed = _read_table(io.StringIO(table.to_csv(index=False)))  # as compute_stats writes it
        where = first_difference(recomputed, published, TABLES[name][1], tolerances.atol, tolerances.rtol)
        log.info("%s: %d rows recomputed, %s", path, len(table), where or "all match")
        if where:
            differing.append(f"{path} {where}")
    if differing:
        raise ResultsDiffer(
            f"{len(differing)} of {len(tables)} statistics tables recomputed from {reported / FOLDER} "
            f"differ beyond the exact rule (atol={tolerances.atol:g}, rtol={tolerances.rtol:g}); "
            f"first: {differing[0]}"
        )
    log.info("all %d statistics tables recompute from %s", len(tables), reported)
    return tables


def verify_figures(
    reported: str | Path,
    tolerances: Tolerances | None = None,
    data_dir: str | Path | None = None,
    cache_dir: str | Path = "data/raw",
) -> dict[str, pd.DataFrame]:
    """Recompute every figure-data table from ``reported/`` alone (``figure_inputs/`` and
    ``per_user/``, see :mod:`recrepro.report.published`) and the dataset's ratings and items (the
    user's own copy, read as ``prepare_data`` does: ``RECREPRO_DATA_DIR``, else ``data_dir``, else
    ``cache_dir``), and compare each with ``reported/figdata/<table>``: integers exactly, other
    numbers by the exact rule (``tolerances.atol``, ``tolerances.rtol``), text as text.

    Returns the recomputed tables; raises :class:`ResultsDiffer` (one line naming the first
    differing table, row and column) when any table differs.
    """
    from recrepro.report import published as figure_published
    from recrepro.report.figdata import write_table
    from recrepro.stats.published import FOLDER, read_published

    tolerances = tolerances or Tolerances()
    reported = Path(reported)
    per_user, _ = read_published(reported / FOLDER, RESTORE_HINT)
    tables = figure_published.recompute(reported, per_user, RESTORE_HINT, data_dir, cache_dir)
    differing = []
    for name, table in tables.items():
        path = figure_published.table_path(reported, name)
        keys = list(figure_published.KEYS[name])
        try:
            published = _read_figure_table(path)
        except FileNotFoundError:
            raise DataError(f"{path} not found; {RESTORE_HINT}") from None
        with tempfile.TemporaryDirectory() as tmp:  # written and read back as figure_data writes it
            write_table(Path(tmp) / path.name, table)
            recomputed = _read_figure_table(Path(tmp) / path.name)
        missing = [key for key in keys if key not in published.columns or key not in recomputed.columns]
        if missing:
            where = f"lacks the key column(s) {', '.join(missing)}"
        else:
            published, rows = _sorted(published, keys)
            recomputed, _ = _sorted(recomputed, keys)
            where = first_difference(recomputed, published, keys, tolerances.atol, tolerances.rtol, rows)
        log.info("%s: %d rows recomputed, %s", path, len(table), where or "all match")
        if where:
            differing.append(f"{path} {where}")
    source = reported / figure_published.FOLDER
    if differing:
        raise ResultsDiffer(
            f"{len(differing)} of {len(tables)} figure-data tables recomputed from {source} differ "
            f"(integers exactly, other numbers beyond atol={tolerances.atol:g}, rtol={tolerances.rtol:g}); "
            f"first: {differing[0]}"
        )
    log.info("all %d figure-data tables recompute from %s", len(tables), reported)
    return tables


def _read_figure_table(path: Path) -> pd.DataFrame:
    """A figure-data table as written (Parquet, or CSV: numbers exactly, empty cells NaN)."""
    if path.suffix == ".parquet":
        if not path.is_file():
            raise FileNotFoundError(path)
        try:
            return pd.read_parquet(path)
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot read {path} ({exc}); {RESTORE_HINT}") from None
    try:
        return _read_table(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def _sorted(frame: pd.DataFrame, keys: list[str]) -> tuple[pd.DataFrame, list[int]]:
    """``frame`` sorted by ``keys`` (stable) and the data row number each row had."""
    ordered = frame.reset_index(drop=True).sort_values(keys, kind="mergesort")
    return ordered.reset_index(drop=True), [int(i) + 1 for i in ordered.index]


# --- publishing: results/ -> reported/ -------------------------------------------------------------


def environment_snapshot(out: str | os.PathLike | None = None) -> str:
    """Python, platform, CPU count, git revision and ``pip freeze`` of the running interpreter.
    ``git_dirty`` ignores ``out``, the folder being published (it differs from HEAD until it is
    committed)."""
    from recrepro.core.provenance import git_state

    git = git_state(excluding=[out] if out is not None else [])
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
    papers: Iterable[str | Path],
    out: str | Path,
    tables: Iterable[str | Path] = (),
    tuning: Iterable[str | Path] = (),
    per_user: Iterable[str | Path] = (),
    stats_config: Mapping[str, Any] | None = None,
    figure_metrics: Iterable[str] = (),
    figure_data: Iterable[str | Path] = (),
    history: Iterable[str | Path] = (),
    topk: Iterable[str | Path] = (),
    figure_settings: Mapping[str, Any] | None = None,
    provenance: Iterable[str | Path] = (),
    exploratory: Sequence[str] = (),
) -> list[Path]:
    """Copy into ``out``: the summary; the statistics tables (into ``stats/``); the paper's
    Markdown tables (``tables/``); the searches' convergence tables (``tuning/``); the
    figure-data tables (``figure_data``, into ``figdata/``); the PDFs (``papers``: main and
    supplement). Write the runs' per-user values (``per_user``: every run's per_user.parquet;
    into ``per_user/`` with ``stats_config``, see :mod:`recrepro.stats.published`), what the
    figure data read of the figures' runs (``history`` and ``topk``: their history.csv and
    topk.parquet in the ``figure_data`` rule's order, with ``figure_settings``; into
    ``figure_inputs/``, see :mod:`recrepro.report.published`) and ``environment.txt``; with the
    runs' ``provenance`` records, ``README.md`` describing them (``exploratory``: protocols the
    paper reports as exploratory; :mod:`recrepro.tools.reported_readme`)."""
    from recrepro.report import published as figure_published
    from recrepro.stats.published import FOLDER, publish_per_user

    out = Path(out)
    written = [out / "summary.csv"]
    _copy(summary, written[0])
    for pdf in papers:
        written.append(out / Path(pdf).name)
        _copy(pdf, written[-1])
    folders = (("stats", stats), ("tables", tables), ("tuning", tuning),
               (figure_published.TABLES_FOLDER, figure_data))  # fmt: skip
    for folder, files in folders:
        for table in files:
            written.append(out / folder / Path(table).name)
            _copy(table, written[-1])
    per_user, topk = list(per_user), list(topk)
    if figure_settings and topk:
        figure_metrics = [*figure_metrics, *figure_settings.get("per_user_metrics", [])]
    if per_user:
        written += publish_per_user(per_user, out / FOLDER, stats_config, dict.fromkeys(figure_metrics))
    if topk:
        written += figure_published.publish_figure_inputs(
            list(history), topk, per_user, figure_settings or {}, out / figure_published.FOLDER
        )
    written.append(out / "environment.txt")
    write_text(written[-1], environment_snapshot(out))
    provenance = list(provenance)
    if provenance:
        from recrepro.core.provenance import git_state
        from recrepro.tools.reported_readme import read_provenance, reported_readme

        records = read_provenance(provenance)
        text = reported_readme(records, git_state(excluding=[out]), exploratory=exploratory)
        written.append(out / "README.md")
        write_text(written[-1], text)
    return written
