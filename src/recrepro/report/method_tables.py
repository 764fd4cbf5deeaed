"""The method's tables (data and splits, models, hyperparameters with search spaces, deviations
from the seeds) and the compute-cost table, each registered once in the artefact registry."""

from __future__ import annotations

import inspect
import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from recrepro.core.errors import ConfigError
from recrepro.core.runs import parse_run_path
from recrepro.report.config import search_trials
from recrepro.report.findings import plural
from recrepro.report.registry import Context, benchmark_path, table
from recrepro.report.style import ModelStyles, format_number
from recrepro.report.tables import Cell, Table, dataset_label, model_sources, ragged_columns

PARTS = ("train", "valid", "test")
RAGGED = r">{\raggedright\arraybackslash}"  # needs the array package (main.tex and supplement.tex load it)


# --------------------------------------------------------------------------- data and splits


def split_statistics(paths: list[str], threshold: float | None) -> pd.DataFrame:
    """Per protocol: ratings, users and items of each part, and the evaluated users (at least
    one relevant test rating and one training rating)."""
    frames: dict[tuple[str, str], pd.DataFrame] = {}
    for path in paths:
        p = Path(path)
        frames[(p.parent.parent.name, p.stem)] = pd.read_parquet(p, columns=["user", "item", "rating"])
    rows = []
    for protocol in dict.fromkeys(k[0] for k in frames):
        parts = {part: frames.get((protocol, part)) for part in PARTS}
        if any(v is None for v in parts.values()):
            continue
        test = parts["test"]
        relevant = test if threshold is None else test[test["rating"] >= threshold]
        evaluated = len(set(relevant["user"]) & set(parts["train"]["user"]))
        row: dict[str, Any] = {"protocol": protocol, "evaluated_users": evaluated}
        for part, frame in parts.items():
            row[f"{part}_ratings"] = len(frame)
            row[f"{part}_users"] = frame["user"].nunique()
        row["test_items"] = parts["test"]["item"].nunique()
        rows.append(row)
    return pd.DataFrame(rows)


@table("data_splits", section="method", inputs=("ratings", "item_table", "splits"))
def data_splits(ctx: Context) -> Table:
    cfg = ctx.cfg
    ratings = pd.read_parquet(ctx.inputs["ratings"])
    n_items = len(pd.read_parquet(ctx.inputs["item_table"]))
    threshold = (ctx.config.get("evaluation") or {}).get("relevance_threshold")
    stats = split_statistics(ctx.paths("splits"), threshold)
    rows = []
    for r in stats.itertuples(index=False):
        rows.append(
            [Cell(r.protocol)]
            + [Cell(f"{getattr(r, f'{p}_ratings'):,}") for p in PARTS]
            + [Cell(f"{getattr(r, f'{p}_users'):,}") for p in PARTS]
            + [Cell(f"{r.evaluated_users:,}")]
        )
    density = 100 * len(ratings) / max(ratings["user"].nunique() * n_items, 1)
    fewest = stats.sort_values("evaluated_users").iloc[0] if len(stats) else None
    n_users = ratings["user"].nunique()
    if fewest is None:
        takeaway = ""
    elif stats["evaluated_users"].nunique() == 1 and len(stats) > 1:
        takeaway = f" Every protocol evaluates the same {fewest['evaluated_users']:,} of {n_users:,} users."
    else:
        takeaway = (f" The {fewest['protocol']} protocol evaluates the fewest users "
                    f"({fewest['evaluated_users']:,} of {n_users:,}).")  # fmt: skip
    caption = (
        f"{dataset_label(cfg.dataset)} ({len(ratings):,} ratings, {n_users:,} "
        f"users, {n_items:,} movies, density {density:.2f}%) and its split under each protocol "
        f"(seed {cfg.seeds[0] if cfg.seeds else 1}).{takeaway}"
    )
    notes = [
        "Ratings and users per part; evaluated users have at least one "
        + ("relevant (rating ≥ " + f"{threshold:g}) " if threshold is not None else "")
        + "test rating and one training rating. The test part is the same for every seed."
    ]
    header = ["Protocol", "Train", "Valid", "Test", "Train", "Valid", "Test", "Users"]
    t = Table("data_splits", caption, header, rows, stats, notes, align="lrrrrrrr")
    t.groups = [("Ratings", 3), ("Users", 3), ("Evaluated", 1)]
    return t


