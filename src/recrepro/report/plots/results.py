"""Plotters of the results per model: intervals of the headline metrics, metric@K against K,
per-user distributions, the critical-difference diagram, popularity classes and seed overlap."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recrepro.evaluation.catalogue import value_range
from recrepro.report.plots.common import WIDTH, grid, notice, placeholder
from recrepro.report.style import (
    ModelStyles,
    family_label,
    format_p,
    higher_is_better,
    metric_label,
    save_figure,
    setup_matplotlib,
)


def dot_panel(ax: Any, rows: pd.DataFrame, models: Sequence[str], styles: ModelStyles) -> None:
    """Models on the y axis (first on top): mean as a dot, 95% interval as a line."""
    positions = {m: len(models) - 1 - i for i, m in enumerate(models)}
    for r in rows.itertuples(index=False):
        if r.model not in positions or not math.isfinite(r.mean):
            continue
        s, y = styles[r.model], positions[r.model]
        if math.isfinite(r.ci_low) and math.isfinite(r.ci_high):
            ax.plot([r.ci_low, r.ci_high], [y, y], color=s.colour, lw=1.6, solid_capstyle="butt")
        ax.plot(r.mean, y, marker=s.marker, color=s.colour, markeredgecolor="black", mew=0.4, ms=4.5)
    ax.set_yticks(range(len(models)), list(reversed(models)))
    ax.set_ylim(-0.6, len(models) - 0.4)
    ax.grid(axis="x", color="0.9", lw=0.5)


def log_scale_interval(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with the 95% interval of a positive mean taken on the log scale (delta method):
    ``mean * exp(+-t(0.975, n-1) * (std / mean) / sqrt(n))``, so it stays positive on a log axis.
    Rows without a spread (one seed) get no interval."""
    from scipy import stats

    n = rows["n_seeds"].to_numpy(float)
    mean, std = rows["mean"].to_numpy(float), rows["std"].to_numpy(float)
    ok = (n > 1) & (mean > 0) & np.isfinite(std)
    factor = np.full(len(rows), np.nan)
    m = n[ok]
    factor[ok] = np.exp(stats.t.ppf(0.975, m - 1) * std[ok] / mean[ok] / np.sqrt(m))
    return rows.assign(ci_low=mean / factor, ci_high=mean * factor)


def plot_dots(
    results: pd.DataFrame,
    metrics: Sequence[str],
    styles: ModelStyles,
    stem: str | Path,
    *,
    ncols: int = 3,
    log: bool = False,
) -> list[Path]:
    """Small multiples, one panel per metric: dot = mean over seeds, line = 95% CI cut at the
    metric's range (with ``log``, the interval on the log scale, :func:`log_scale_interval`).
    Models are sorted by the first metric (best on top where it has a direction)."""
    metrics = [m for m in metrics if m in set(results["metric"])]
    if not metrics:
        return notice(stem, "No results available.")
    plt = setup_matplotlib()
    first = results[results["metric"] == metrics[0]].dropna(subset=["mean"])
    better = higher_is_better(metrics[0])
    first = first.sort_values(["mean", "model"], ascending=[better is False, True])
    models = list(dict.fromkeys([*first["model"], *styles.order(results["model"])]))
    fig, axes = grid(plt, len(metrics), ncols, 0.45 + 0.16 * len(models), sharey=True)
    for ax, metric in zip(axes, metrics, strict=True):
        rows = results[results["metric"] == metric]
        if log:
            rows = log_scale_interval(rows)
        else:  # a t interval over few seeds can leave the metric's range: cut it there
            low, high = value_range(metric)
            rows = rows.assign(
                ci_low=rows["ci_low"].clip(lower=low), ci_high=rows["ci_high"].clip(upper=high)
            )
        dot_panel(ax, rows, models, styles)
        positive = rows["mean"][rows["mean"] > 0]
        if log and len(positive):
            ax.set_xscale("log")
            low = np.nanmin(np.r_[rows["ci_low"].to_numpy(float), positive.to_numpy()])
            high = np.nanmax(np.r_[rows["ci_high"].to_numpy(float), positive.to_numpy()])
            ax.set_xlim(low / 1.5, high * 1.5)
        ax.set_title(metric_label(metric))
    fig.tight_layout()
    return save_figure(fig, stem)


