"""The paper's figures (plotting half): each ``plot_*`` function reads tidy tables, never trains,
and writes ``stem.pdf`` and ``stem.png`` through :func:`recrepro.report.style.save_figure`. The
registered functions at the end declare each figure once (:mod:`recrepro.report.registry`) and
return its caption, whose takeaway is computed from the same data.

A figure whose data is absent (e.g. no iterative model in a smoke run) is still written, with a
one-line notice, so the paper always compiles. Every model has one colour everywhere
(:func:`recrepro.report.style.model_style`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recrepro.report.config import EXAMPLE_FIGURES, PaperConfig
from recrepro.report.data import ReportData, lookup, ranking, read_convergence, select
from recrepro.report.numbers import convergence_numbers
from recrepro.report.registry import RESULT_TABLES, Context, figure
from recrepro.report.style import (
    HATCHES,
    PALETTE,
    ModelStyles,
    corrections_used,
    family_label,
    format_number,
    format_p,
    higher_is_better,
    is_cost,
    metric_label,
    save_figure,
    setup_matplotlib,
    wrap_label,
)

WIDTH = 6.5  # inches: the paper's text width


def _placeholder(ax: Any, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, fontsize=8)
    ax.set_axis_off()


def _notice(stem: str | Path, message: str) -> list[Path]:
    """A small figure that only says why there is nothing to plot."""
    plt = setup_matplotlib()
    fig, ax = plt.subplots(figsize=(WIDTH, 1.0))
    _placeholder(ax, message)
    return save_figure(fig, stem)


def _grid(plt: Any, n: int, ncols: int, row_height: float, **kwargs: Any) -> tuple[Any, list[Any]]:
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(WIDTH, 0.4 + nrows * row_height), squeeze=False, **kwargs
    )
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_axis_off()
    return fig, flat[:n]


def _legend(fig: Any, styles: ModelStyles, models: Sequence[str], kind: str = "line") -> None:
    """One legend for the whole figure, below the panels, in model order."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = []
    for m in models:
        s = styles[m]
        if kind == "patch":
            handles.append(Patch(facecolor=s.colour, hatch=s.hatch, edgecolor="black", label=m))
        else:
            handles.append(
                Line2D(
                    [],
                    [],
                    color=s.colour,
                    marker=s.marker,
                    linestyle=s.linestyle,
                    markersize=4,
                    label=m,
                )
            )
    fig.legend(
        handles=handles,
        loc="lower center",
        ncol=min(4, len(handles)),
        frameon=False,
        bbox_to_anchor=(0.5, -0.02 - 0.045 * math.ceil(len(handles) / 4)),
    )


def main_results(data: ReportData, cfg: PaperConfig) -> pd.DataFrame:
    """Main dataset/protocol/setting rows of the across-seed summary (means with CIs)."""
    where = {"dataset": cfg.dataset, "protocol": cfg.main_protocol, "setting": cfg.main_setting}
    rows = select(data.summary, **where)
    return rows if len(rows) else rows.assign(ci_low=np.nan, ci_high=np.nan)


# --------------------------------------------------------------------------- result figures


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


def plot_dots(
    results: pd.DataFrame,
    metrics: Sequence[str],
    styles: ModelStyles,
    stem: str | Path,
    *,
    ncols: int = 3,
    log: bool = False,
) -> list[Path]:
    """Small multiples, one panel per metric: dot = mean over seeds, line = 95% CI. Models are
    sorted by the first metric (best on top where it has a direction)."""
    metrics = [m for m in metrics if m in set(results["metric"])]
    if not metrics:
        return _notice(stem, "No results available.")
    plt = setup_matplotlib()
    first = results[results["metric"] == metrics[0]].dropna(subset=["mean"])
    better = higher_is_better(metrics[0])
    first = first.sort_values(["mean", "model"], ascending=[better is False, True])
    models = list(dict.fromkeys([*first["model"], *styles.order(results["model"])]))
    fig, axes = _grid(plt, len(metrics), ncols, 0.45 + 0.16 * len(models), sharey=True)
    for ax, metric in zip(axes, metrics, strict=True):
        rows = results[results["metric"] == metric]
        dot_panel(ax, rows, models, styles)
        positive = rows["mean"][rows["mean"] > 0]
        if log and len(positive):
            # Interval ends at or below zero are cut at the axis' left edge.
            ax.set_xscale("log")
            high = np.nanmax(np.r_[rows["ci_high"].to_numpy(float), positive.to_numpy()])
            ax.set_xlim(positive.min() / 3, high * 1.5)
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
        return _notice(stem, "No per-K results available.")
    rows = rows.assign(k=[names[m] for m in rows["metric"]]).sort_values("k")
    plt = setup_matplotlib()
    models = styles.order(rows["model"])
    fig, axes = _grid(plt, len(models), 4, 1.35, sharex=True, sharey=True)
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