# --------------------------------------------------------------------------- models


def model_references(model: str) -> tuple[str, ...]:
    """BibTeX keys of the published work ``model`` follows, in order: those of its class's
    ``citation`` (the entries :mod:`recrepro.report.bibliography` writes for the paper). The seed
    documents are project READMEs; the models cite the tutorials and papers their systems
    implement. An unregistered model cites nothing."""
    cls = _model_class(model)
    return cls.citation_keys() if cls is not None else ()


def _seed_part(source: str) -> str:
    """``"Seed 002 (1); TFRS ..."`` -> ``"002 (1)"``; ``""`` for a baseline."""
    match = re.match(r"Seed (\d{3}(?: \(\d\))?)", source)
    return match.group(1) if match else ""


@table("models", section="method", wide=True)
def models(ctx: Context) -> Table:
    cfg = ctx.cfg
    ordered = ModelStyles(cfg.models).order(cfg.models) if cfg.models else []
    sources = model_sources(ordered)
    frame = pd.DataFrame(
        [(m, _seed_part(sources[m][0]), ",".join(model_references(m)), sources[m][1])
         for m in ordered],
        columns=["model", "seed", "references", "predicts_ratings"],
    )  # fmt: skip
    rows = [
        [Cell(r.model), Cell(r.seed or "baseline"),
         Cell(r.references, latex=f"\\citet{{{r.references}}}" if r.references else "--"),
         Cell("yes" if r.predicts_ratings else "no")]
        for r in frame.itertuples(index=False)
    ]  # fmt: skip
    n_seed = int((frame["seed"] != "").sum())
    caption = (
        f"The models compared ({plural(n_seed, 'seed system')}, given by seed file and system number, and "
        f"{plural(len(frame) - n_seed, 'baseline')}), the published work each follows, and whether it "
        "predicts ratings."
    )
    header = ["Model", "Seed", "Follows", "Rates"]
    return Table("models", caption, header, rows, frame, align="lllc")


def _model_class(model: str) -> Any:
    from recrepro.models.registry import get_model_class

    try:
        return get_model_class(model)
    except ConfigError:
        return None


def deviation_text(cls: Any) -> str:
    """The "Differs:" part of a model's docstring (its documented deviations from the seed)."""
    doc = " ".join(inspect.getdoc(cls).split()) if cls is not None and cls.__doc__ else ""
    match = re.search(r"Differs:\s*(.*?)(?:\s+[A-Z][a-z]+:\s|$)", doc)
    if not match:
        return ""
    return re.sub(r":\w+:|`", "", match.group(1)).strip()  # drop reST roles and backquotes


@table("deviations", section="method", supplement=True)
def deviations(ctx: Context) -> Table:
    ordered = ModelStyles(ctx.cfg.models).order(ctx.cfg.models) if ctx.cfg.models else []
    frame = pd.DataFrame(
        [(m, deviation_text(_model_class(m))) for m in ordered], columns=["model", "deviation"]
    )
    frame = frame[frame["deviation"] != ""].reset_index(drop=True)
    rows = [[Cell(r.model), Cell(r.deviation)] for r in frame.itertuples(index=False)]
    caption = (
        "Where our implementations differ from the seed documents (from each model's "
        "documentation). Movies are keyed by id instead of title because some titles are "
        "shared by two movies."
    )
    header = ["Model", "Deviation from the seed"]
    return Table("deviations", caption, header, rows, frame, align="ll",
                 latex_align=f"l{RAGGED}p{{0.8\\linewidth}}", size="\\footnotesize")  # fmt: skip


# --------------------------------------------------------------------------- hyperparameters


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict) and {"low", "high"} <= set(value):  # a range of the search space
        scale = " (log)" if value.get("log") else ""
        return f"{_value(value['low'])}–{_value(value['high'])}{scale}"
    return str(value)