def plot_metrics_over_k(
    results: pd.DataFrame,
    family: str,
    ks: Sequence[int],
    styles: ModelStyles,
    stem: str | Path,
) -> list[Path]:
    """Small multiples of metric@K against K, one panel per model in its colour (95% CI band),
    with every other model in light grey for reference."""
    names = {f"{family}@{k}": k for k in ks}
    rows = results[results["metric"].isin(names)]
    if rows.empty:
        return notice(stem, "No per-K results available.")
    rows = rows.assign(k=[names[m] for m in rows["metric"]]).sort_values("k")
    plt = setup_matplotlib()
    models = styles.order(rows["model"])
    fig, axes = grid(plt, len(models), 4, 1.35, sharex=True, sharey=True)
    for ax, model in zip(axes, models, strict=True):
        for other in models:
            d = rows[rows["model"] == other]
            if other != model:
                ax.plot(d["k"], d["mean"], color="0.85", lw=0.7, zorder=1)
        d = rows[rows["model"] == model]
        s = styles[model]
        ax.plot(d["k"], d["mean"], color=s.colour, marker=s.marker, ms=3, lw=1.4, zorder=3)
        if d[["ci_low", "ci_high"]].notna().all().all():
            ax.fill_between(d["k"], d["ci_low"], d["ci_high"], color=s.colour, alpha=0.25, lw=0)
        ax.set_title(model)
        ax.set_xscale("log")
        ax.set_xticks(list(ks), [str(k) for k in ks])
        ax.minorticks_off()
    for ax in axes:
        if ax.get_subplotspec().is_first_col():
            ax.set_ylabel(f"{family_label(family)}@K")
        if ax.get_subplotspec().is_last_row() or ax is axes[-1]:
            ax.set_xlabel("K")
    fig.tight_layout()
    return save_figure(fig, stem)


def zero_shares(per_user: pd.DataFrame) -> pd.Series:
    """Per model: the share of users with a value of exactly zero in one run, averaged over the
    seeds (for NDCG@K the share of users without a hit, i.e. 1 - HR@K as the tables average it)."""
    zero = (per_user["value"] == 0).groupby([per_user["model"], per_user["seed"]]).mean()
    return zero.groupby(level="model").mean()


