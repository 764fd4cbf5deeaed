"""The per-user values published under ``reported/per_user/``, from which every statistics table
recomputes without the runs (:func:`recrepro.tools.verify.verify_stats`).

For every run: each user's values of the metrics the statistics test (:func:`~recrepro.stats.
pipeline.select_metrics`, relevance variants included), of the per-user metrics the paper's
figures read, and ``n_ratings`` (the weights of pooled RMSE/MAE). One Parquet file per (dataset,
protocol), ``{dataset}/{protocol}.parquet``, and ``stats_config.json``: the complete ``stats``
settings the tables were computed with, the metrics tested and the data files. With
``reported/summary.csv`` (whose means choose each group's best model) that is all
:func:`~recrepro.stats.pipeline.tables_from_frames` needs.

Compact but lossless: run keys are categorical, ``seed`` and ``user`` the smallest integer type
that holds them, a value column float32 only where every value survives the round trip (e.g.
``hit@10``, ``n_ratings``), else float64 (zstd-compressed); :func:`read_published` gives back the
rows and values of :func:`recrepro.stats.collect.load_per_user`, exactly.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recrepro.core.errors import DataError
from recrepro.core.io import atomic_path, read_json, write_json
from recrepro.stats.collect import RUN_KEYS, load_per_user, per_user_columns, run_key
from recrepro.stats.config import StatsConfig

#: Folder of the per-user data inside ``reported/``, and its config file.
FOLDER = "per_user"
CONFIG_FILE = "stats_config.json"
_CATEGORIES = RUN_KEYS[:-1]  # the run group's key
_INTEGERS = ("seed", "user")


def data_path(folder: str | os.PathLike, dataset: str, protocol: str) -> Path:
    """The per-user file of one (dataset, protocol) inside ``folder``."""
    return Path(folder) / dataset / f"{protocol}.parquet"


def publish_per_user(
    per_user_files: Iterable[str | os.PathLike],
    folder: str | os.PathLike,
    config: Mapping[str, Any] | StatsConfig | None = None,
    figure_metrics: Iterable[str] = (),
) -> list[Path]:
    """Write the compact per-user data of the runs (every ``per_user.parquet`` of the study) and
    ``stats_config.json`` into ``folder``; ``figure_metrics`` are kept too where the runs have
    them. Returns the files written."""
    from recrepro.stats.pipeline import select_metrics

    cfg = StatsConfig.from_mapping(config)
    files = sorted(map(str, per_user_files))
    if not files:
        raise DataError("no per_user.parquet files given; run the study first (snakemake)")
    available = per_user_columns(files)
    tested = select_metrics(available, cfg)
    extra = sorted(set(figure_metrics) & set(available) - set(tested))
    frame = load_per_user(files, [*tested, *extra])
    written = []
    for dataset, protocol in sorted({(k.dataset, k.protocol) for k in map(run_key, files)}):
        part = frame[(frame["dataset"] == dataset) & (frame["protocol"] == protocol)]
        written.append(data_path(folder, dataset, protocol))
        with atomic_path(written[-1]) as tmp:
            compact(part).to_parquet(tmp, index=False, compression="zstd")
    written.append(Path(folder) / CONFIG_FILE)
    write_json(written[-1], {
        "stats": asdict(cfg), "metrics": tested, "figure_metrics": extra,
        "files": [p.relative_to(folder).as_posix() for p in written[:-1]],
    })  # fmt: skip
    return written


def read_published(folder: str | os.PathLike, hint: str) -> tuple[pd.DataFrame, StatsConfig]:
    """The per-user frame (as :func:`~recrepro.stats.collect.load_per_user` reads the runs) and
    the stats config of a published folder; ``hint`` says how to restore a missing file."""
    folder = Path(folder)
    record = read_json(folder / CONFIG_FILE, hint)
    frames = []
    for name in record["files"]:
        try:
            frames.append(expand(pd.read_parquet(folder / name)))
        except FileNotFoundError:
            raise DataError(f"{folder / name} not found; {hint}") from None
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot read {folder / name} ({exc}); {hint}") from None
    frame = pd.concat(frames, ignore_index=True)
    missing = [m for m in record["metrics"] if m not in frame.columns]
    if missing:
        raise DataError(f"{folder} lacks the tested metric(s) {', '.join(missing)}; {hint}")
    return frame, StatsConfig.from_mapping(record["stats"])


def compact(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (load_per_user's layout) in its smallest lossless types, rows sorted by run and
    user."""
    out = frame.sort_values([*RUN_KEYS, "user"], kind="mergesort").reset_index(drop=True)
    for column in _CATEGORIES:
        out[column] = out[column].astype("category")
    for column in _INTEGERS:
        out[column] = pd.to_numeric(out[column], downcast="integer")
    for column in out.columns.difference([*RUN_KEYS, "user"]):
        values = out[column].to_numpy(np.float64)
        narrow = values.astype(np.float32)
        if np.array_equal(narrow.astype(np.float64), values, equal_nan=True):
            out[column] = narrow
    return out


def expand(frame: pd.DataFrame) -> pd.DataFrame:
    """The inverse of :func:`compact`: strings, int64 and float64."""
    out = frame.astype({c: str for c in _CATEGORIES} | {c: np.int64 for c in _INTEGERS})
    values = out.columns.difference([*RUN_KEYS, "user"])
    return out.astype({c: np.float64 for c in values})
