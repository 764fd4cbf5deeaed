"""The ablation table: what each seed model's addition (graph propagation, neighbour averaging,
the history GRU, the wide part, the Dense layer, movie metadata) is worth on the main protocol.

An ablation ``<model>__<name>`` (config ``ablations:``) is its model with the addition removed,
trained faithful (the model's faithful values plus the removal) and tuned (each seed's search
winner of the model plus the removal, with no search of its own). Per (ablation, setting,
metric): the model's and the ablation's mean over seeds, and the addition's gain
``model - ablation`` (a per-user mean metric, e.g. NDCG@10; a positive gain means the
addition helps) with the study's primary test
(:func:`recrepro.stats.crossed.crossed_test`: users x seeds) over the users both runs evaluate.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from recrepro.core.errors import ConfigError
from recrepro.evaluation.catalogue import higher_is_better
from recrepro.stats.collect import load_per_user
from recrepro.stats.crossed import crossed_test
from recrepro.stats.paired import adjust_pvalues
from recrepro.stats.units import aggregate_kind

COLUMNS = (
    "ablation", "model", "removed", "setting", "metric", "n_users", "n_seeds", "model_mean",
    "ablation_mean", "gain", "ci_low", "ci_high", "p_value", "p_adj",
)  # fmt: skip


def ablation_table(
    per_user_files: Iterable[str | Path],
    ablations: Mapping[str, Mapping[str, object]],
    metrics: Sequence[str],
    level: float = 0.95,
) -> pd.DataFrame:
    """One row per (ablation, setting, metric) found in the per-user files of the ablations and
    of their models (all on one dataset and protocol). ``p_adj``: Holm's correction over the
    (ablation, setting) rows of each metric."""
    pooled = [m for m in metrics if aggregate_kind(m) != "mean"]
    if pooled:
        raise ConfigError(f"the ablation table takes per-user means only, not {', '.join(pooled)}; "
                          "use e.g. ndcg@10")
    frame = load_per_user(per_user_files, metrics)
    rows = []
    for ablation, removal in ablations.items():
        model = ablation.split("__")[0]
        for setting in sorted(frame["setting"].unique()):
            part = frame[(frame["setting"] == setting) & frame["model"].isin([model, ablation])]
            for metric in metrics:
                row = _row(part, model, ablation, metric, level)
                if row is not None:
                    rows.append({"ablation": ablation, "model": model, "setting": setting,
                                 "removed": _removal_text(removal), **row})  # fmt: skip
    table = pd.DataFrame.from_records(rows, columns=list(COLUMNS))
    for _, index in table.groupby("metric").groups.items():
        table.loc[index, "p_adj"] = adjust_pvalues(table.loc[index, "p_value"].to_numpy(float), "holm")
    return table


def _row(part: pd.DataFrame, model: str, ablation: str, metric: str, level: float) -> dict | None:
    if metric not in part.columns:
        return None
    wide = part.pivot_table(index="user", columns=["model", "seed"], values=metric, aggfunc="first")
    if model not in wide.columns.get_level_values(0) or ablation not in wide.columns.get_level_values(0):
        return None
    seeds = sorted(set(wide[model].columns) & set(wide[ablation].columns))
    full, ablated = wide[model][seeds], wide[ablation][seeds]
    keep = full.notna().all(axis=1) & ablated.notna().all(axis=1)
    if not keep.any() or not seeds:
        return None
    full, ablated = full[keep].to_numpy(), ablated[keep].to_numpy()
    gain = (full - ablated) if higher_is_better(metric) is not False else (ablated - full)
    test = crossed_test(gain, level)
    return {
        "metric": metric, "n_users": int(keep.sum()), "n_seeds": len(seeds),
        "model_mean": float(full.mean()), "ablation_mean": float(ablated.mean()),
        "gain": test.mean, "ci_low": test.ci_low, "ci_high": test.ci_high,
        "p_value": test.p_value if math.isfinite(test.p_value) else math.nan,
    }  # fmt: skip


def _removal_text(removal: Mapping[str, object]) -> str:
    return ", ".join(f"{name} = {value}" for name, value in sorted(removal.items()))


def ablation_markdown(table: pd.DataFrame) -> str:
    """The table as Markdown: one line per (ablation, setting, metric)."""
    lines = [
        "| model | addition removed by | setting | metric | model | ablation "
        "| gain of the addition [95%] | p | p (Holm) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table.to_dict("records"):
        lines.append(
            f"| {r['model']} | {r['removed']} | {r['setting']} | {r['metric']} "
            f"| {r['model_mean']:.4f} | {r['ablation_mean']:.4f} "
            f"| {r['gain']:+.4f} [{r['ci_low']:+.4f}, {r['ci_high']:+.4f}] "
            f"| {r['p_value']:.3g} | {r['p_adj']:.3g} |"
        )
    return "\n".join(lines) + "\n"
