"""Figure data: the compute half of the figures. Gathers per-run files (history, per-user
metrics, top-K lists) into small tidy tables that the plotting half reads; nothing here trains
or plots.

:func:`figure_tables` computes every table from the runs' frames, ``(model, seed, frame)`` in
run order, however they were read: from the run folders (:func:`write_figure_data`, the
``figure_data`` rule) or from the compact copies under ``reported/``
(:mod:`recrepro.report.published`, ``recrepro verify --stats``). Of the top-K lists it reads only
:func:`figure_rows`: every user's top ``popularity_k`` and the example user's whole list.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recrepro.core.errors import DataError
from recrepro.core.io import write_csv, write_parquet
from recrepro.core.layout import parse_run_path

#: One run's frame: ``(model, seed, frame)``.
Runs = Iterable[tuple[str, int, pd.DataFrame]]


def figure_settings(cfg: Any) -> dict[str, Any]:
    """What the figure data depend on besides the runs, from a
    :class:`~recrepro.report.config.PaperConfig`: the runs' dataset, protocol and setting, the
    per-user metrics kept, the example user and the K of the popularity and overlap tables."""
    return {
        "dataset": cfg.dataset,
        "protocol": cfg.main_protocol,
        "setting": cfg.main_setting,
        "per_user_metrics": list(dict.fromkeys([cfg.distribution_metric, *cfg.headline_metrics])),
        "example_user": int(cfg.example_user),
        "popularity_k": int(cfg.popularity_k),
    }


def read_table(path: Path) -> pd.DataFrame:
    """A run file (Parquet, or CSV: an empty one gives an empty frame); a DataError if missing."""
    if not path.is_file():
        raise DataError(f"{path} is missing; rerun the run that writes it")
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def _tagged(paths: Iterable[str | os.PathLike]) -> Iterable[tuple[str, int, pd.DataFrame]]:
    """``(model, seed, frame)`` for each run file."""
    for path in paths:
        key = parse_run_path(path)
        yield key.model, key.seed, read_table(Path(path))


def collect_history(paths: Iterable[str | os.PathLike]) -> pd.DataFrame:
    """All training histories: model, seed, epoch, loss and any other per-epoch values."""
    return history_table(_tagged(paths))


def history_table(runs: Runs) -> pd.DataFrame:
    """:func:`collect_history` of the runs' history frames."""
    frames = [f.assign(model=m, seed=s) for m, s, f in runs if len(f) and "epoch" in f]
    if not frames:
        return pd.DataFrame(columns=["model", "seed", "epoch", "loss"])
    frame = pd.concat(frames, ignore_index=True)
    first = ["model", "seed", "epoch"]
    return frame[first + [c for c in frame.columns if c not in first]]


def collect_per_user(paths: Iterable[str | os.PathLike], metrics: Sequence[str]) -> pd.DataFrame:
    """Per-user values of ``metrics`` (where a run has them): model, seed, user, metric, value."""
    return per_user_table(_tagged(paths), metrics)


def per_user_table(runs: Runs, metrics: Sequence[str]) -> pd.DataFrame:
    """:func:`collect_per_user` of the runs' per-user frames."""
    frames = []
    for model, seed, frame in runs:
        present = [m for m in metrics if m in frame.columns]
        if present:
            long = frame.melt(id_vars="user", value_vars=present, var_name="metric")
            frames.append(long.assign(model=model, seed=seed))
    if not frames:
        return pd.DataFrame(columns=["model", "seed", "user", "metric", "value"])
    return pd.concat(frames, ignore_index=True)[["model", "seed", "user", "metric", "value"]]


def scan_topk(
    topk_paths: Iterable[str | os.PathLike], k: int, user: int
) -> tuple[dict[str, list[pd.Series]], list[pd.DataFrame], pd.DataFrame]:
    """One pass over the top-K files: per model, each seed's share of users who get each item
    in their top ``k``; every run's list for ``user``; and how much the top-``k`` lists of each
    pair of seeds overlap (:func:`seed_overlap`)."""
    return scan_runs(_tagged(topk_paths), k, user)


def figure_rows(topk: pd.DataFrame, k: int, user: int) -> pd.DataFrame:
    """The rows of a top-K list that :func:`scan_runs` reads: every user's top ``k`` and the
    whole list of ``user`` (the example user)."""
    return topk[(topk["rank"] <= k) | (topk["user"] == user)]


def scan_runs(
    runs: Runs, k: int, user: int
) -> tuple[dict[str, list[pd.Series]], list[pd.DataFrame], pd.DataFrame]:
    """:func:`scan_topk` of the runs' top-K frames."""
    shares: dict[str, list[pd.Series]] = {}
    lists: dict[str, dict[int, pd.Series]] = {}
    examples = []
    for model, seed, topk in runs:
        top = topk[topk["rank"] <= k]
        shares.setdefault(model, []).append(
            top.groupby("item").size() / max(top["user"].nunique(), 1)
        )
        lists.setdefault(model, {})[seed] = top.groupby("user")["item"].agg(frozenset)
        rows = topk[topk["user"] == user]
        if len(rows):
            examples.append(rows.assign(model=model, seed=seed))
    return shares, examples, seed_overlap(lists, k)