def plot_training_curves(
    history: pd.DataFrame, styles: ModelStyles, stem: str | Path
) -> list[Path]:
    """Training loss per epoch (mean over seeds, band = min to max) and, where logged, the
    validation value on a second axis; one panel per iterative model."""
    history = history.dropna(subset=["loss"]) if "loss" in history else history.iloc[0:0]
    models = styles.order(history["model"]) if len(history) else []
    if not models:
        return _notice(stem, "No model logged a per-epoch training history.")
    plt = setup_matplotlib()
    fig, axes = _grid(plt, len(models), 3, 1.6)
    for ax, model in zip(axes, models, strict=True):
        d = history[history["model"] == model]
        s = styles[model]
        loss = d.groupby("epoch")["loss"].agg(["mean", "min", "max"])
        ax.plot(loss.index, loss["mean"], color=s.colour, marker=s.marker, markersize=3, lw=1)
        ax.fill_between(loss.index, loss["min"], loss["max"], color=s.colour, alpha=0.2, lw=0)
        ax.set_title(model)
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        extra = _validation_column(d)
        if extra:
            twin = ax.twinx()
            twin.spines["right"].set_visible(True)
            val = d.groupby("epoch")[extra].mean()
            twin.plot(val.index, val.to_numpy(), color="black", linestyle="--", lw=1)
            twin.set_ylabel(extra, fontsize=6)
    fig.tight_layout()
    return save_figure(fig, stem)


def plot_tuning_curves(
    curves: pd.DataFrame | None, convergence: pd.DataFrame | None, styles: ModelStyles,
    stem: str | Path, protocol: str,
) -> list[Path]:
    """Small multiples, one panel per searched model: the incumbent's validation score against
    the number of trials (log2 axis), one line per search replicate (seed), and a dotted line
    where the searches plateau (``results/tuning/{curves,convergence}.csv``)."""
    if curves is None or curves.empty:
        return _notice(stem, "No tuning results (the study has no tuned setting).")
    curves = curves[curves["protocol"] == protocol]
    conv = (convergence if convergence is not None else pd.DataFrame(columns=["protocol"]))
    conv = conv[conv["protocol"] == protocol].set_index("model") if len(conv) else conv
    models = [m for m in styles.order(curves["model"])
              if m not in conv.index or bool(conv.loc[m, "searched"])]  # fmt: skip
    if not models:
        return _notice(stem, "No searched model on this protocol.")
    plt = setup_matplotlib()
    cols = min(5, len(models))
    rows = math.ceil(len(models) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(WIDTH, 1.45 * rows + 0.3), squeeze=False)
    dashes = ["-", "--", ":", "-.", (0, (3, 1, 1, 1))]
    budget = int(curves["trials"].max())
    ticks = sorted({t for t in (1, 4, 16, 64, 256) if t <= budget} | {budget})
    for ax, model in zip(axes.flat, models, strict=False):
        d, colour = curves[curves["model"] == model], styles[model].colour
        for i, (_, rep) in enumerate(d.groupby("replicate", sort=True)):
            rep = rep.sort_values("trials")
            ax.plot(rep["trials"], rep["valid_score"], color=colour, lw=0.9,
                    linestyle=dashes[i % len(dashes)])  # fmt: skip
        title = model
        if model in conv.index and math.isfinite(float(conv.loc[model, "trials_to_plateau"] or math.nan)):
            at = int(conv.loc[model, "trials_to_plateau"])
            ax.axvline(at, color="0.4", lw=0.6, linestyle=":")
            title += f"\nplateau {at}"
        ax.set_title(title, fontsize=6.5, pad=2)
        ax.set_xscale("log", base=2)
        ax.set_xticks(ticks, labels=[str(t) for t in ticks])
        ax.tick_params(labelsize=5.5, length=2, pad=1)
        ax.set_ylabel(metric_label(str(d["metric"].iloc[0])), fontsize=5.5, labelpad=1)
    for ax in list(axes.flat)[len(models):]:
        ax.axis("off")
    fig.supxlabel("tuning trials (one line per seed's search)", fontsize=6.5)
    fig.tight_layout(pad=0.3, h_pad=0.4, w_pad=0.3)
    return save_figure(fig, stem)