def _printed_space(model: str, space: Mapping[str, Any], faithful: Mapping[str, Any]) -> dict[str, Any]:
    """The space as searched: the faithful value joined to a list, a range stretched to it
    (:func:`recrepro.core.search_space.search_space`), so the printed space always holds the
    faithful point."""
    from recrepro.core.errors import ConfigError
    from recrepro.core.search_space import search_space

    try:
        dims = search_space(model, space, faithful)
    except ConfigError:  # the config check reports it; print the space as configured
        return dict(space)
    return {d.name: d.as_config() for d in dims}


def searched(record: Mapping[str, Any] | None) -> bool:
    """True if a tuning record searched anything (random and popularity have no hyperparameters:
    their one-point "search" is the faithful setting, so they are not counted as tuned)."""
    space = (record or {}).get("space") or {}
    return any(isinstance(v, list | dict) for v in space.values())


def read_tuning(paths: list[str]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """``(protocol, model) -> its search replicates' records`` (by seed) for the tuning files
    that exist (``results/tuning/{dataset}/{protocol}/{model}/seed{seed}.json``)."""
    records: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for path in sorted(paths):
        p = Path(path)
        if p.is_file():
            record = json.loads(p.read_text(encoding="utf-8"))
            records.setdefault((p.parent.parent.name, p.parent.name), []).append(record)
    for reps in records.values():
        reps.sort(key=lambda r: r.get("replicate", 0))
    return records


def chosen_values(records: Sequence[Mapping[str, Any]], name: str) -> str:
    """One hyperparameter's winning values over the search replicates, ``a / b / c`` (once if
    every replicate chose the same)."""
    values = [_value(r["params"][name]) for r in records if name in (r.get("params") or {})]
    return values[0] if len(set(values)) == 1 else " / ".join(values)


def hyperparameter_frame(
    config: Mapping[str, Any], records: Mapping[tuple[str, str], Mapping[str, Any]], protocol: str
) -> pd.DataFrame:
    """One row per (model, searched hyperparameter): faithful value, space (the config's, else
    the model's declared one: :func:`recrepro.models.spaces.model_space`), and the tuned choice
    of each search replicate (``a / b / c`` by seed)."""
    from recrepro.models.spaces import model_space

    tuning = config.get("tuning") or {}
    rows = []
    for model, overrides in (config.get("models") or {}).items():
        cls = _model_class(model)
        faithful = {**(dict(cls.defaults) if cls is not None else {}), **(overrides or {})}
        space = _printed_space(model, model_space(tuning, model), faithful)
        replicates = records.get((protocol, model)) or []
        if not space:
            rows.append((model, "(not searched)", "", "", ""))
        for name, values in space.items():
            rows.append(
                (model, name, _value(faithful.get(name, "")), _value(values),
                 chosen_values(replicates, name))
            )  # fmt: skip
    return pd.DataFrame(rows, columns=["model", "hyperparameter", "faithful", "space", "tuned"])


def _joined(frame: pd.DataFrame, column: str) -> str:
    return "; ".join(f"{h} {v}" for h, v in zip(frame["hyperparameter"], frame[column], strict=True) if v)


@table("hyperparameters", section="method", inputs=("tuning_files",), supplement=True)
def hyperparameters(ctx: Context) -> Table:
    cfg = ctx.cfg
    trials = search_trials(ctx.config)
    records = read_tuning(ctx.paths("tuning_files"))
    frame = hyperparameter_frame(ctx.config, records, cfg.main_protocol)
    rows = []
    for model, group in frame.groupby("model", sort=False):
        searched = group[group["hyperparameter"] != "(not searched)"]
        if searched.empty:
            rows.append([Cell(model), Cell("not searched (no hyperparameters or faithful only)"),
                         Cell(""), Cell("")])  # fmt: skip
            continue
        rows.append([Cell(model), Cell(_joined(searched, "space")),
                     Cell(_joined(searched, "faithful")), Cell(_joined(searched, "tuned"))])  # fmt: skip
    changed = frame[(frame["tuned"] != "") & frame.apply(
        lambda r: any(v != r["faithful"] for v in r["tuned"].split(" / ")), axis=1)]
    tuned_note = (
        f" The search moved {changed['model'].nunique()} of {frame['model'].nunique()} models "
        f"away from their faithful values on the {cfg.main_protocol} protocol."
        if "tuned" in cfg.settings and records
        else " The tuned setting was not run in this study."
    )
    caption = (
        f"Hyperparameters: search space, faithful value and the values chosen on validation data "
        f"by each seed's own search ({cfg.main_protocol} protocol; tuned values by seed, "
        f"separated by /). Every model gets the same budget of {trials} trials per search "
        f"(trial 0 is the faithful setting; a seeded Optuna TPE search with successive halving "
        f"over epochs on that seed's train/validation split).{tuned_note}"
    )
    header = ["Model", "Search space", "Faithful", "Tuned"]
    width = ragged_columns((0.36, 0.21, 0.21))
    return Table("hyperparameters", caption, header, rows, frame, align="llll",
                 latex_align="l" + width, size="\\footnotesize", long=True)  # fmt: skip


# --------------------------------------------------------------------------- compute cost


def read_benchmark(path: Path) -> tuple[float, float]:
    """``(cpu_seconds, wall_seconds)`` of one Snakemake benchmark file; NaN if absent."""
    from recrepro.core.cputime import read_benchmark as read_tsv

    if not path.is_file():
        return math.nan, math.nan
    frame = read_tsv(path)
    return float(frame["cpu_time"].sum()), float(frame["s"].sum())


def cost_frame(run_metrics: list[str], tuning_files: list[str]) -> pd.DataFrame:
    """Per model: CPU and wall seconds of its runs and of its tuning, from the benchmark files
    (each job once: one job runs every seed of a model and setting)."""
    rows = []
    jobs = {benchmark_path(path): parse_run_path(path).model for path in run_metrics}
    for bench, model in jobs.items():
        cpu, wall = read_benchmark(bench)
        rows.append((model, "runs", cpu, wall))
    for bench, model in {benchmark_path(p): Path(p).parent.name for p in tuning_files}.items():
        cpu, wall = read_benchmark(bench)
        rows.append((model, "tuning", cpu, wall))
    frame = pd.DataFrame(rows, columns=["model", "step", "cpu_seconds", "wall_seconds"])
    if frame.empty:
        columns = ["model", "runs_cpu_seconds", "tuning_cpu_seconds", "runs_wall_seconds"]
        return pd.DataFrame(columns=[*columns, "total_cpu_seconds"], dtype=float)
    wide = frame.pivot_table(
        index="model", columns="step", values=["cpu_seconds", "wall_seconds"], aggfunc="sum"
    )
    wide.columns = [f"{step}_{what}" for what, step in wide.columns]
    for column in ("runs_cpu_seconds", "tuning_cpu_seconds", "runs_wall_seconds"):
        if column not in wide:
            wide[column] = 0.0
    wide = wide.fillna(0.0)
    wide["total_cpu_seconds"] = wide["runs_cpu_seconds"] + wide["tuning_cpu_seconds"]
    return wide.reset_index()


@table("compute_cost", section="cost", inputs=("run_metrics", "tuning_files"), supplement=True)
def compute_cost(ctx: Context) -> Table:
    frame = cost_frame(ctx.paths("run_metrics"), ctx.paths("tuning_files"))
    order = ModelStyles(ctx.cfg.models).order(frame["model"])
    frame = frame.set_index("model").loc[order].reset_index()
    total = frame["total_cpu_seconds"].sum()
    frame["share"] = frame["total_cpu_seconds"] / total if total > 0 else math.nan
    rows = [
        [Cell(r.model), Cell(format_number(r.runs_cpu_seconds, 1)),
         Cell(format_number(r.tuning_cpu_seconds, 1)), Cell(format_number(r.total_cpu_seconds, 1)),
         Cell(f"{100 * r.share:.1f}" if math.isfinite(r.share) else "")]
        for r in frame.itertuples(index=False)
    ]  # fmt: skip
    rows.append([Cell("total"), Cell(format_number(frame["runs_cpu_seconds"].sum(), 1)),
                 Cell(format_number(frame["tuning_cpu_seconds"].sum(), 1)),
                 Cell(format_number(total, 1)), Cell("100.0")])  # fmt: skip
    top = frame.sort_values("total_cpu_seconds", ascending=False).head(1)
    takeaway = (
        f" {top['model'].iloc[0]} is the most expensive model ({100 * top['share'].iloc[0]:.0f}% "
        "of the CPU time)."
        if len(top) and total > 0
        else ""
    )
    caption = (
        f"Compute cost: CPU seconds (user + system, as each job records them beside its "
        f"Snakemake benchmark file) of every run of each model (all protocols, settings and "
        f"seeds: process start, training and evaluation) and of its tuning.{takeaway}"
    )
    header = ["Model", "Runs (CPU s)", "Tuning (CPU s)", "Total (CPU s)", "Share (%)"]
    return Table("compute_cost", caption, header, rows, frame, align="lrrrr")



# --------------------------------------------------------------------------- faithful sources

#: Long source names of ``config/faithful_provenance.csv`` and how the table prints them.
_SHORT_SOURCES = (
    (re.compile(r"notebook of seed (\d{3})'s repository \([^)]*\)"), r"seed \1's notebook"),
    (re.compile(r"\s*\((?:tensorflow\.org|github\.com|www\.)[^)]*\)"), ""),
    (re.compile(r"\s*\('[^']*'\)"), ""),  # a quoted passage in parentheses
)


def short_source(quote: str, limit: int = 90) -> str:
    """The source a quote names, without the quote: ``"seed document 000 (1)"``, ``"seed 000's
    notebook, cell 2"``, ``"TFRS basic retrieval tutorial"`` or ``"our choice, the seed is
    silent"``."""
    text = str(quote)
    for pattern, repl in _SHORT_SOURCES:
        text = pattern.sub(repl, text)
    head = re.split(r":\s|;\s", text, maxsplit=1)[0].strip().rstrip(",")
    return head if len(head) <= limit else head[:limit].rsplit(" ", 1)[0] + " ..."


def source_frame(sources: pd.DataFrame, models: Sequence[str]) -> pd.DataFrame:
    """One row per (model, source): the source kind and the faithful values it gives."""
    rows = sources[sources["model"].isin(models)].copy()
    rows["source"] = rows["source_quote"].map(short_source)
    rows["item"] = rows["parameter"] + " " + rows["value"].astype(str).str.strip('"')
    grouped = rows.groupby(["model", "source_kind", "source"], sort=False)["item"].agg(", ".join)
    return grouped.reset_index().rename(columns={"item": "values"})


@table("faithful_sources", section="method", inputs=("faithful_provenance",), supplement=True)
def faithful_sources(ctx: Context) -> Table:
    ordered = ModelStyles(ctx.cfg.models).order(ctx.cfg.models) if ctx.cfg.models else []
    paths = [p for p in ctx.paths("faithful_provenance") if Path(p).is_file()]
    sources = pd.read_csv(paths[0]) if paths else pd.DataFrame(
        columns=["model", "parameter", "value", "source_kind", "source_quote"])
    frame = source_frame(sources, ordered)
    order = {m: i for i, m in enumerate(ordered)}
    frame = frame.sort_values("model", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
    kinds = {"seed": "seed", "tutorial": "tutorial", "our_choice": "our choice"}
    rows = [[Cell(r.model), Cell(kinds.get(r.source_kind, r.source_kind)), Cell(r.source), Cell(r.values)]
            for r in frame.itertuples(index=False)]  # fmt: skip
    caption = (
        "Where each faithful hyperparameter value of the seed models comes from: the seed document "
        "or the repository it describes, the tutorial the seed follows (where the seed names no "
        "number), or our choice where the seed is silent. The quoted passage behind each value is "
        "in config/faithful_provenance.csv."
    )
    header = ["Model", "Kind", "Source", "Faithful values"]
    width = ragged_columns((0.1, 0.3, 0.38))
    return Table("faithful_sources", caption, header, rows, frame, align="llll",
                 latex_align="l" + width, size="\\footnotesize", long=True)  # fmt: skip
