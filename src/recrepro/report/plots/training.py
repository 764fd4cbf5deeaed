"""Plotters of how models train and how their searches converge."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from recrepro.report.plots.common import WIDTH, grid, notice
from recrepro.report.style import ModelStyles, metric_label, save_figure, setup_matplotlib

#: Line styles of a model's seeds (or search replicates) in one panel, first seed solid.
SEED_DASHES = ["-", "--", ":", "-.", (0, (3, 1, 1, 1))]


def plot_training_curves(
    history: pd.DataFrame, styles: ModelStyles, stem: str | Path
) -> list[Path]:
    """Training loss per epoch relative to the run's first epoch, one line per seed (solid,
    dashed, dotted: seeds may differ in batch size and epochs, which changes the loss's scale
    and length, so no mean is taken) and, where logged, each seed's validation value on a second
    axis (thin grey); one panel per iterative model."""
    history = history.dropna(subset=["loss"]) if "loss" in history else history.iloc[0:0]
    models = styles.order(history["model"]) if len(history) else []
    if not models:
        return notice(stem, "No model logged a per-epoch training history.")
    plt = setup_matplotlib()
    fig, axes = grid(plt, len(models), 3, 1.6)
    for ax, model in zip(axes, models, strict=True):
        d = history[history["model"] == model]
        s = styles[model]
        extra = _validation_column(d)
        twin = ax.twinx() if extra else None
        for i, (_, run) in enumerate(d.sort_values("epoch").groupby("seed", sort=True)):
            first = float(run["loss"].iloc[0])
            relative = run["loss"] / first if first else run["loss"]
            style = SEED_DASHES[i % len(SEED_DASHES)]
            ax.plot(run["epoch"], relative, color=s.colour, linestyle=style, marker=s.marker,
                    markersize=2.5, lw=1)  # fmt: skip
            if twin is not None and run[extra].notna().any():
                twin.plot(run["epoch"], run[extra], color="0.5", linestyle=style, lw=0.7)
        ax.set_title(model)
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss / first-epoch loss")
        if twin is not None:
            twin.spines["right"].set_visible(True)
            twin.set_ylabel(metric_label(extra.removeprefix("val_")) + " (valid.)", fontsize=6)
    fig.tight_layout()
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


def plot_tuning_curves(
    curves: pd.DataFrame | None, convergence: pd.DataFrame | None, styles: ModelStyles,
    stem: str | Path, protocol: str,
) -> list[Path]:
    """Small multiples, one panel per searched model: the incumbent's validation score against
    the number of trials (log2 axis), one line per search replicate (seed), and a wide grey line
    where the searches plateau (``results/tuning/{curves,convergence}.csv``)."""
    if curves is None or curves.empty:
        return notice(stem, "No tuning results (the study has no tuned setting).")
    curves = curves[curves["protocol"] == protocol]
    conv = (convergence if convergence is not None else pd.DataFrame(columns=["protocol"]))
    conv = conv[conv["protocol"] == protocol].set_index("model") if len(conv) else conv
    models = [m for m in styles.order(curves["model"])
              if m not in conv.index or bool(conv.loc[m, "searched"])]  # fmt: skip
    if not models:
        return notice(stem, "No searched model on this protocol.")
    plt = setup_matplotlib()
    cols = min(5, len(models))
    rows = math.ceil(len(models) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(WIDTH, 1.45 * rows + 0.3), squeeze=False)
    budget = int(curves["trials"].max())
    # the half budget is ticked: the plateau rule's threshold
    ticks = sorted({t for t in (1, 4, 16, 64, 256) if t <= budget} | {budget, max(1, budget // 2)})
    for ax, model in zip(axes.flat, models, strict=False):
        d, colour = curves[curves["model"] == model], styles[model].colour
        for i, (_, rep) in enumerate(d.groupby("replicate", sort=True)):
            rep = rep.sort_values("trials")
            ax.plot(rep["trials"], rep["valid_score"], color=colour, lw=0.9,
                    linestyle=SEED_DASHES[i % len(SEED_DASHES)])  # fmt: skip
        title = model
        if model in conv.index and math.isfinite(float(conv.loc[model, "trials_to_plateau"] or math.nan)):
            at = int(conv.loc[model, "trials_to_plateau"])
            # a wide grey line, unlike the seeds' (dashed) lines
            ax.axvline(at, color="0.55", lw=2.0, alpha=0.35, zorder=0)
            converged = str(conv.loc[model, "converged"]).lower() == "true"
            title += f"\nplateau {at}" if converged else f"\nplateau {at}: not by {budget // 2}"
        ax.set_title(title, fontsize=6.5, pad=2)
        ax.set_xscale("log", base=2)
        ax.set_xlim(0.8, budget * 1.2)  # a plateau at trial 1 stays visible
        ax.set_xticks(ticks, labels=[str(t) for t in ticks])
        ax.tick_params(labelsize=5.5, length=2, pad=1)
        ax.set_ylabel(metric_label(str(d["metric"].iloc[0])), fontsize=5.5, labelpad=1)
    for ax in list(axes.flat)[len(models):]:
        ax.axis("off")
    fig.supxlabel("tuning trials (one line per seed's search)", fontsize=6.5)
    fig.tight_layout(pad=0.3, h_pad=0.4, w_pad=0.3)
    return save_figure(fig, stem)
