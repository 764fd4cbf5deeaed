"""The figure data's inputs published under ``reported/`` (``snakemake publish_reported``), from
which every figure-data table recomputes without the runs (:func:`recompute`, ``recrepro verify
--stats``).

The figure data (:mod:`recrepro.report.figdata`) read the runs of the paper's dataset, main
protocol and main setting. What they read that ``reported/per_user/`` lacks is in
``reported/figure_inputs/``:

* ``histories.parquet``: every run's ``history.csv``, in run order: columns ``model``, ``seed`` and
  the union of the histories' columns;
* ``topk.parquet``: of every run's top-K list the rows the figure data read
  (:func:`~recrepro.report.figdata.figure_rows`: each user's top ``paper.popularity_k`` and the
  example user's whole list), ``model`` categorical, ``seed``, ``user``, ``rank`` and ``item`` in
  their smallest integer types, ``score`` only on the example user's rows (null elsewhere), zstd;
* ``figure_config.json``: the settings (:func:`~recrepro.report.figdata.figure_settings`) and the
  runs in the ``figure_data`` rule's order, each with its history's columns and the per-user
  metrics its file has.

The per-user values come from ``reported/per_user/`` (:mod:`recrepro.stats.published`, which keeps
the figures' metrics beside the tested ones). The ratings and the movie titles are never
published (the MovieLens licence forbids redistribution): they are read from the user's own copy
of the dataset as ``prepare_data`` reads it (:func:`recrepro.data.movielens.locate`:
``RECREPRO_DATA_DIR``, else ``data_dir``, else the download cache). ``reported/figdata/`` holds the
figure-data tables the paper was drawn from, to compare with.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from recrepro.core.errors import DataError
from recrepro.core.io import atomic_path, read_json, write_json
from recrepro.core.layout import RunKey, parse_run_path
from recrepro.report.figdata import figure_rows, figure_tables, read_table
from recrepro.report.registry import FIGDATA

#: Folder of the figure data's inputs inside ``reported/``, its files, and the folder of the
#: published figure-data tables (``registry.FIGDATA``'s file names).
FOLDER = "figure_inputs"
CONFIG_FILE = "figure_config.json"
HISTORIES = "histories.parquet"
TOPK = "topk.parquet"
TABLES_FOLDER = "figdata"
SETTINGS = ("dataset", "protocol", "setting", "per_user_metrics", "example_user", "popularity_k")
#: The columns of a run's ``topk.parquet`` (``recrepro.study.runner``), the integer ones first.
_TOPK_INTEGERS = ("user", "rank", "item")
_TOPK_COLUMNS = (*_TOPK_INTEGERS, "score")
#: Each figure-data table's key, by which both sides are sorted before they are compared.
KEYS = {
    "history": ("model", "seed", "epoch"),
    "per_user": ("model", "seed", "user", "metric"),
    "popularity": ("model", "item"),
    "example_user": ("model", "seed", "rank"),
    "overlap": ("model",),
}


def _key(path: str | os.PathLike) -> RunKey:
    try:
        return parse_run_path(path)
    except ValueError:
        raise DataError(f"{path} is not inside a run folder; pass the runs' files") from None


def publish_figure_inputs(
    history_paths: Sequence[str | os.PathLike],
    topk_paths: Sequence[str | os.PathLike],
    per_user_paths: Iterable[str | os.PathLike],
    settings: Mapping[str, Any],
    folder: str | os.PathLike,
) -> list[Path]:
    """Write ``histories.parquet``, ``topk.parquet`` and ``figure_config.json`` into ``folder``
    from the runs the ``figure_data`` rule read (``history_paths`` and ``topk_paths`` in its
    order; ``per_user_paths`` may list more runs). Returns the files written."""
    missing = [name for name in SETTINGS if name not in settings]
    if missing:
        raise DataError(f"the figure settings lack {', '.join(missing)}; pass figdata.figure_settings()")
    settings = {name: settings[name] for name in SETTINGS}
    runs = [_key(path) for path in topk_paths]
    if [_key(path) for path in history_paths] != runs:
        raise DataError("the history and top-K files are not of the same runs in the same order")
    where = (settings["dataset"], settings["protocol"], settings["setting"])
    other = [run for run in runs if (run.dataset, run.protocol, run.setting) != where]
    if other:
        raise DataError(f"{other[0].path()} is not a run of {'/'.join(where)}, the figures' runs")
    per_user = {_key(path): Path(path) for path in per_user_paths}
    k, user = int(settings["popularity_k"]), int(settings["example_user"])
    records, histories, tops = [], [], []
    for run, history_path, topk_path in zip(runs, history_paths, topk_paths, strict=True):
        if run not in per_user:
            raise DataError(f"no per_user.parquet of {run.path()} given; pass every run's file")
        history = read_table(Path(history_path))
        metrics = [m for m in settings["per_user_metrics"] if m in _columns(per_user[run])]
        records.append({"model": run.model, "seed": run.seed, "history": [str(c) for c in history.columns],
                        "per_user": metrics})  # fmt: skip
        if len(history):
            histories.append(history.assign(model=run.model, seed=run.seed))
        topk = read_table(Path(topk_path))
        lacking = [c for c in _TOPK_COLUMNS if c not in topk.columns]
        if lacking:
            raise DataError(f"{topk_path} lacks column(s) {', '.join(lacking)}; rerun the run")
        rows = figure_rows(topk[list(_TOPK_COLUMNS)], k, user)
        tops.append(rows.assign(model=run.model, seed=run.seed))
    models = list(dict.fromkeys(run.model for run in runs))
    folder = Path(folder)
    written = [folder / HISTORIES, folder / TOPK, folder / CONFIG_FILE]
    _write(written[0], _compact(_first(histories, ["model", "seed"]), models, ()))
    top = _first(tops, ["model", "seed", *_TOPK_COLUMNS])
    top["score"] = top["score"].where(top["user"] == user)  # the example user's scores only
    _write(written[1], _compact(top, models, _TOPK_INTEGERS))
    write_json(written[2], {"settings": settings, "runs": records, "files": [HISTORIES, TOPK]})
    return written


def _columns(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    try:
        return list(pq.read_schema(path).names)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {path} ({exc}); re-run the run that wrote it") from None


def _first(frames: list[pd.DataFrame], first: list[str]) -> pd.DataFrame:
    """The frames concatenated, ``first`` columns first."""
    if not frames:
        return pd.DataFrame(columns=first)
    frame = pd.concat(frames, ignore_index=True)
    return frame[first + [c for c in frame.columns if c not in first]]


def _compact(frame: pd.DataFrame, models: list[str], integers: Iterable[str]) -> pd.DataFrame:
    """``model`` categorical (in run order), ``seed`` and ``integers`` in their smallest type."""
    out = frame.assign(model=pd.Categorical(frame["model"].astype(str), categories=models))
    for column in ("seed", *integers):
        out[column] = pd.to_numeric(out[column], downcast="integer")
    return out


def _write(path: Path, frame: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False, compression="zstd")


@dataclass(frozen=True)
class FigureInputs:
    """The published figure inputs (:func:`read_figure_inputs`)."""

    settings: dict[str, Any]
    runs: list[dict[str, Any]]  # model, seed, history (columns), per_user (metrics), in run order
    histories: pd.DataFrame
    topk: pd.DataFrame


def read_figure_inputs(folder: str | os.PathLike, hint: str) -> FigureInputs:
    """The figure inputs published in ``folder``; ``hint`` says how to restore a missing file."""
    folder = Path(folder)
    record = read_json(folder / CONFIG_FILE, hint)
    frames = []
    for name in (HISTORIES, TOPK):
        try:
            frames.append(pd.read_parquet(folder / name))
        except FileNotFoundError:
            raise DataError(f"{folder / name} not found; {hint}") from None
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot read {folder / name} ({exc}); {hint}") from None
    histories, topk = frames
    lacking = [c for c in ("model", "seed", *_TOPK_COLUMNS) if c not in topk.columns]
    if lacking or "model" not in histories.columns:
        raise DataError(f"{folder} is not a complete figure_inputs folder; {hint}")
    # the runs' own types (recrepro.study.runner.TOPK_COLUMNS): int64 ids and ranks
    topk = topk.astype({"model": str, "seed": "int64", **{c: "int64" for c in _TOPK_INTEGERS}})
    histories = histories.astype({"model": str})
    return FigureInputs(record["settings"], record["runs"], histories, topk)


def _by_run(frame: pd.DataFrame) -> dict[tuple[str, int], pd.DataFrame]:
    if frame.empty:
        return {}
    groups = frame.groupby(["model", "seed"], sort=False)
    return {(str(model), int(seed)): part for (model, seed), part in groups}


def raw_tables(
    dataset: str, data_dir: str | os.PathLike | None, cache_dir: str | os.PathLike
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ratings and items tables of ``dataset``, located, verified and parsed as
    ``prepare_data`` does (``RECREPRO_DATA_DIR`` wins over ``data_dir``)."""
    from recrepro.data.movielens import load_tables, locate

    tables = load_tables(dataset, locate(dataset, data_dir or None, cache_dir))
    return tables["ratings"], tables["items"]