def _validation_column(history: pd.DataFrame) -> str | None:
    """The per-epoch validation value to plot beside the loss, if any was logged."""
    skip = {"model", "seed", "epoch", "loss"}
    numeric = [
        c
        for c in history.columns
        if c not in skip and pd.api.types.is_numeric_dtype(history[c]) and history[c].notna().any()
    ]
    preferred = [c for c in numeric if "val" in c.lower()]
    return (preferred or numeric or [None])[0]


def plot_per_user_polygons(
    per_user: pd.DataFrame, metric: str, styles: ModelStyles, stem: str | Path, bins: int = 10
) -> list[Path]:
    """Frequency polygons of a per-user metric (averaged over seeds), one small panel per model,
    the same bins everywhere; the share of users at exactly zero is marked separately."""
    d = per_user[per_user["metric"] == metric]
    if d.empty:
        return _notice(stem, f"No per-user values of {metric_label(metric)} available.")
    per_model = d.groupby(["model", "user"])["value"].mean()
    models = styles.order(d["model"])
    top = max(float(per_model.max()), 1e-9)
    edges = np.linspace(0.0, top, bins + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    plt = setup_matplotlib()
    fig, axes = _grid(plt, len(models), 4, 1.3, sharex=True, sharey=True)
    for ax, model in zip(axes, models, strict=True):
        values = per_model.loc[model].dropna().to_numpy()
        zero = float(np.mean(values == 0)) if len(values) else 0.0
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
        return _notice(stem, "A critical-difference diagram needs at least two models.")
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
        return _notice(stem, "No top-K lists available for the popularity analysis.")
    plt = setup_matplotlib()
    panels = ["data", *models] if "data" in set(shares["model"]) else models
    fig, axes = _grid(plt, len(panels), 6, 1.25)
    indexed = shares.set_index("model")
    for ax, model in zip(axes, panels, strict=True):
        values = indexed.loc[model, ["head", "mid", "tail"]].to_numpy(float)
        if not np.nansum(values) > 0:
            _placeholder(ax, f"{model}:\nno top-K lists")
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
        return _notice(stem, "Seed overlap needs at least two seeds per model.")
    plt = setup_matplotlib()
    d = overlap.sort_values(["overlap", "model"], ascending=[False, True])
    fig, ax = plt.subplots(figsize=(WIDTH, 2.3))
    x = np.arange(len(d))
    for i, r in enumerate(d.itertuples(index=False)):
        s = styles[r.model]
        ax.bar(i, r.overlap, color=s.colour, hatch=s.hatch, edgecolor="black", linewidth=0.4)
        if math.isfinite(r.overlap_sd) and r.overlap_sd > 0:
            ax.errorbar(i, r.overlap, yerr=r.overlap_sd, color="black", lw=0.7, capsize=2)
        ax.text(i, r.overlap + 0.02, f"{r.overlap:.2f}", ha="center", va="bottom", fontsize=6)
    ax.set_xticks(x, d["model"].tolist(), rotation=35, ha="right")
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("top-K overlap between seeds")
    fig.tight_layout()
    return save_figure(fig, stem)


# --------------------------------------------------------------------------- example user


def pick_model(preferred: str, candidates: Sequence[str], taken: Sequence[str] = ()) -> str | None:
    """``preferred`` if it has results, else the first of ``candidates`` (in preference order)
    not ``taken`` by another figure, else the first candidate."""
    if preferred in candidates:
        return preferred
    fresh = [m for m in candidates if m not in taken]
    return (fresh or list(candidates) or [None])[0]


def title_counts(example: pd.DataFrame, model: str, depth: int) -> tuple[pd.DataFrame, int]:
    """For ``model``: how many seeds put each title in the top ``depth``, by mean rank."""
    d = example[(example["model"] == model) & (example["rank"] <= depth)]
    counts = (
        d.groupby("item")
        .agg(title=("title", "first"), seeds=("seed", "nunique"), mean_rank=("rank", "mean"))
        .sort_values(["mean_rank", "item"], kind="stable")
        .reset_index()
    )
    return counts, int(d["seed"].nunique())


def _example_title(kind: str, model: str, user: int, n_seeds: int) -> str:
    return f"User {user}: {kind} of {model} ({n_seeds} seed{'s' if n_seeds != 1 else ''})"


def plot_example_pie(
    example: pd.DataFrame, model: str | None, user: int, stem: str | Path
) -> list[Path]:
    """Seed 001's pie chart: the top-3 recommendations; slices sized by the number of seeds
    that recommend each title in the top 3."""
    if model is None:
        return _notice(stem, f"No recommendations for user {user}.")
    counts, n_seeds = title_counts(example, model, 3)
    plt = setup_matplotlib()
    fig, ax = plt.subplots(figsize=(WIDTH * 0.75, 2.8))
    wedges, _ = ax.pie(
        counts["seeds"],
        labels=[
            f"{wrap_label(t, 28)}\n({n} of {n_seeds} seeds)"
            for t, n in zip(counts["title"], counts["seeds"], strict=True)
        ],
        startangle=90,
        counterclock=False,
        textprops={"fontsize": 7},
        wedgeprops={"edgecolor": "black", "linewidth": 0.5},
    )
    for i, wedge in enumerate(wedges):
        wedge.set(facecolor=PALETTE[i % len(PALETTE)], hatch=HATCHES[i % len(HATCHES)])
    ax.set_title(_example_title("top-3 recommendations", model, user, n_seeds))
    ax.axis("equal")
    return save_figure(fig, stem)


def _title_axis(ax: Any, titles: Sequence[str], n_seeds: int) -> None:
    # one line per title (wrapped rotated labels run into their neighbours), cut at 30 characters
    labels = [t if len(t) <= 30 else t[:29] + "…" for t in titles]
    ax.set_xticks(
        range(len(titles)), labels, rotation=60, ha="right", rotation_mode="anchor", fontsize=6.5
    )
    ax.set_ylim(0, n_seeds + 0.7)
    ax.set_yticks(range(0, n_seeds + 1))
    ax.set_ylabel(f"seeds recommending it (of {n_seeds})")


def plot_example_polygon(
    example: pd.DataFrame,
    model: str | None,
    user: int,
    styles: ModelStyles,
    stem: str | Path,
    depth: int = 10,
) -> list[Path]:
    """Seed 001's frequency polygon: for each title in the top ``depth`` of any seed (ordered by
    mean rank), the number of seeds recommending it, joined by lines closed at zero."""
    if model is None:
        return _notice(stem, f"No recommendations for user {user}.")
    counts, n_seeds = title_counts(example, model, depth)
    plt = setup_matplotlib()
    fig, ax = plt.subplots(figsize=(WIDTH, 3.2))
    s = styles[model]
    x = np.arange(-1, len(counts) + 1)
    y = np.r_[0, counts["seeds"].to_numpy(), 0]
    ax.plot(x, y, color=s.colour, marker=s.marker, markersize=4, lw=1.2)
    ax.fill_between(x, 0, y, color=s.colour, alpha=0.15, hatch=s.hatch, lw=0)
    for i, n in enumerate(counts["seeds"]):
        ax.text(i, n + 0.1, str(n), ha="center", va="bottom", fontsize=6)
    ax.set_xlim(-1, len(counts))
    _title_axis(ax, counts["title"].tolist(), n_seeds)
    ax.set_title(_example_title(f"frequency polygon of top-{depth} titles", model, user, n_seeds))
    fig.tight_layout()
    return save_figure(fig, stem)


def plot_example_columns(
    example: pd.DataFrame,
    model: str | None,
    user: int,
    styles: ModelStyles,
    stem: str | Path,
    depth: int = 10,
) -> list[Path]:
    """Seed 001's column graph: how often each title is recommended in the top ``depth``
    across seeds, most frequent first."""
    if model is None:
        return _notice(stem, f"No recommendations for user {user}.")
    counts, n_seeds = title_counts(example, model, depth)
    counts = counts.sort_values(["seeds", "mean_rank"], ascending=[False, True], kind="stable")
    plt = setup_matplotlib()
    fig, ax = plt.subplots(figsize=(WIDTH, 3.2))
    s = styles[model]
    ax.bar(
        range(len(counts)),
        counts["seeds"],
        color=s.colour,
        hatch=s.hatch,
        edgecolor="black",
        linewidth=0.5,
    )
    for i, n in enumerate(counts["seeds"]):
        ax.text(i, n + 0.1, str(n), ha="center", va="bottom", fontsize=6)
    _title_axis(ax, counts["title"].tolist(), n_seeds)
    ax.set_title(_example_title(f"column graph of top-{depth} titles", model, user, n_seeds))
    fig.tight_layout()
    return save_figure(fig, stem)


def model_preference(data: ReportData, cfg: PaperConfig) -> list[str]:
    """Models best first on the main metric (main dataset, protocol and setting)."""
    where = {"dataset": cfg.dataset, "protocol": cfg.main_protocol, "setting": cfg.main_setting}
    return list(dict.fromkeys(ranking(select(data.summary, **where), cfg.main_metric)["model"]))


def example_models(
    example: pd.DataFrame, cfg: PaperConfig, preference: Sequence[str] = ()
) -> dict[str, str | None]:
    """The model shown in each example figure: the configured one if it has results, else the
    best-ranked model (``preference``) that no other example figure shows, where possible."""
    available = set(example["model"].astype(str))
    ordered = list(preference) + ModelStyles(cfg.models).order(available)
    candidates = list(dict.fromkeys(m for m in ordered if m in available))
    configured = [cfg.example_models[kind] for kind in EXAMPLE_FIGURES]
    picks: dict[str, str | None] = {}
    for kind in EXAMPLE_FIGURES:
        taken = [m for m in configured if m in available] + [m for m in picks.values() if m]
        picks[kind] = pick_model(cfg.example_models[kind], candidates, taken)
    return picks


# --------------------------------------------------------------------------- registered figures

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
        f"; the intervals of {', '.join(tied)} overlap with it" if tied else
        "; no other model's interval overlaps with it"
    )
    return latex_text(
        f"Headline metrics ({cfg.main_protocol} protocol, {cfg.main_setting} setting): dot = mean "
        f"over seeds, line = 95% confidence interval over seeds; models sorted by "
        f"{metric_label(metrics[0])}. {best} is best on {metric_label(cfg.main_metric)} "
        f"({value}){overlap}."
    )


