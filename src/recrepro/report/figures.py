"""The paper's figures as registered artefacts (:mod:`recrepro.report.registry`): each function
below declares one figure once (name, section, inputs), draws it with a plotter of
:mod:`recrepro.report.plots` and returns its caption, whose takeaway is computed from the same
data. Which model an example figure shows is :mod:`recrepro.report.picking`'s choice; K is the
study's main cut-off (:attr:`recrepro.report.config.PaperConfig.main_k`).

The plotters and the picking functions are also importable from here (older imports).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from recrepro.report.data import lookup, ranking, read_convergence, select
from recrepro.report.findings import count_of, listing
from recrepro.report.numbers import convergence_numbers
from recrepro.report.picking import example_models, main_results, model_preference, pick_model
from recrepro.report.plots.common import WIDTH
from recrepro.report.plots.examples import (
    plot_example_columns,
    plot_example_pie,
    plot_example_polygon,
    title_counts,
)
from recrepro.report.plots.results import (
    TAIL_COLOURS,
    TAIL_CUTS,
    cd_groups,
    dot_panel,
    plot_critical_difference,
    plot_dots,
    plot_metrics_over_k,
    plot_overlap_columns,
    plot_per_user_polygons,
    plot_tail_pies,
    tail_shares,
    zero_shares,
)
from recrepro.report.plots.training import plot_training_curves, plot_tuning_curves
from recrepro.report.registry import RESULT_TABLES, Context, figure
from recrepro.report.style import (
    ModelStyles,
    corrections_used,
    family_label,
    format_number,
    is_cost,
    metric_label,
)

__all__ = [  # the plotters and pickers, re-exported for older imports
    "TAIL_COLOURS", "TAIL_CUTS", "WIDTH", "cd_groups", "dot_panel", "example_models", "latex_text",
    "main_results", "model_preference", "pick_model", "plot_critical_difference", "plot_dots",
    "plot_example_columns", "plot_example_pie", "plot_example_polygon", "plot_metrics_over_k",
    "plot_overlap_columns", "plot_per_user_polygons", "plot_tail_pies", "plot_training_curves",
    "plot_tuning_curves", "tail_shares", "title_counts",
]  # fmt: skip

_STATS = RESULT_TABLES


def _best_line(results: pd.DataFrame, metric: str) -> tuple[str, str]:
    """(best model, its mean) on ``metric`` among ``results``; ("", "") if none."""
    ranked = ranking(results, metric)
    if ranked.empty:
        return "", ""
    return str(ranked["model"].iloc[0]), format_number(ranked["mean"].iloc[0])


def _overlapping(results: pd.DataFrame, metric: str) -> list[str]:
    """Models whose 95% CI overlaps the best model's on ``metric``."""
    ranked = ranking(results, metric).dropna(subset=["ci_low", "ci_high"])
    if ranked.empty:
        return []
    best = ranked.iloc[0]
    hits = ranked[(ranked["ci_high"] >= best["ci_low"]) & (ranked["ci_low"] <= best["ci_high"])]
    return [m for m in hits["model"] if m != best["model"]]


@figure("headline_ci", section="results", inputs=_STATS)
def headline_ci(ctx: Context, stem: Path) -> str:
    cfg = ctx.cfg
    results = main_results(ctx.data, cfg)
    metrics = [m for m in cfg.headline_metrics if not is_cost(m)]
    plot_dots(results, metrics, ModelStyles(cfg.models), stem, ncols=4)
    best, value = _best_line(results, cfg.main_metric)
    if not best:
        return "Headline metrics per model: no results available."
    tied = _overlapping(results, cfg.main_metric)
    overlap = (
        f"; the seed-level intervals of {listing(tied)} overlap with it" if tied else
        "; no other model's seed-level interval overlaps with it"
    )
    return latex_text(
        f"Headline metrics ({cfg.main_protocol} protocol, {cfg.main_setting} setting): marker = "
        f"mean over seeds, line = 95% confidence interval over seeds, cut at the metric's range "
        f"(0 to 1); models sorted by "
        f"{metric_label(metrics[0])}. {best} is best on {metric_label(cfg.main_metric)} "
        f"({value}){overlap}. Overlapping intervals are not the test: the main table's marks come from "
        f"the paired test over users and seeds."
    )


@figure("metrics_over_k", section="results", inputs=_STATS, supplement=True)
def metrics_over_k(ctx: Context, stem: Path) -> str:
    cfg = ctx.cfg
    results = main_results(ctx.data, cfg)
    family = cfg.per_k_families[0]
    plot_metrics_over_k(results, family, cfg.ks, ModelStyles(cfg.models), stem)
    ks = [k for k in cfg.ks]
    leaders = [_best_line(results, f"{family}@{k}")[0] for k in (ks[0], ks[-1])]
    same = leaders[0] == leaders[1]
    takeaway = (
        f"{leaders[0]} leads at every cut-off from K = {ks[0]} to {ks[-1]}."
        if same and leaders[0]
        else f"The leader changes with K: {leaders[0]} at K = {ks[0]}, {leaders[1]} at K = {ks[-1]}."
    )
    return latex_text(
        f"{family_label(family)}@K against K, one panel per model (band: 95% CI over seeds; grey: "
        f"the other models). {takeaway}"
    )


