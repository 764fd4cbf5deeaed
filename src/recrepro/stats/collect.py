"""Read run outputs into tidy frames: aggregate metrics per run, per-user metrics per model.

Run keys come from the file paths (``results/runs/{dataset}/{protocol}/{model}/{setting}/
seed{seed}/...``), never from the file contents, so a moved file cannot masquerade as another run.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from recrepro.errors import DataError
from recrepro.evaluation import catalogue
from recrepro.runs import RunKey, parse_run_path

RUN_KEYS = ("dataset", "protocol", "model", "setting", "seed")
#: Per-user column holding the user's number of test ratings (weights of pooled metrics).
WEIGHT = "n_ratings"
#: One group of comparisons: the models compared share these (and the metric).
GROUP_KEYS = ("dataset", "protocol", "setting")


def run_key(path: str | Path) -> RunKey:
    """The run a file belongs to; a :class:`DataError` if the path is not inside a run folder."""
    try:
        return parse_run_path(path)
    except ValueError:
        raise DataError(
            f"{path} is not inside a run folder results/runs/{{dataset}}/{{protocol}}/{{model}}/"
            "{setting}/seed{seed}/; pass the runner's output files"
        ) from None


def load_metrics(paths: Iterable[str | Path]) -> pd.DataFrame:
    """Tidy aggregate metrics: one row per (run, metric) with columns RUN_KEYS + metric, value."""
    rows = []
    for path in sorted(map(str, paths)):
        key = run_key(path).as_dict()
        metrics = _read_json(path).get("metrics")
        if not isinstance(metrics, dict):
            raise DataError(f"{path} has no 'metrics' object; re-run the run that wrote it")
        for name, value in sorted(metrics.items()):
            if _is_real(value):
                rows.append({**key, "metric": name, "value": float(value)})
    return pd.DataFrame(rows, columns=[*RUN_KEYS, "metric", "value"])


def per_user_columns(paths: Iterable[str | Path]) -> list[str]:
    """The metric columns found in any of the per-user files (sorted)."""
    import pyarrow.parquet as pq

    names: set[str] = set()
    for path in paths:
        try:
            names.update(pq.read_schema(path).names)
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot read {path} ({exc}); re-run the run that wrote it") from None
    names.discard("user")
    names.discard(WEIGHT)
    names.discard("n_relevant")
    return sorted(names)


def load_per_user(paths: Iterable[str | Path], metrics: Sequence[str]) -> pd.DataFrame:
    """Per-user metrics of every run: RUN_KEYS + user + the ``metrics`` columns the files have."""
    frames = [_read_per_user(path, metrics) for path in sorted(map(str, paths))]
    if not frames:
        return pd.DataFrame(columns=[*RUN_KEYS, "user", *metrics])
    frame = pd.concat(frames, ignore_index=True)
    extra = [WEIGHT] if WEIGHT in frame.columns else []
    return frame.reindex(columns=[*RUN_KEYS, "user", *metrics, *extra])


def to_units(per_user: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """Per-seed per-user values turned into the paired tests' units (pooled metrics: the user's
    summed errors, see :func:`recrepro.stats.paired.units`) plus a ``weight`` column (the user's
    test ratings for pooled metrics' denominators; 1 where the files have no ``n_ratings``)."""
    from recrepro.stats.paired import units

    out = per_user.copy()
    n = out[WEIGHT].to_numpy(np.float64) if WEIGHT in out.columns else None
    for metric in metrics:
        spec = catalogue.parse(metric).spec
        if spec is not None and spec.aggregate != "mean":
            out[metric] = units(metric, out[metric].to_numpy(np.float64), n)
    out["weight"] = n if n is not None else 1.0
    out["weight"] = out["weight"].fillna(1.0)
    return out


def model_seeds(per_user: pd.DataFrame) -> dict[tuple, frozenset[int]]:
    """(dataset, protocol, setting, model) -> the seeds with a per-user file."""
    keys = [*GROUP_KEYS, "model"]
    return {
        tuple(key): frozenset(int(s) for s in seeds)
        for key, seeds in per_user.groupby(keys, sort=True)["seed"].unique().items()
    }


def user_means(per_user: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """Each user's values averaged over the model's seeds, one row per model x user.

    A user missing (or NaN) in any of the model's seeds gets NaN for that metric, so a pair of
    models is compared on users evaluated in every seed of both.
    """
    keys = [*GROUP_KEYS, "model", "user"]
    columns = [c for c in [*metrics, "weight"] if c in per_user.columns]
    grouped = per_user.groupby(keys, sort=True)[columns]
    means, counts = grouped.mean(), grouped.count()
    n_seeds = per_user.groupby([*GROUP_KEYS, "model"])["seed"].nunique()
    expected = n_seeds.reindex(means.index.droplevel("user")).to_numpy()
    means = means.where(counts.to_numpy() == expected[:, None])
    return means.reset_index()


def metric_matrix(means: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Users x models table of one metric for one group; models without the metric are dropped."""
    wide = means.pivot(index="user", columns="model", values=metric)
    wide = wide.dropna(axis="columns", how="all").sort_index(axis="columns")
    wide.columns.name = None
    return wide


def _read_per_user(path: str, metrics: Sequence[str]) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {path} ({exc}); re-run the run that wrote it") from None
    if "user" not in frame.columns:
        raise DataError(f"{path} has no 'user' column; re-run the run that wrote it")
    if frame["user"].duplicated().any():
        raise DataError(f"{path} lists a user twice; re-run the run that wrote it")
    present = [m for m in [*metrics, WEIGHT] if m in frame.columns]
    frame = frame[["user", *present]].astype({m: "float64" for m in present})
    return frame.assign(**run_key(path).as_dict())


def _read_json(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"cannot read {path} ({exc}); re-run the run that wrote it") from None
    if not isinstance(data, dict):
        raise DataError(f"{path} is not a JSON object; re-run the run that wrote it")
    return data


def _is_real(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
