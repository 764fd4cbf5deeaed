"""The paper's figures (plotting half): each function reads tidy tables, never trains, and writes
``stem.pdf`` and ``stem.png`` through :func:`recrepro.report.style.save_figure`.

A figure whose data is absent (e.g. no iterative model in a smoke run) is still written, with a
one-line notice, so the paper always compiles.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recrepro.report.config import EXAMPLE_FIGURES, PaperConfig
from recrepro.report.data import ReportData, lookup, ranking, select
from recrepro.report.style import (
    HATCHES,
    PALETTE,
    ModelStyles,
    family_label,
    format_number,
    format_p,
    metric_label,
    save_figure,
    setup_matplotlib,
    wrap_label,
)

FIGURES = (
    "headline_ci",
    "metrics_over_k",
    "training_curves",
    "per_user_distribution",
    "critical_difference",
    "popularity_long_tail",
    "example_pie",
    "example_polygon",
    "example_columns",
    "tuning_budget",
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
    """Main dataset/protocol/setting rows with CIs (seed summary), else plain means (summary)."""
    where = {"dataset": cfg.dataset, "protocol": cfg.main_protocol, "setting": cfg.main_setting}
    rows = select(data.seed_summary, **where)
    if len(rows):
        return rows
    return select(data.summary, **where).assign(ci_low=np.nan, ci_high=np.nan)


# --------------------------------------------------------------------------- result figures


def plot_headline_ci(
    results: pd.DataFrame, metrics: Sequence[str], styles: ModelStyles, stem: str | Path
) -> list[Path]:
    """One panel per headline metric: mean per model as a bar, 95% CI as an error bar."""
    metrics = [m for m in metrics if m in set(results["metric"])]
    if not metrics:
        return _notice(stem, "No headline results available.")
    plt = setup_matplotlib()
    models = styles.order(results["model"])
    fig, axes = _grid(plt, len(metrics), 4, 0.5 + 0.17 * len(models), sharey=True)
    positions = {m: len(models) - 1 - i for i, m in enumerate(models)}
    for ax, metric in zip(axes, metrics, strict=True):
        rows = results[results["metric"] == metric]
        for r in rows.itertuples(index=False):
            s = styles[r.model]
            err = [[max(r.mean - r.ci_low, 0)], [max(r.ci_high - r.mean, 0)]]
            has_ci = math.isfinite(r.ci_low) and math.isfinite(r.ci_high)
            ax.barh(
                positions[r.model],
                r.mean,
                color=s.colour,
                hatch=s.hatch,
                edgecolor="black",
                linewidth=0.4,
                xerr=err if has_ci else None,
                capsize=2,
                error_kw={"elinewidth": 0.8},
            )
        if metric == "fit_seconds" and (rows["mean"] > 0).all():
            ax.set_xscale("log")
        ax.set_title(metric_label(metric))
        ax.set_yticks(range(len(models)), list(reversed(models)))
    fig.tight_layout()
    return save_figure(fig, stem)


def plot_metrics_over_k(
    results: pd.DataFrame,
    families: Sequence[str],
    ks: Sequence[int],
    styles: ModelStyles,
    stem: str | Path,
) -> list[Path]:
    """Metric@K against K per model (one panel per family), with 95% CI bands."""
    names = {f"{f}@{k}": (f, k) for f in families for k in ks}
    rows = results[results["metric"].isin(names)]
    if rows.empty:
        return _notice(stem, "No per-K results available.")
    rows = rows.assign(
        family=[names[m][0] for m in rows["metric"]], k=[names[m][1] for m in rows["metric"]]
    )
    plt = setup_matplotlib()
    models = styles.order(rows["model"])
    present = [f for f in families if f in set(rows["family"])]
    fig, axes = _grid(plt, len(present), 2, 2.2)
    for ax, family in zip(axes, present, strict=True):
        for model in models:
            d = rows[(rows["family"] == family) & (rows["model"] == model)].sort_values("k")
            if d.empty:
                continue
            s = styles[model]
            ax.plot(
                d["k"],
                d["mean"],
                color=s.colour,
                marker=s.marker,
                linestyle=s.linestyle,
                markersize=3,
                linewidth=1,
            )
            if d[["ci_low", "ci_high"]].notna().all().all():
                ax.fill_between(
                    d["k"], d["ci_low"], d["ci_high"], color=s.colour, alpha=0.15, linewidth=0
                )
        ax.set_xscale("log")
        ax.set_xticks(list(ks), [str(k) for k in ks])
        ax.minorticks_off()
        ax.set_xlabel("K")
        ax.set_ylabel(f"{family_label(family)}@K")
    fig.tight_layout()
    _legend(fig, styles, models)
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


def plot_tuning_budget(budget: pd.DataFrame | None, styles: ModelStyles, stem: str | Path) -> list[Path]:
    """Best validation score and the incumbent's test NDCG@10 against the number of tuning
    trials (log2 axis), one line per model (``results/tuning/budget.csv``)."""
    if budget is None or budget.empty:
        return _notice(stem, "No tuning-budget results (the study has no tuned setting).")
    models = styles.order(budget["model"])
    plt = setup_matplotlib()
    fig, (valid_ax, test_ax) = plt.subplots(1, 2, figsize=(WIDTH, 2.8), sharex=True)
    for model in models:
        d, s = budget[budget["model"] == model].sort_values("trials"), styles[model]
        style = {"color": s.colour, "marker": s.marker, "linestyle": s.linestyle, "markersize": 3, "lw": 1}
        if (d["metric"] == "ndcg@10").all():  # rating models are selected on RMSE
            valid_ax.plot(d["trials"], d["valid_score"], **style)
        test_ax.plot(d["trials"], d["test_ndcg@10"], **style)
    ticks = sorted(int(t) for t in budget["trials"].unique())
    for ax, title in ((valid_ax, "best validation NDCG@10"), (test_ax, "test NDCG@10 of the incumbent")):
        ax.set_xscale("log", base=2)
        ax.set_xticks(ticks, labels=[str(t) for t in ticks])
        ax.set_xlabel("tuning trials")
        ax.set_title(title)
    fig.tight_layout()
    _legend(fig, styles, models)
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


def plot_per_user_distribution(
    per_user: pd.DataFrame, metric: str, styles: ModelStyles, stem: str | Path
) -> list[Path]:
    """Distribution over users of a per-user metric (averaged over seeds), one box per model."""
    d = per_user[per_user["metric"] == metric]
    if d.empty:
        return _notice(stem, f"No per-user values of {metric_label(metric)} available.")
    per_model = d.groupby(["model", "user"])["value"].mean()
    models = styles.order(d["model"])
    plt = setup_matplotlib()
    fig, ax = plt.subplots(figsize=(WIDTH, 0.6 + 0.25 * len(models)))
    values = [per_model.loc[m].dropna().to_numpy() for m in reversed(models)]
    boxes = ax.boxplot(
        values,
        orientation="horizontal",
        patch_artist=True,
        showfliers=False,
        showmeans=True,
        widths=0.6,
        meanprops={
            "marker": "D",
            "markerfacecolor": "white",
            "markeredgecolor": "black",
            "markersize": 3,
        },
        medianprops={"color": "black"},
    )
    for box, model in zip(boxes["boxes"], reversed(models), strict=True):
        s = styles[model]
        box.set(facecolor=s.colour, hatch=s.hatch, edgecolor="black", linewidth=0.5)
    ax.set_yticks(range(1, len(models) + 1), list(reversed(models)))
    ax.set_xlabel(f"{metric_label(metric)} per user (mean over seeds; diamond = mean)")
    fig.tight_layout()
    return save_figure(fig, stem)


def cd_groups(ranks: Sequence[float], cd: float) -> list[tuple[int, int]]:
    """Maximal runs ``(first, last)`` of rank-sorted models whose ranks differ by less than
    ``cd`` (no significant difference); singletons are left out."""
    groups: list[tuple[int, int]] = []
    if not math.isfinite(cd):
        return groups
    for i in range(len(ranks)):
        j = i
        while j + 1 < len(ranks) and ranks[j + 1] - ranks[i] < cd:
            j += 1
        if j > i and not (groups and groups[-1][1] >= j):
            groups.append((i, j))
    return groups


def plot_critical_difference(
    ranks: pd.DataFrame, cd: float, p_value: float, metric: str, stem: str | Path
) -> list[Path]:
    """Demšar's critical-difference diagram: average ranks on an axis (1 = best), bars joining
    models not significantly different (rank gap below the Nemenyi CD)."""
    ranks = ranks.sort_values("avg_rank", kind="stable")
    if len(ranks) < 2:
        return _notice(stem, "A critical-difference diagram needs at least two models.")
    plt = setup_matplotlib()
    names, values = ranks["model"].tolist(), ranks["avg_rank"].to_numpy(float)
    k = len(names)
    lo, hi = 1.0, float(max(k, math.ceil(values.max())))
    margin = max(1.0, 0.6 * (hi - lo))
    groups = cd_groups(values, cd)
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
        f"{metric_label(metric)}: average rank over users (Friedman p {format_p(p_value) or 'n/a'})"
    )
    if math.isfinite(cd):
        ax.plot([lo, lo + cd], [-0.45, -0.45], color="black", lw=1)
        for x in (lo, lo + cd):
            ax.plot([x, x], [-0.41, -0.49], color="black", lw=1)
        ax.text(
            lo + cd / 2, -0.5, f"CD = {format_number(cd, 2)}", ha="center", va="bottom", fontsize=7
        )
    else:
        title += "; CD not available"
    ax.set_title(title)
    ax.set_xlim(lo - margin, hi + margin)
    ax.set_ylim(first_row + 0.25 * (half - 1) + 0.2, -0.75)
    ax.set_axis_off()
    return save_figure(fig, stem)


def plot_popularity(
    popularity: pd.DataFrame, styles: ModelStyles, k: int, stem: str | Path
) -> list[Path]:
    """Long tail: left, how often items of each popularity rank are recommended (binned,
    log-log); right, the cumulative share of recommendations going to the most popular items,
    with the ratings' own share as the dashed reference."""
    models = styles.order(set(popularity["model"]) - {"data"})
    if not models:
        return _notice(stem, "No top-K lists available for the popularity analysis.")
    plt = setup_matplotlib()
    fig, (left, right) = plt.subplots(1, 2, figsize=(WIDTH, 2.4))
    n_items = int(popularity["popularity_rank"].max())
    edges = np.unique(np.geomspace(1, n_items + 1, 21).astype(int))
    for model in [*models, "data"]:
        d = popularity[popularity["model"] == model].sort_values("popularity_rank")
        look = (
            {"color": "black", "linestyle": "--", "marker": None}
            if model == "data"
            else {
                "color": styles[model].colour,
                "linestyle": styles[model].linestyle,
                "marker": styles[model].marker,
            }
        )
        if model != "data":
            bins = pd.cut(d["popularity_rank"], edges, right=False)
            binned = d.groupby(bins, observed=True).agg(
                rank=("popularity_rank", "mean"), share=("rec_share", "mean")
            )
            binned = binned[binned["share"] > 0]
            left.plot(binned["rank"], binned["share"], markersize=3, lw=1, **look)
        share = d["rec_share"].to_numpy(float)
        total = share.sum()
        if total > 0:
            x = np.arange(1, len(share) + 1) / len(share)
            right.plot(x, np.cumsum(share) / total, lw=1, markevery=0.1, markersize=3, **look)
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("item popularity rank (1 = most rated)")
    left.set_ylabel(f"share of users with the item in top {k}")
    right.set_xlabel("fraction of items, most popular first")
    right.set_ylabel("cumulative share of recommendations")
    fig.tight_layout()
    _legend(fig, styles, models)
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
        labels=[wrap_label(t, 28) for t in counts["title"]],
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
    ax.set_xticks(
        range(len(titles)), [wrap_label(t, 18) for t in titles], rotation=60, ha="right", fontsize=6
    )
    ax.set_ylim(0, n_seeds + 0.5)
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
    fig, ax = plt.subplots(figsize=(WIDTH, 2.6))
    s = styles[model]
    x = np.arange(-1, len(counts) + 1)
    y = np.r_[0, counts["seeds"].to_numpy(), 0]
    ax.plot(x, y, color=s.colour, marker=s.marker, markersize=4, lw=1.2)
    ax.fill_between(x, 0, y, color=s.colour, alpha=0.15, hatch=s.hatch, lw=0)
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
    fig, ax = plt.subplots(figsize=(WIDTH, 2.6))
    s = styles[model]
    ax.bar(
        range(len(counts)),
        counts["seeds"],
        color=s.colour,
        hatch=s.hatch,
        edgecolor="black",
        linewidth=0.5,
    )
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


