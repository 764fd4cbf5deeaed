"""Tuning-budget sensitivity: how good is the incumbent after 1, 2, 4, 8, 16 trials?

Runs after tuning, never inside it: it reads the tuning record (every trial's validation score)
and the first seed's split, test part included. For each budget ``n`` the incumbent is the best
complete trial among the first ``n``; only distinct incumbents are fitted (on ``train``, with
``valid`` for early stopping, as a run does) and evaluated on ``test``. The fit uses the seed of
the first seed's ``tuned`` run, so the final incumbent is that run itself: its ``metrics.json``
is read instead of fitting again when given.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recrepro.io import write_csv
from recrepro.runs import RunKey
from recrepro.tuning import best_of

log = logging.getLogger(__name__)

COLUMNS = ["dataset", "protocol", "model", "trials", "incumbent_trial", "metric", "valid_score",
           "test_ndcg@10", "test_score"]  # fmt: skip


def incumbents(record: dict[str, Any], budgets: Sequence[int]) -> list[tuple[int, dict[str, Any] | None]]:
    """``(n, best trial of the first n)`` for each budget ``n`` up to the trials run (None when no
    trial among them completed)."""
    trials, sign = record["trials"], 1.0 if record["higher_is_better"] else -1.0
    out = []
    for n in sorted(b for b in set(budgets) if b <= len(trials)):
        first = trials[:n]
        best = best_of(first, sign) if any(t["state"] == "complete" for t in first) else None
        out.append((n, None if best is None else trials[best["best_trial"]]))
    return out


def _test_metrics(
    model: str, params: dict[str, Any], split: Any, seed: int, relevance_threshold: float | None
) -> dict[str, float]:
    from recrepro.errors import ModelNotApplicable
    from recrepro.evaluation.evaluate import evaluate
    from recrepro.models.registry import build_model

    instance = build_model(model, params)
    try:
        instance.fit(split.train, split.valid, np.random.default_rng(seed))
    except ModelNotApplicable:
        return {}
    seen = split.train.concat(split.valid)
    return evaluate(
        instance, split.train, split.test, ks=[10], seen=seen,
        relevance_threshold=relevance_threshold,
    ).metrics  # fmt: skip


def budget_table(
    record: dict[str, Any],
    budgets: Sequence[int],
    *,
    first_seed: int,
    data_dir: str | Path,
    split_dir: str | Path,
    final_run: str | Path | None = None,
    relevance_threshold: float | None = None,
) -> pd.DataFrame:
    """One row per budget: the incumbent, its validation score and its test NDCG@10 (and test
    value of the tuning metric), scored like the study's runs (``relevance_threshold``)."""
    from recrepro.runner import load_split, run_seed

    key = RunKey(record["dataset"], record["protocol"], record["model"], "tuned", first_seed)
    chosen = incumbents(record, budgets)
    tested: dict[int, dict[str, float]] = {}
    if final_run and record.get("best_trial") is not None:
        final = json.loads(Path(final_run).read_text(encoding="utf-8"))
        tested[record["best_trial"]] = final.get("metrics", {})
    todo = {t["trial"] for _, t in chosen if t is not None} - set(tested)
    if todo:
        split = load_split(data_dir, split_dir)
        for trial in sorted(todo):
            params = record["trials"][trial]["params"]
            log.info("fitting the incumbent of trial %d for its test score", trial)
            tested[trial] = _test_metrics(
                record["model"], params, split, run_seed(key), relevance_threshold
            )
    metric = record["metric"]
    rows = []
    for n, trial in chosen:
        metrics = tested.get(trial["trial"], {}) if trial else {}
        rows.append({
            "dataset": record["dataset"], "protocol": record["protocol"], "model": record["model"],
            "trials": n, "incumbent_trial": trial["trial"] if trial else None, "metric": metric,
            "valid_score": trial["score"] if trial else None,
            "test_ndcg@10": metrics.get("ndcg@10"), "test_score": metrics.get(metric),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS)


def write_budget(
    out: str | Path, record_path: str | Path, budgets: Sequence[int], **kwargs: Any
) -> pd.DataFrame:
    """:func:`budget_table` of the tuning record at ``record_path``, written to ``out`` (CSV)."""
    record = json.loads(Path(record_path).read_text(encoding="utf-8"))
    table = budget_table(record, budgets, **kwargs)
    write_csv(out, table)
    return table


def collect_budgets(paths: Sequence[str | Path]) -> pd.DataFrame:
    """The per-model budget tables as one table (``results/tuning/budget.csv``)."""
    frames = [pd.read_csv(p) for p in paths]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
