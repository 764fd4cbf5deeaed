"""Read run outputs into tidy frames: aggregate metrics per run, per-user metrics per model.

Run keys come from the file paths (``results/runs/{dataset}/{protocol}/{model}/{setting}/
seed{seed}/...``), never from the file contents, so a moved file cannot masquerade as another run.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from recrepro.core.errors import DataError
from recrepro.core.layout import RUN_DIR_HELP, RUN_KEY, RunKey, parse_run_path

RUN_KEYS = RUN_KEY
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
            f"{path} is not inside a run folder ({RUN_DIR_HELP}); pass the runner's output files"
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


def model_seeds(per_user: pd.DataFrame) -> dict[tuple, frozenset[int]]:
    """(dataset, protocol, setting, model) -> the seeds with a per-user file."""
    keys = [*GROUP_KEYS, "model"]
    return {
        tuple(key): frozenset(int(s) for s in seeds)
        for key, seeds in per_user.groupby(keys, sort=True)["seed"].unique().items()
    }


def run_matrices(
    frame: pd.DataFrame, column: str, seeds: Mapping[str, frozenset[int]]
) -> dict[str, pd.DataFrame]:
    """model -> users x seeds table of ``column`` (seeds ascending: the model's ``seeds``) for
    one group's per-user rows; models without any value of ``column`` are left out."""
    if column not in frame.columns:
        return {}
    wide = frame.set_index(["model", "user", "seed"])[column].unstack("seed")
    out = {}
    for model, part in wide.groupby(level="model", sort=True):
        table = part.droplevel("model").reindex(columns=sorted(seeds[model]))
        if table.notna().to_numpy().any():
            out[str(model)] = table
    return out


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
