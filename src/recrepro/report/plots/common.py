"""What every plotter shares: the page width, a notice in place of an empty figure, and a grid
of small multiples."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from recrepro.report.style import save_figure, setup_matplotlib

WIDTH = 6.5  # inches: the paper's text width


def placeholder(ax: Any, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, fontsize=8)
    ax.set_axis_off()


def notice(stem: str | Path, message: str) -> list[Path]:
    """A small figure that only says why there is nothing to plot."""
    plt = setup_matplotlib()
    fig, ax = plt.subplots(figsize=(WIDTH, 1.0))
    placeholder(ax, message)
    return save_figure(fig, stem)


def grid(plt: Any, n: int, ncols: int, row_height: float, **kwargs: Any) -> tuple[Any, list[Any]]:
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(WIDTH, 0.4 + nrows * row_height), squeeze=False, **kwargs
    )
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_axis_off()
    return fig, flat[:n]
