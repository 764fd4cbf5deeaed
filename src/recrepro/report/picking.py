"""Which rows and models a figure (and ``numbers.tex``) shows: the main results, the models best
first, and the model of each example figure. Shared by :mod:`recrepro.report.figures` and
:mod:`recrepro.report.pipeline` (the example models' macros), so neither reaches into the other."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from recrepro.report.config import EXAMPLE_FIGURES, PaperConfig
from recrepro.report.data import ReportData, ranking, select
from recrepro.report.style import ModelStyles


def main_results(data: ReportData, cfg: PaperConfig) -> pd.DataFrame:
    """Main dataset/protocol/setting rows of the across-seed summary (means with CIs)."""
    where = {"dataset": cfg.dataset, "protocol": cfg.main_protocol, "setting": cfg.main_setting}
    rows = select(data.summary, **where)
    return rows if len(rows) else rows.assign(ci_low=np.nan, ci_high=np.nan)


def model_preference(data: ReportData, cfg: PaperConfig) -> list[str]:
    """Models best first on the main metric (main dataset, protocol and setting)."""
    where = {"dataset": cfg.dataset, "protocol": cfg.main_protocol, "setting": cfg.main_setting}
    return list(dict.fromkeys(ranking(select(data.summary, **where), cfg.main_metric)["model"]))


def pick_model(preferred: str, candidates: Sequence[str], taken: Sequence[str] = ()) -> str | None:
    """``preferred`` if it has results, else the first of ``candidates`` (in preference order)
    not ``taken`` by another figure, else the first candidate."""
    if preferred in candidates:
        return preferred
    fresh = [m for m in candidates if m not in taken]
    return (fresh or list(candidates) or [None])[0]


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