def recompute(
    reported: str | os.PathLike,
    per_user: pd.DataFrame,
    hint: str,
    data_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike = "data/raw",
    tables: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> dict[str, pd.DataFrame]:
    """Every figure-data table from ``reported/figure_inputs/``, ``per_user`` (the per-user
    values of ``reported/per_user/``, :func:`recrepro.stats.published.read_published`) and the
    dataset's ratings and items (``tables``, else :func:`raw_tables`)."""
    inputs = read_figure_inputs(Path(reported) / FOLDER, hint)
    settings = inputs.settings
    where = (per_user["dataset"] == settings["dataset"]) & (per_user["protocol"] == settings["protocol"])
    values = _by_run(per_user[where & (per_user["setting"] == settings["setting"])])
    histories, topk = _by_run(inputs.histories), _by_run(inputs.topk)
    history_runs: list[tuple[str, int, pd.DataFrame]] = []
    per_user_runs: list[tuple[str, int, pd.DataFrame]] = []
    topk_runs: list[tuple[str, int, pd.DataFrame]] = []
    empty_topk = inputs.topk.iloc[0:0]
    for run in inputs.runs:
        model, seed = str(run["model"]), int(run["seed"])
        history = _part(histories, model, seed, inputs.histories, run["history"], hint)
        history_runs.append((model, seed, history))
        metrics = ["user", *run["per_user"]]
        per_user_runs.append((model, seed, _part(values, model, seed, per_user, metrics, hint)))
        top = topk.get((model, seed), empty_topk)[list(_TOPK_COLUMNS)].reset_index(drop=True)
        topk_runs.append((model, seed, top))
    ratings, items = tables if tables is not None else raw_tables(settings["dataset"], data_dir, cache_dir)
    return figure_tables(
        histories=iter(history_runs),
        per_user=iter(per_user_runs),
        topk=iter(topk_runs),
        ratings=ratings,
        items=items,
        per_user_metrics=settings["per_user_metrics"],
        example_user=int(settings["example_user"]),
        popularity_k=int(settings["popularity_k"]),
    )


def _part(
    groups: Mapping[tuple[str, int], pd.DataFrame],
    model: str,
    seed: int,
    whole: pd.DataFrame,
    columns: list[str],
    hint: str,
) -> pd.DataFrame:
    """One run's rows of ``whole`` (grouped in ``groups``), its own ``columns`` only; no rows
    (a run the model refused) give an empty frame."""
    if (model, seed) not in groups:
        return pd.DataFrame(columns=columns)
    lacking = [c for c in columns if c not in whole.columns]
    if lacking:
        raise DataError(f"the published data lack {', '.join(lacking)} of run {model}/seed{seed}; {hint}")
    return groups[model, seed][columns].reset_index(drop=True)


def table_path(reported: str | os.PathLike, name: str) -> Path:
    """The published figure-data table ``name`` (a key of ``registry.FIGDATA``)."""
    return Path(reported) / TABLES_FOLDER / FIGDATA[name]