@figure("per_user_polygons", section="results", inputs=("figdata_per_user",), supplement=True)
def per_user_polygons(ctx: Context, stem: Path) -> str:
    cfg = ctx.cfg
    per_user = ctx.frame("figdata_per_user")
    metric = cfg.distribution_metric
    plot_per_user_polygons(per_user, metric, ModelStyles(cfg.models), stem)
    d = per_user[per_user["metric"] == metric]
    if d.empty:
        return latex_text(f"Per-user {metric_label(metric)}: no per-user values available.")
    zero = zero_shares(d)
    low, high = zero.idxmin(), zero.idxmax()
    return latex_text(
        f"Frequency polygons of per-user {metric_label(metric)} (mean over seeds; "
        f"{d['user'].nunique()} evaluated users) over the users whose mean is above zero; the "
        f"users at zero are left out of the curve. Each title gives the share of users with a "
        f"value of zero in one run, averaged over the seeds (for a top-K metric: without a "
        f"relevant movie in the top list). The distributions are skewed: even {low} leaves "
        f"{100 * zero[low]:.1f}% of users without a relevant movie in its list ({high}: "
        f"{100 * zero[high]:.1f}%)."
    )


@figure("critical_difference", section="results", inputs=_STATS)
def critical_difference(ctx: Context, stem: Path) -> str:
    cfg, data = ctx.cfg, ctx.data
    where = {"dataset": cfg.dataset, "protocol": cfg.main_protocol,
             "setting": cfg.main_setting, "metric": cfg.main_metric}  # fmt: skip
    ranks = select(data.ranks, **where)
    p = lookup(data.friedman, "p_value", **where)
    correction = corrections_used(select(data.pairwise, **where, comparison="all_pairs"))
    plot_critical_difference(
        ranks, select(data.cd_cliques, **where), p, cfg.main_metric, stem, correction
    )
    if ranks.empty:
        return latex_text(f"Average ranks of {metric_label(cfg.main_metric)}: not available.")
    top = ranks.sort_values("avg_rank").iloc[0]
    return latex_text(
        f"Average rank over users of {metric_label(cfg.main_metric)} (1 is best); thick bars join "
        f"runs of neighbours in this order that the paired all-pairs tests ({correction} "
        f"correction) do not separate. The tests need not be transitive, so a model outside a "
        f"bar may still not be separated from one inside it: the main table marks each pair. "
        f"{top['model']} has the best average rank ({top['avg_rank']:.2f})."
    )


@figure("popularity_pies", section="results", inputs=("figdata_popularity",), supplement=True)
def popularity_pies(ctx: Context, stem: Path) -> str:
    cfg = ctx.cfg
    shares = tail_shares(ctx.frame("figdata_popularity"))
    plot_tail_pies(shares, ModelStyles(cfg.models), stem)
    models = shares[shares["model"] != "data"].dropna(subset=["tail"])
    if models.empty:
        return "Share of recommendations from head, mid and long-tail movies: no data."
    percent = (100 * models.set_index("model")["tail"]).round()  # as printed: ties read as ties
    most = listing(sorted(percent[percent == percent.max()].index))
    least = listing(sorted(percent[percent == percent.min()].index))
    return latex_text(
        f"Where the top-{cfg.popularity_k} slots go: share of recommendations from head, mid and "
        f"long-tail movies (movies sorted by rating count, cut at one and two thirds of all "
        f"ratings). {most} {'gives' if ' and ' not in most else 'give'} the long tail the largest "
        f"share ({percent.max():.0f}%), {least} the smallest ({percent.min():.0f}%)."
    )


@figure("seed_overlap", section="results", inputs=("figdata_overlap",), supplement=True)
def seed_overlap(ctx: Context, stem: Path) -> str:
    cfg = ctx.cfg
    overlap = ctx.frame("figdata_overlap")
    plot_overlap_columns(overlap, ModelStyles(cfg.models), stem)
    if overlap.empty:
        return "Overlap of the top lists of different seeds: needs at least two seeds."
    d = overlap.sort_values(["overlap", "model"], ascending=[False, True])
    return latex_text(
        f"How much the top-{cfg.popularity_k} lists of two seeds overlap, per model (share of "
        f"shared movies, mean over users and seed pairs; error bar: s.d. over seed pairs). "
        f"{d['model'].iloc[0]} is the most stable ({d['overlap'].iloc[0]:.2f}), "
        f"{d['model'].iloc[-1]} the least ({d['overlap'].iloc[-1]:.2f})."
    )


