"""Figure data: the compute half of the figures. Gathers per-run files (history, per-user
metrics, top-K lists) into small tidy tables that the plotting half reads; nothing here trains
or plots.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from recrepro.core.errors import DataError
from recrepro.core.io import write_csv, write_parquet
from recrepro.core.layout import parse_run_path


def _read(path: Path) -> pd.DataFrame:
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
        yield key.model, key.seed, _read(Path(path))


def collect_history(paths: Iterable[str | os.PathLike]) -> pd.DataFrame:
    """All training histories: model, seed, epoch, loss and any other per-epoch values."""
    frames = [f.assign(model=m, seed=s) for m, s, f in _tagged(paths) if len(f) and "epoch" in f]
    if not frames:
        return pd.DataFrame(columns=["model", "seed", "epoch", "loss"])
    frame = pd.concat(frames, ignore_index=True)
    first = ["model", "seed", "epoch"]
    return frame[first + [c for c in frame.columns if c not in first]]


def collect_per_user(paths: Iterable[str | os.PathLike], metrics: Sequence[str]) -> pd.DataFrame:
    """Per-user values of ``metrics`` (where a run has them): model, seed, user, metric, value."""
    frames = []
    for model, seed, frame in _tagged(paths):
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
    shares: dict[str, list[pd.Series]] = {}
    lists: dict[str, dict[int, pd.Series]] = {}
    examples = []
    for model, seed, topk in _tagged(topk_paths):
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
    outputs: dict[str, str | os.PathLike],
) -> None:
    """Write the figure-data tables (:data:`recrepro.report.registry.FIGDATA`) to ``outputs``."""
    ratings = _read(Path(ratings_path))
    items = _read(Path(items_path))
    write_csv(outputs["history"], collect_history(history_paths))
    write_parquet(outputs["per_user"], collect_per_user(per_user_paths, per_user_metrics))
    shares, examples, overlap = scan_topk(topk_paths, popularity_k, example_user)
    write_csv(outputs["popularity"], popularity_profile(shares, ratings))
    write_csv(outputs["overlap"], overlap)
    write_csv(outputs["example_user"], example_user_lists(examples, items))