@figure("metrics_over_k", section="results", inputs=_STATS)
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


@figure("per_user_polygons", section="results", inputs=("figdata_per_user",))
def per_user_polygons(ctx: Context, stem: Path) -> str:
    cfg = ctx.cfg
    per_user = ctx.frame("figdata_per_user")
    metric = cfg.distribution_metric
    plot_per_user_polygons(per_user, metric, ModelStyles(cfg.models), stem)
    d = per_user[per_user["metric"] == metric]
    if d.empty:
        return latex_text(f"Per-user {metric_label(metric)}: no per-user values available.")
    zero = (d.groupby(["model", "user"])["value"].mean() == 0).groupby("model").mean()
    low, high = zero.idxmin(), zero.idxmax()
    return latex_text(
        f"Frequency polygons of per-user {metric_label(metric)} (mean over seeds; "
        f"{d['user'].nunique()} evaluated users; the share of users with a value of zero is in "
        f"each title). The distributions are skewed: even {low} leaves {100 * zero[low]:.0f}% "
        f"of users without a relevant movie in the top list ({high}: {100 * zero[high]:.0f}%)."
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
        f"models that the paired all-pairs tests ({correction} correction) do not separate. "
        f"{top['model']} has the best average rank ({top['avg_rank']:.2f})."
    )


