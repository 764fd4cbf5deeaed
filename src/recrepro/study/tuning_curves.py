"""How the searches converge: the incumbent after n trials of every search replicate, and the
plateau rule that says whether the budget was enough.

Reads the tuning records only (validation scores; nothing here fits a model), plus the tuned
runs' ``metrics.json`` for the test value of each replicate's final incumbent (those runs are
``train_and_evaluate`` jobs, downstream of tuning; tuning itself never reads a test part).

**Plateau rule.** For one (dataset, protocol, model) with ``R`` search replicates (one per seed)
of ``T`` trials, let ``best_r(n)`` be replicate ``r``'s best validation score among its first
``n`` trials, oriented so that larger is better. The *remaining gain* after ``n`` trials is
``gain(n) = mean_r(best_r(T) - best_r(n))``. The *noise* of a tuned result is the larger of two
spreads over the seeds (standard deviations, ddof 1): of the replicates' final validation scores
``best_r(T)`` (``valid_sd``: the luck of the search as the search sees it), and of the tuned
runs' test values of the same metric (``tuned_test_sd``: the spread the statistics carry, which
contains the search's luck; on the temporal protocols every seed has the same split, so the
validation spread alone is only the search's luck on the very set it maximises). The search
plateaus after ``trials_to_plateau``, the smallest ``n`` from which ``gain(m) <= noise`` for
every ``m >= n``; it **converged** when that is at most ``T / 2``: doubling the budget from half
bought less than the spread a tuned result already has. ``converged_valid`` applies the same rule
with ``valid_sd`` alone (the stricter reading). With a single replicate the rule is undefined.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recrepro.core.io import write_csv
from recrepro.core.layout import parse_run_path
from recrepro.study.tuning import COMPLETE

CURVE_COLUMNS = ["dataset", "protocol", "model", "replicate", "metric", "higher_is_better",
                 "trials", "incumbent_trial", "valid_score"]  # fmt: skip
CONVERGENCE_COLUMNS = [
    "dataset", "protocol", "model", "metric", "higher_is_better", "budget", "replicates",
    "searched", "final_mean", "valid_sd", "tuned_test_sd", "noise", "gain_half",
    "trials_to_plateau", "converged", "trials_to_plateau_valid", "converged_valid",
    "epochs_per_trial", "pruned_share", "distinct_winners", "search_cpu_mean", "search_cpu_total",
    "test_metric", "test_mean", "test_sd",
]


def read_records(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    """The tuning records at ``paths`` (JSON), in path order."""
    return [json.loads(Path(p).read_text(encoding="utf-8")) for p in sorted(map(str, paths))]


def incumbent_curve(record: dict[str, Any]) -> list[tuple[int, int | None, float]]:
    """``(n, incumbent trial, its validation score)`` for n = 1 .. trials run (NaN and None
    while no trial has completed); ties keep the earlier trial."""
    sign = 1.0 if record["higher_is_better"] else -1.0
    best: tuple[float, int] | None = None
    out = []
    for n, trial in enumerate(record["trials"], start=1):
        if trial["state"] == COMPLETE and (best is None or sign * trial["score"] > sign * best[0]):
            best = (float(trial["score"]), int(trial["trial"]))
        out.append((n, None if best is None else best[1], math.nan if best is None else best[0]))
    return out


def curves(records: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per (search, n): the incumbent after n trials."""
    rows = [
        {"dataset": r["dataset"], "protocol": r["protocol"], "model": r["model"],
         "replicate": r.get("replicate", 1), "metric": r["metric"],
         "higher_is_better": r["higher_is_better"], "trials": n, "incumbent_trial": trial,
         "valid_score": score}
        for r in records for n, trial, score in incumbent_curve(r)
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=CURVE_COLUMNS)