def seed_overlap(lists: dict[str, dict[int, pd.Series]], k: int) -> pd.DataFrame:
    """Per model: mean over users of |A ∩ B| / k for the top-``k`` sets A, B of two seeds, averaged
    over seed pairs (``overlap``), with the s.d. over pairs; models with one seed are left out."""
    rows = []
    for model, by_seed in lists.items():
        seeds = sorted(by_seed)
        pairs = [(a, b) for i, a in enumerate(seeds) for b in seeds[i + 1 :]]
        values = []
        for a, b in pairs:
            left, right = by_seed[a].align(by_seed[b], join="inner")
            shared = [len(x & y) / k for x, y in zip(left, right, strict=True)]
            if shared:
                values.append(float(np.mean(shared)))
        if values:
            sd = float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")
            rows.append((model, float(np.mean(values)), sd, len(values)))
    return pd.DataFrame(rows, columns=["model", "overlap", "overlap_sd", "n_pairs"])


def popularity_profile(shares: dict[str, list[pd.Series]], ratings: pd.DataFrame) -> pd.DataFrame:
    """How often each item is recommended against its popularity.

    One row per (model, item): the item's rating count (``popularity``), its popularity rank
    (1 = most rated) and ``rec_share``, the fraction of evaluated users who get the item in their
    top K, averaged over seeds. Model ``data`` holds each item's share of all ratings.
    """
    counts = ratings.groupby("item").size().sort_values(ascending=False, kind="stable")
    ranks = pd.Series(np.arange(1, len(counts) + 1), index=counts.index)
    frames = [_profile("data", counts / counts.sum(), counts, ranks)]
    for model, per_seed in shares.items():
        mean = pd.concat(per_seed, axis=1).fillna(0.0).mean(axis=1)
        frames.append(_profile(model, mean, counts, ranks))
    return pd.concat(frames, ignore_index=True)


def _profile(model: str, share: pd.Series, counts: pd.Series, ranks: pd.Series) -> pd.DataFrame:
    share = share.reindex(counts.index, fill_value=0.0)
    return pd.DataFrame(
        {
            "model": model,
            "item": counts.index.to_numpy(),
            "popularity": counts.to_numpy(),
            "popularity_rank": ranks.to_numpy(),
            "rec_share": share.to_numpy(dtype=float),
        }
    )


def example_user_lists(examples: list[pd.DataFrame], items: pd.DataFrame) -> pd.DataFrame:
    """The example user's lists with titles: model, seed, rank, item, title, score."""
    columns = ["model", "seed", "rank", "item", "title", "score"]
    if not examples:
        return pd.DataFrame(columns=columns)
    frame = pd.concat(examples, ignore_index=True)
    titles = items.set_index("item_id")["title"]
    frame["title"] = frame["item"].map(titles).fillna(frame["item"].astype(str))
    return frame[columns].sort_values(["model", "seed", "rank"], kind="stable")


def figure_tables(
    *,
    histories: Runs,
    per_user: Runs,
    topk: Runs,
    ratings: pd.DataFrame,
    items: pd.DataFrame,
    per_user_metrics: Sequence[str],
    example_user: int,
    popularity_k: int,
) -> dict[str, pd.DataFrame]:
    """The figure-data tables (:data:`recrepro.report.registry.FIGDATA`'s names) of the runs."""
    shares, examples, overlap = scan_runs(topk, popularity_k, example_user)
    return {
        "history": history_table(histories),
        "per_user": per_user_table(per_user, per_user_metrics),
        "popularity": popularity_profile(shares, ratings),
        "example_user": example_user_lists(examples, items),
        "overlap": overlap,
    }


def write_table(path: str | os.PathLike, frame: pd.DataFrame) -> None:
    """A figure-data table as the ``figure_data`` rule writes it (Parquet or CSV, by suffix)."""
    (write_parquet if Path(path).suffix == ".parquet" else write_csv)(path, frame)


def write_figure_data(
    *,
    history_paths: Sequence[str | os.PathLike],
    per_user_paths: Sequence[str | os.PathLike],
    topk_paths: Sequence[str | os.PathLike],
    ratings_path: str | os.PathLike,
    items_path: str | os.PathLike,
    per_user_metrics: Sequence[str],
    example_user: int,
    popularity_k: int,
    outputs: Mapping[str, str | os.PathLike],
) -> None:
    """Write the figure-data tables (:data:`recrepro.report.registry.FIGDATA`) to ``outputs``."""
    tables = figure_tables(
        histories=_tagged(history_paths),
        per_user=_tagged(per_user_paths),
        topk=_tagged(topk_paths),
        ratings=read_table(Path(ratings_path)),
        items=read_table(Path(items_path)),
        per_user_metrics=per_user_metrics,
        example_user=example_user,
        popularity_k=popularity_k,
    )
    for name, frame in tables.items():
        write_table(outputs[name], frame)