@figure("tuning_budget", section="results", inputs=("tuning_curves", "convergence"))
def tuning_budget(ctx: Context, stem: Path) -> str:
    convergence = read_convergence(ctx.paths("convergence"))
    curves = read_convergence(ctx.paths("tuning_curves"))
    plot_tuning_curves(curves, convergence, ModelStyles(ctx.cfg.models), stem, ctx.cfg.main_protocol)
    sentence = convergence_numbers(convergence)["TuningSentence"]
    return latex_text(
        f"Convergence of the searches (panels: {ctx.cfg.main_protocol} protocol): the best validation "
        "score after 1, 2, 4, ... trials, one line per seed's own search (solid, dashed, dotted), "
        "and (wide grey line; the plateau in the title) the trial count from which the mean gain "
        "still to come stays within the larger of two spreads over the seeds: the searches' final "
        "validation scores and the tuned runs' test scores; the searches have converged when it is "
        f"at most half the budget (a tick on the axis). Over every protocol, "
        f"{(sentence[:1].lower() + sentence[1:]) if sentence else 'the study has no tuned setting.'}"
    )


def _seconds(value: float) -> str:
    """``12.2 s``, or two significant digits below 0.01 s (``2.6e-05 s``)."""
    return f"{value:.2g} s" if 0 < value < 0.01 else f"{format_number(value)} s"


@figure("training_time", section="cost", inputs=_STATS)
def training_time(ctx: Context, stem: Path) -> str:
    cfg = ctx.cfg
    results = main_results(ctx.data, cfg)
    plot_dots(results, ["fit_seconds"], ModelStyles(cfg.models), stem, ncols=1, log=True)
    ranked = ranking(results, "fit_seconds")
    if ranked.empty:
        return "Training time per fit: not available."
    slow, fast = ranked.iloc[-1], ranked.iloc[0]
    return latex_text(
        "Wall-clock seconds per fit on one thread, library imports excluded (dot: mean over "
        "seeds, line: its 95% interval taken on the log scale; log axis; "
        f"{cfg.main_protocol} protocol, {cfg.main_setting} setting). "
        f"{slow['model']} takes {_seconds(slow['mean'])}, {fast['model']} {_seconds(fast['mean'])}."
    )


@figure("training_curves", section="appendix", inputs=("figdata_history",), supplement=True)
def training_curves(ctx: Context, stem: Path) -> str:
    history = ctx.frame("figdata_history")
    plot_training_curves(history, ModelStyles(ctx.cfg.models), stem)
    logged = history.dropna(subset=["loss"]) if "loss" in history else history.iloc[0:0]
    n = logged["model"].nunique() if "model" in logged else 0
    return latex_text(
        f"Training curves of the {n} models that log a training loss per epoch "
        f"({ctx.cfg.main_protocol} protocol, {ctx.cfg.main_setting} setting): each seed's loss "
        "relative to its first epoch (one line style per seed; seeds may differ in batch size and "
        "epochs) and, in grey on the right axis, its validation value where logged."
    )


def _example_caption(ctx: Context, kind: str) -> tuple[pd.DataFrame, str | None]:
    example = ctx.frame("figdata_example_user")
    picks = example_models(example, ctx.cfg, model_preference(ctx.data, ctx.cfg))
    return example, picks[kind]


@figure("example_pie", section="appendix", inputs=("figdata_example_user", *_STATS),
        width=r"0.7\linewidth", supplement=True)  # fmt: skip
def example_pie(ctx: Context, stem: Path) -> str:
    example, model = _example_caption(ctx, "pie")
    user = ctx.cfg.example_user
    plot_example_pie(example, model, user, stem)
    return latex_text(
        f"Seed document 001's chart type (a pie) for user {user}: the top-3 recommendations of {model}; each "
        "slice counts the seeds that put the title in the top three."
    )


@figure("example_polygon", section="appendix", inputs=("figdata_example_user", *_STATS), supplement=True)
def example_polygon(ctx: Context, stem: Path) -> str:
    example, model = _example_caption(ctx, "polygon")
    user = ctx.cfg.example_user
    k = ctx.cfg.main_k
    plot_example_polygon(example, model, user, ModelStyles(ctx.cfg.models), stem, depth=k)
    return latex_text(
        f"Seed document 001's chart type (a frequency polygon) for user {user}: how many seeds "
        "put each title in the "
        f"top {k} of {model} (titles by mean rank)."
    )


@figure("example_columns", section="appendix", inputs=("figdata_example_user", *_STATS), supplement=True)
def example_columns(ctx: Context, stem: Path) -> str:
    example, model = _example_caption(ctx, "column")
    user = ctx.cfg.example_user
    k = ctx.cfg.main_k
    plot_example_columns(example, model, user, ModelStyles(ctx.cfg.models), stem, depth=k)
    counts, n_seeds = title_counts(example, model, k) if model else (pd.DataFrame(), 0)
    stable = int((counts["seeds"] == n_seeds).sum()) if len(counts) else 0
    return latex_text(
        f"Seed document 001's chart type (a column graph) for user {user}: titles in the top {k} "
        f"of {model} across "
        f"{n_seeds} seeds, most frequent first; {count_of(stable, len(counts), 'title')} "
        f"{'appears' if stable == 1 else 'appear'} for every seed."
    )


def latex_text(text: str) -> str:
    """Caption text -> LaTeX (model names and symbols escaped)."""
    from recrepro.report.tables import latex_escape

    return latex_escape(text)