@figure("popularity_pies", section="results", inputs=("figdata_popularity",))
def popularity_pies(ctx: Context, stem: Path) -> str:
    cfg = ctx.cfg
    shares = tail_shares(ctx.frame("figdata_popularity"))
    plot_tail_pies(shares, ModelStyles(cfg.models), stem)
    models = shares[shares["model"] != "data"].dropna(subset=["tail"])
    if models.empty:
        return "Share of recommendations from head, mid and long-tail movies: no data."
    most = models.sort_values(["tail", "model"], ascending=[False, True]).iloc[0]
    least = models.sort_values(["tail", "model"]).iloc[0]
    return latex_text(
        f"Where the top-{cfg.popularity_k} slots go: share of recommendations from head, mid and "
        f"long-tail movies (movies sorted by rating count, cut at one and two thirds of all "
        f"ratings). {most['model']} gives the long tail the largest share "
        f"({100 * most['tail']:.0f}%), {least['model']} the smallest ({100 * least['tail']:.0f}%)."
    )


@figure("seed_overlap", section="results", inputs=("figdata_overlap",))
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
        f"Convergence of the searches ({ctx.cfg.main_protocol} protocol): the best validation "
        "score after 1, 2, 4, ... trials, one line per seed's own search, and (dotted; the "
        "plateau in the title) the trial count from which the mean gain still to come stays "
        f"within the spread of the searches' final scores. {sentence or 'The study has no tuned setting.'}"
    )


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
        "seeds, line: 95% CI, cut at the left edge; log axis; "
        f"{cfg.main_protocol} protocol, {cfg.main_setting} setting). "
        f"{slow['model']} takes {format_number(slow['mean'])} s, "
        f"{fast['model']} {format_number(fast['mean'])} s."
    )