def plot_per_user_polygons(
    per_user: pd.DataFrame, metric: str, styles: ModelStyles, stem: str | Path, bins: int = 10
) -> list[Path]:
    """Frequency polygons of a per-user metric (averaged over seeds), one small panel per model,
    the same bins everywhere; the share of users at exactly zero in a run (:func:`zero_shares`)
    is in each panel's title."""
    d = per_user[per_user["metric"] == metric]
    if d.empty:
        return notice(stem, f"No per-user values of {metric_label(metric)} available.")
    per_model = d.groupby(["model", "user"])["value"].mean()
    zeros = zero_shares(d)
    models = styles.order(d["model"])
    top = max(float(per_model.max()), 1e-9)
    edges = np.linspace(0.0, top, bins + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    plt = setup_matplotlib()
    fig, axes = grid(plt, len(models), 4, 1.3, sharex=True, sharey=True)
    for ax, model in zip(axes, models, strict=True):
        values = per_model.loc[model].dropna().to_numpy()
        zero = float(zeros.get(model, 0.0))
        counts, _ = np.histogram(values[values > 0], edges)
        share = counts / max(len(values), 1)
        x = np.r_[edges[0], centres, edges[-1]]
        y = np.r_[0, share, 0]
        s = styles[model]
        ax.plot(x, y, color=s.colour, marker=s.marker, ms=2.5, lw=1.2)
        ax.fill_between(x, 0, y, color=s.colour, alpha=0.2, lw=0)
        ax.set_title(f"{model}\n(zero: {100 * zero:.0f}%)", fontsize=7)
    for ax in axes:
        if ax.get_subplotspec().is_first_col():
            ax.set_ylabel("share of users")
        if ax.get_subplotspec().is_last_row():
            ax.set_xlabel(f"{metric_label(metric)} per user")
    fig.tight_layout()
    return save_figure(fig, stem)


def cd_groups(names: Sequence[str], cliques: pd.DataFrame) -> list[tuple[int, int]]:
    """``(first, last)`` positions in the rank-sorted ``names`` of each group of ``cliques``
    (``cd_cliques.csv``: models the all-pairs tests do not separate)."""
    position = {name: i for i, name in enumerate(names)}
    groups = []
    for _, members in cliques.groupby("clique", sort=True):
        spots = sorted(position[m] for m in members["model"] if m in position)
        if len(spots) > 1:
            groups.append((spots[0], spots[-1]))
    return groups


def plot_critical_difference(
    ranks: pd.DataFrame,
    cliques: pd.DataFrame,
    p_value: float,
    metric: str,
    stem: str | Path,
    correction: str = "Holm",
) -> list[Path]:
    """Critical-difference diagram: average ranks on an axis (1 = best), bars joining models
    that the all-pairs paired tests (with ``correction``) do not separate (Benavoli et al.
    2016)."""
    ranks = ranks.sort_values("avg_rank", kind="stable")
    if len(ranks) < 2:
        return notice(stem, "A critical-difference diagram needs at least two models.")
    plt = setup_matplotlib()
    names, values = ranks["model"].tolist(), ranks["avg_rank"].to_numpy(float)
    k = len(names)
    lo, hi = 1.0, float(max(k, math.ceil(values.max())))
    margin = max(1.0, 0.25 * (hi - lo))  # room for the labels beside the axis
    groups = cd_groups(names, cliques)
    half = math.ceil(k / 2)
    first_row = 0.35 + 0.12 * len(groups)
    fig, ax = plt.subplots(figsize=(WIDTH, 0.9 + 0.22 * half))
    ax.plot([lo, hi], [0, 0], color="black", lw=0.8)
    for tick in range(int(lo), int(hi) + 1):
        ax.plot([tick, tick], [0, -0.06], color="black", lw=0.8)
        ax.text(tick, -0.1, str(tick), ha="center", va="bottom", fontsize=7)
    for i, (name, value) in enumerate(zip(names, values, strict=True)):
        left = i < half
        y = first_row + 0.25 * (i if left else k - 1 - i)
        x_text = lo - 0.1 * margin if left else hi + 0.1 * margin
        ax.plot([value, value, x_text], [0, y, y], color="black", lw=0.6)
        ax.text(
            x_text + (-0.02 if left else 0.02) * margin,
            y,
            f"{name} ({value:.2f})" if left else f"({value:.2f}) {name}",
            ha="right" if left else "left",
            va="center",
            fontsize=7,
        )
    for j, (a, b) in enumerate(groups):
        y = 0.2 + 0.12 * j
        ax.plot([values[a] - 0.03, values[b] + 0.03], [y, y], color="black", lw=2.5)
    title = (
        f"{metric_label(metric)}: average rank over users (Friedman p {format_p(p_value) or 'n/a'});"
        f" bars: no significant pairwise difference ({correction} correction)"
    )
    ax.set_title(title)
    ax.set_xlim(lo - margin, hi + margin)
    ax.set_ylim(first_row + 0.25 * (half - 1) + 0.2, -0.75)
    ax.set_axis_off()
    return save_figure(fig, stem)



#: Popularity classes: items sorted by rating count, cut where the cumulative share of all
#: ratings passes these fractions (head = the few items holding the first third of ratings).
TAIL_CUTS = ((1 / 3, "head"), (2 / 3, "mid"), (1.0, "tail"))


TAIL_COLOURS = {"head": "#D55E00", "mid": "#F0E442", "tail": "#0072B2"}


def tail_shares(popularity: pd.DataFrame) -> pd.DataFrame:
    """Per model (and ``data``): the share of top-K recommendations (of ratings, for ``data``)
    going to head, mid and tail items, and how many items each class holds."""
    data = popularity[popularity["model"] == "data"].sort_values("popularity_rank")
    if data.empty:
        return pd.DataFrame(columns=["model", "head", "mid", "tail"])
    cumulative = data["rec_share"].cumsum().to_numpy() / data["rec_share"].sum()
    classes = np.select(
        [cumulative <= TAIL_CUTS[0][0] + 1e-12, cumulative <= TAIL_CUTS[1][0] + 1e-12],
        ["head", "mid"],
        "tail",
    )
    item_class = pd.Series(classes, index=data["item"].to_numpy())
    frame = popularity.assign(cls=popularity["item"].map(item_class))
    shares = frame.pivot_table(index="model", columns="cls", values="rec_share", aggfunc="sum")
    shares = shares.reindex(columns=["head", "mid", "tail"], fill_value=0.0).fillna(0.0)
    shares = shares.div(shares.sum(axis=1).replace(0, np.nan), axis=0).reset_index()
    for c in ("head", "mid", "tail"):
        shares[f"{c}_items"] = int((classes == c).sum())
    return shares


def plot_tail_pies(shares: pd.DataFrame, styles: ModelStyles, stem: str | Path) -> list[Path]:
    """One pie per model (and one for the ratings themselves): share of its top-K slots going to
    head, mid and long-tail movies."""
    models = [*styles.order(set(shares["model"]) - {"data"})]
    if not models:
        return notice(stem, "No top-K lists available for the popularity analysis.")
    plt = setup_matplotlib()
    panels = ["data", *models] if "data" in set(shares["model"]) else models
    fig, axes = grid(plt, len(panels), 6, 1.25)
    indexed = shares.set_index("model")
    for ax, model in zip(axes, panels, strict=True):
        values = indexed.loc[model, ["head", "mid", "tail"]].to_numpy(float)
        if not np.nansum(values) > 0:
            placeholder(ax, f"{model}:\nno top-K lists")
            continue
        ax.pie(
            np.nan_to_num(values),
            colors=[TAIL_COLOURS[c] for c in ("head", "mid", "tail")],
            startangle=90,
            counterclock=False,
            wedgeprops={"edgecolor": "white", "linewidth": 0.6},
        )
        tail = values[2] if math.isfinite(values[2]) else 0.0
        title = "all ratings" if model == "data" else model
        ax.set_title(f"{title}\ntail {100 * tail:.0f}%", fontsize=7)  # black: pale model colours fade
        ax.set_aspect("equal")
    from matplotlib.patches import Patch

    handles = [
        Patch(color=TAIL_COLOURS[c], label=f"{c} ({int(shares[f'{c}_items'].iloc[0])} movies)")
        for c in ("head", "mid", "tail")
    ]
    fig.legend(handles=handles, loc="lower center", ncol=3, frameon=False,
               bbox_to_anchor=(0.5, -0.04))  # fmt: skip
    fig.tight_layout()
    return save_figure(fig, stem)


def plot_overlap_columns(overlap: pd.DataFrame, styles: ModelStyles, stem: str | Path) -> list[Path]:
    """Column graph: mean overlap of two seeds' top-K lists per model (1 = identical lists)."""
    if overlap.empty:
        return notice(stem, "Seed overlap needs at least two seeds per model.")
    plt = setup_matplotlib()
    d = overlap.sort_values(["overlap", "model"], ascending=[False, True])
    fig, ax = plt.subplots(figsize=(WIDTH, 2.3))
    x = np.arange(len(d))
    for i, r in enumerate(d.itertuples(index=False)):
        s = styles[r.model]
        ax.bar(i, r.overlap, color=s.colour, hatch=s.hatch, edgecolor="black", linewidth=0.4)
        spread = r.overlap_sd if math.isfinite(r.overlap_sd) and r.overlap_sd > 0 else 0.0
        if spread:  # grey, so that it shows on a dark bar too
            ax.errorbar(i, r.overlap, yerr=spread, color="0.45", lw=0.7, capsize=2)
        # the label sits above the error bar, not on it
        ax.text(i, r.overlap + spread + 0.02, f"{r.overlap:.2f}", ha="center", va="bottom", fontsize=6)
    ax.set_xticks(x, d["model"].tolist(), rotation=35, ha="right")
    ax.set_ylim(0, max(1.12, float((d["overlap"] + d["overlap_sd"].fillna(0)).max()) + 0.1))
    ax.set_ylabel("top-K overlap between seeds")
    fig.tight_layout()
    return save_figure(fig, stem)