def plateau(best: np.ndarray, floor: float = 0.0) -> tuple[float, float, int | None]:
    """``(gain_half, noise, trials_to_plateau)`` of a replicates x trials matrix of oriented
    incumbent scores (see the module docstring): the noise is the replicates' final spread, or
    ``floor`` if larger; None trials with fewer than 2 replicates."""
    best = np.asarray(best, dtype=np.float64)
    n_reps, budget = best.shape
    gain = np.nanmean(best[:, -1:] - best, axis=0)  # gain(n) for n = 1 .. T
    half = max(1, budget // 2)
    if n_reps < 2:
        return float(gain[half - 1]), math.nan, None
    noise = max(float(np.std(best[:, -1], ddof=1)), float(np.nan_to_num(floor)))
    ok = np.nan_to_num(gain, nan=math.inf) <= noise + 1e-12 * max(1.0, abs(noise))
    # the smallest n from which every later gain is within the noise
    tail_ok = np.logical_and.accumulate(ok[::-1])[::-1]
    return float(gain[half - 1]), noise, int(np.argmax(tail_ok)) + 1


def _searched(record: dict[str, Any]) -> bool:
    """True when the search had more than one distinct point to try."""
    return len({json.dumps(t["params"], sort_keys=True, default=str) for t in record["trials"]}) > 1


def convergence(
    records: Sequence[dict[str, Any]], tuned: pd.DataFrame | None = None, main_metric: str | None = None
) -> pd.DataFrame:
    """Per (dataset, protocol, model): the plateau rule, pruning, CPU of a search, and the
    replicate spread of the tuned runs' test ``main_metric`` (``tuned``: dataset, protocol,
    model, seed, metric, value; the workflow passes the paper's main metric, and without one each
    search's own tuning metric is read)."""
    rows = []
    grouped: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for record in records:
        grouped.setdefault((record["dataset"], record["protocol"], record["model"]), []).append(record)
    for (dataset, protocol, model), reps in sorted(grouped.items()):
        sign = 1.0 if reps[0]["higher_is_better"] else -1.0
        budget = min(len(r["trials"]) for r in reps)
        best = np.array([[s for _, _, s in incumbent_curve(r)][:budget] for r in reps]) * sign
        tuned_sd = _sd(_test_values(tuned, dataset, protocol, model, reps[0]["metric"]))
        gain_half, valid_sd, to_plateau_valid = plateau(best)
        _, noise, to_plateau = plateau(best, floor=tuned_sd)
        fitted = [t for r in reps for t in r["trials"] if "duplicate_of" not in t]
        test_metric = main_metric or reps[0]["metric"]
        test = _test_values(tuned, dataset, protocol, model, test_metric)
        rows.append({
            "dataset": dataset, "protocol": protocol, "model": model, "metric": reps[0]["metric"],
            "higher_is_better": sign > 0, "budget": budget, "replicates": len(reps),
            "searched": any(_searched(r) for r in reps),
            "final_mean": float(np.nanmean(sign * best[:, -1])), "valid_sd": valid_sd,
            "tuned_test_sd": tuned_sd, "noise": noise, "gain_half": gain_half,
            "trials_to_plateau": to_plateau, "converged": _converged(to_plateau, budget),
            "trials_to_plateau_valid": to_plateau_valid,
            "converged_valid": _converged(to_plateau_valid, budget),
            "epochs_per_trial": _mean([len(t["intermediate"]) for t in fitted]),
            "pruned_share": _mean([t["state"] == "pruned" for t in fitted]),
            "distinct_winners": len({json.dumps(r["params"], sort_keys=True, default=str) for r in reps}),
            "search_cpu_mean": float(np.mean([_cpu(r) for r in reps])),
            "search_cpu_total": float(np.sum([_cpu(r) for r in reps])),
            "test_metric": test_metric,
            "test_mean": float(np.mean(test)) if len(test) else math.nan,
            "test_sd": _sd(test),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=CONVERGENCE_COLUMNS)


def _converged(to_plateau: int | None, budget: int) -> bool | None:
    return None if to_plateau is None else bool(to_plateau <= max(1, budget // 2))


def _sd(values: np.ndarray) -> float:
    return float(np.std(values, ddof=1)) if len(values) > 1 else math.nan


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if len(values) else math.nan


def _cpu(record: dict[str, Any]) -> float:
    return float(record.get("cpu_seconds", sum(t.get("cpu_seconds", 0.0) for t in record["trials"])))


def _test_values(
    tuned: pd.DataFrame | None, dataset: str, protocol: str, model: str, metric: str
) -> np.ndarray:
    if tuned is None or tuned.empty:
        return np.array([])
    hit = tuned[(tuned["dataset"] == dataset) & (tuned["protocol"] == protocol)
                & (tuned["model"] == model) & (tuned["metric"] == metric)]  # fmt: skip
    return hit["value"].to_numpy(np.float64)


def tuned_metrics(paths: Iterable[str | Path]) -> pd.DataFrame:
    """dataset, protocol, model, seed, metric, value of the tuned runs' ``metrics.json``."""
    rows = []
    for path in paths:
        key = parse_run_path(path)
        metrics = json.loads(Path(path).read_text(encoding="utf-8")).get("metrics") or {}
        rows += [{"dataset": key.dataset, "protocol": key.protocol, "model": key.model,
                  "seed": key.seed, "metric": m, "value": float(v)}
                 for m, v in metrics.items() if isinstance(v, int | float)]  # fmt: skip
    return pd.DataFrame(rows, columns=["dataset", "protocol", "model", "seed", "metric", "value"])


def write_curves(
    records: Iterable[str | Path], *, curves_out: str | Path, convergence_out: str | Path,
    tuned_runs: Iterable[str | Path] = (), main_metric: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Write the curves and convergence tables (CSV) of the tuning records."""
    loaded = read_records(records)
    table, summary = curves(loaded), convergence(loaded, tuned_metrics(tuned_runs), main_metric)
    write_csv(curves_out, table)
    write_csv(convergence_out, summary)
    return table, summary