@figure("training_curves", section="appendix", inputs=("figdata_history",))
def training_curves(ctx: Context, stem: Path) -> str:
    history = ctx.frame("figdata_history")
    plot_training_curves(history, ModelStyles(ctx.cfg.models), stem)
    logged = history.dropna(subset=["loss"]) if "loss" in history else history.iloc[0:0]
    n = logged["model"].nunique() if "model" in logged else 0
    return latex_text(
        f"Training curves of the {n} models that log a training loss per epoch: loss per epoch "
        "(mean over seeds, band from minimum to maximum) and, dashed on the right axis, the "
        "validation value where logged."
    )


def _example_caption(ctx: Context, kind: str) -> tuple[pd.DataFrame, str | None]:
    example = ctx.frame("figdata_example_user")
    picks = example_models(example, ctx.cfg, model_preference(ctx.data, ctx.cfg))
    return example, picks[kind]


@figure("example_pie", section="appendix", inputs=("figdata_example_user", *_STATS),
        width=r"0.7\linewidth")  # fmt: skip
def example_pie(ctx: Context, stem: Path) -> str:
    example, model = _example_caption(ctx, "pie")
    user = ctx.cfg.example_user
    plot_example_pie(example, model, user, stem)
    return latex_text(
        f"Seed document 001's chart type (a pie) for user {user}: the top-3 recommendations of {model}; each "
        "slice counts the seeds that put the title in the top three."
    )


@figure("example_polygon", section="appendix", inputs=("figdata_example_user", *_STATS))
def example_polygon(ctx: Context, stem: Path) -> str:
    example, model = _example_caption(ctx, "polygon")
    user = ctx.cfg.example_user
    plot_example_polygon(example, model, user, ModelStyles(ctx.cfg.models), stem)
    return latex_text(
        f"Seed document 001's chart type (a frequency polygon) for user {user}: how many seeds "
        "put each title in the "
        f"top 10 of {model} (titles by mean rank)."
    )


@figure("example_columns", section="appendix", inputs=("figdata_example_user", *_STATS))
def example_columns(ctx: Context, stem: Path) -> str:
    example, model = _example_caption(ctx, "column")
    user = ctx.cfg.example_user
    plot_example_columns(example, model, user, ModelStyles(ctx.cfg.models), stem)
    counts, n_seeds = title_counts(example, model, 10) if model else (pd.DataFrame(), 0)
    stable = int((counts["seeds"] == n_seeds).sum()) if len(counts) else 0
    return latex_text(
        f"Seed document 001's chart type (a column graph) for user {user}: titles in the top 10 "
        f"of {model} across "
        f"{n_seeds} seeds, most frequent first; {stable} of {len(counts)} titles appear for every seed."
    )


def latex_text(text: str) -> str:
    """Caption text -> LaTeX (model names and symbols escaped)."""
    from recrepro.report.tables import latex_escape

    return latex_escape(text)