# --------------------------------------------------------------------------- all figures


def write_figures(
    data: ReportData,
    cfg: PaperConfig,
    *,
    history: pd.DataFrame,
    per_user: pd.DataFrame,
    popularity: pd.DataFrame,
    example: pd.DataFrame,
    outdir: str | os.PathLike,
    budget: pd.DataFrame | None = None,
) -> list[Path]:
    """Write every figure of :data:`FIGURES` into ``outdir``."""
    out = Path(outdir)
    styles = ModelStyles(cfg.models)
    results = main_results(data, cfg)
    where = {
        "dataset": cfg.dataset,
        "protocol": cfg.main_protocol,
        "setting": cfg.main_setting,
        "metric": cfg.main_metric,
    }
    picks = example_models(example, cfg, model_preference(data, cfg))
    user = cfg.example_user
    return [
        *plot_headline_ci(results, cfg.headline_metrics, styles, out / "headline_ci"),
        *plot_metrics_over_k(results, cfg.per_k_families, cfg.ks, styles, out / "metrics_over_k"),
        *plot_training_curves(history, styles, out / "training_curves"),
        *plot_per_user_distribution(
            per_user, cfg.distribution_metric, styles, out / "per_user_distribution"
        ),
        *plot_critical_difference(
            select(data.ranks, **where),
            lookup(data.friedman, "critical_difference", **where),
            lookup(data.friedman, "p_value", **where),
            cfg.main_metric,
            out / "critical_difference",
        ),
        *plot_popularity(popularity, styles, cfg.popularity_k, out / "popularity_long_tail"),
        *plot_example_pie(example, picks["pie"], user, out / "example_pie"),
        *plot_example_polygon(example, picks["polygon"], user, styles, out / "example_polygon"),
        *plot_example_columns(example, picks["column"], user, styles, out / "example_columns"),
        *plot_tuning_budget(budget, styles, out / "tuning_budget"),
    ]
