"""Plotters of the example user's recommendations, in the chart types of the seed documents (a
pie, a frequency polygon, a column graph): how many seeds recommend each title."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recrepro.report.plots.common import WIDTH, notice
from recrepro.report.style import HATCHES, PALETTE, ModelStyles, save_figure, setup_matplotlib, wrap_label


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
        return notice(stem, f"No recommendations for user {user}.")
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
    *,
    depth: int,
) -> list[Path]:
    """Seed 001's frequency polygon: for each title in the top ``depth`` of any seed (ordered by
    mean rank), the number of seeds recommending it, joined by lines closed at zero."""
    if model is None:
        return notice(stem, f"No recommendations for user {user}.")
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
    *,
    depth: int,
) -> list[Path]:
    """Seed 001's column graph: how often each title is recommended in the top ``depth``
    across seeds, most frequent first."""
    if model is None:
        return notice(stem, f"No recommendations for user {user}.")
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
