"""Collect the Snakemake benchmark files (``benchmark:`` directives) into tables and a figure.

Each rule writes ``results/benchmarks/<pattern>.tsv`` (columns ``s``, ``h:m:s``, ``max_rss``,
``max_vms``, ``max_uss``, ``max_pss``, ``io_in``, ``io_out``, ``mean_load``, ``cpu_time``; memory in
MB). The run key (dataset, protocol, model, setting, seed) is read back from the path with the rule's
pattern, e.g. ``train_and_evaluate/{dataset}/{protocol}/{model}/{setting}.tsv`` (one job runs
every seed, so its key has no seed). A job's own CPU record beside the file corrects Snakemake's
sampled ``cpu_time`` (:mod:`recrepro.core.cputime`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from recrepro.core import layout
from recrepro.core.cputime import read_benchmark
from recrepro.core.errors import DataError
from recrepro.core.io import write_csv

__all__ = ["LAYOUTS", "aggregate", "collect", "parse_path", "plot", "read_benchmark", "write_all"]

FIELDS = layout.RUN_KEY
COLUMNS = ["rule", *FIELDS, "wall_s", "cpu_s", "max_rss_mb", "file"]
AGGREGATE_COLUMNS = ["rule", "model", "count", "total_wall_s", "mean_wall_s", "mean_cpu_s", "max_rss_mb"]

# The rules' benchmark paths relative to results/benchmarks/ (the `bench` rule passes the workflow's
# own patterns; these are for reading a benchmark folder without the workflow).
_WILD = {name: f"{{{name}}}" for name in FIELDS}  # "{dataset}", ...: the layout's patterns
LAYOUTS = {
    "prepare_data": "prepare_data/{dataset}.tsv",
    "split_data": f"split_data/{layout.split_key(_WILD['dataset'], _WILD['protocol'], _WILD['seed'])}.tsv",
    "train_and_evaluate": f"train_and_evaluate/{layout.group_key(*(_WILD[n] for n in layout.GROUP_KEY))}.tsv",
    "tune_model": f"tune_model/{layout.search_key(_WILD['dataset'], _WILD['protocol'], _WILD['model'])}.tsv",
    "compute_stats": "compute_stats.tsv",
    "figure_data": "paper/figure_data.tsv",
    "make_figures": "paper/make_figures.tsv",
    "compile_paper": "paper/compile_paper.tsv",
    "compile_supplement": "paper/compile_supplement.tsv",
}
_SEED = re.compile(r"^seed(\d+)$")


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """``a/{x}/seed{seed}.tsv`` -> a regex with one named group per wildcard (``{x,constraint}`` too)."""
    parts = re.split(r"\{([A-Za-z_][A-Za-z0-9_]*)(?:,[^}]*)?\}", pattern)
    regex = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+?)" for i, part in enumerate(parts))
    return re.compile(f"^{regex}$")


def parse_path(relative: str | Path, layouts: Mapping[str, str] = LAYOUTS) -> dict[str, object]:
    """Rule and run key of a benchmark file, given its path relative to the benchmark folder.

    Paths that match no layout fall back to: rule = first folder (or the file's stem at the top
    level), seed from a ``seed<N>`` component, the other fields unknown.
    """
    relative = Path(relative).as_posix()
    ordered = sorted(layouts.items(), key=lambda item: (item[1].count("{"), -len(item[1])))
    for rule, pattern in ordered:
        match = _pattern_regex(pattern).match(relative)
        if match:
            values = match.groupdict()
            row: dict[str, object] = {"rule": rule, **{name: values.get(name) for name in FIELDS}}
            break
    else:
        parts = Path(relative).with_suffix("").parts
        seeds = [m.group(1) for m in map(_SEED.match, parts) if m]
        row = {"rule": parts[0], **dict.fromkeys(FIELDS), "seed": seeds[-1] if seeds else None}
    row["seed"] = int(row["seed"]) if row["seed"] is not None else None
    return row


def collect(
    root: str | Path, files: Iterable[str | Path] | None = None, layouts: Mapping[str, str] = LAYOUTS
) -> pd.DataFrame:
    """Tidy table of benchmark files (``files``, else every ``*.tsv`` under ``root``), one row per run."""
    root = Path(root)
    paths = sorted(Path(f) for f in files) if files is not None else sorted(root.rglob("*.tsv"))
    if not paths:
        raise DataError(f"no benchmark files under {root}; run the study first (snakemake)")
    rows = []
    for path in paths:
        try:
            relative = path.resolve().relative_to(root.resolve())
        except ValueError:
            raise DataError(f"benchmark file {path} is not under {root}") from None
        key = parse_path(relative, layouts)
        for record in read_benchmark(path).to_dict("records"):
            rows.append({**key, "wall_s": record["s"], "cpu_s": record["cpu_time"],
                         "max_rss_mb": record["max_rss"], "file": relative.as_posix()})  # fmt: skip
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["seed"] = frame["seed"].astype("Int64")
    for name in ("wall_s", "cpu_s", "max_rss_mb"):
        frame[name] = pd.to_numeric(frame[name], errors="coerce")
    return frame


def aggregate(table: pd.DataFrame) -> pd.DataFrame:
    """Per (rule, model): job count, total and mean wall seconds, mean CPU seconds, largest RSS (MB)."""
    grouped = table.groupby(["rule", "model"], dropna=False, sort=False)
    summary = grouped.agg(
        count=("wall_s", "size"),
        total_wall_s=("wall_s", "sum"),
        mean_wall_s=("wall_s", "mean"),
        mean_cpu_s=("cpu_s", "mean"),
        max_rss_mb=("max_rss_mb", "max"),
    ).reset_index()
    summary = summary.sort_values(["total_wall_s", "rule"], ascending=[False, True], kind="stable")
    return summary[AGGREGATE_COLUMNS].reset_index(drop=True)


def _label(rule: str, model: object) -> str:
    return rule if model is None or (isinstance(model, float) and np.isnan(model)) else f"{rule}: {model}"


def plot(by_rule_model: pd.DataFrame, stem: str | Path) -> list[Path]:
    """Horizontal bars of total wall time per rule (and model), longest first; ``stem.png`` + ``.pdf``."""
    from recrepro.report.style import PALETTE, save_figure, setup_matplotlib

    plt = setup_matplotlib()
    rows = by_rule_model.sort_values("total_wall_s", ascending=True, kind="stable")
    labels = [_label(r, m) for r, m in zip(rows["rule"], rows["model"], strict=True)]
    rules = sorted(set(rows["rule"]))
    colours = [PALETTE[rules.index(rule) % len(PALETTE)] for rule in rows["rule"]]
    fig, ax = plt.subplots(figsize=(6.0, 0.8 + 0.18 * len(rows)))
    ax.barh(range(len(rows)), rows["total_wall_s"], color=colours)
    ax.set_yticks(range(len(rows)), labels)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    total = rows["total_wall_s"].sum()
    ax.set_xlabel(f"total wall time (s); all jobs: {total:,.0f} s = {total / 3600:.2f} h")
    for i, (seconds, count) in enumerate(zip(rows["total_wall_s"], rows["count"], strict=True)):
        ax.annotate(f" {seconds:,.0f} s ({count} job{'s' if count != 1 else ''})", (seconds, i),
                    va="center", fontsize=6)  # fmt: skip
    ax.margins(x=0.25)
    return save_figure(fig, stem)


def write_all(table: pd.DataFrame, out: str | Path) -> list[Path]:
    """``out`` (per job), ``by_rule_model.csv`` beside it, and the figure ``<out stem>.png/.pdf``."""
    out = Path(out)
    by_rule_model = aggregate(table)
    write_csv(out, table)
    write_csv(out.parent / "by_rule_model.csv", by_rule_model)
    return [out, out.parent / "by_rule_model.csv", *plot(by_rule_model, out.with_suffix(""))]
