"""Read recommendations back from a finished run, with titles (as the seeds print for user "42")."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from recrepro.errors import RecreproError


def _titles(data_dir: str | Path) -> pd.DataFrame:
    return pd.read_parquet(Path(data_dir) / "items.parquet", columns=["item_id", "title"])


def recommendations(run_dir: str | Path, data_dir: str | Path, user: int, k: int) -> pd.DataFrame:
    """The user's top-``k`` (rank, item id, title, score) from the run's ``topk.parquet``."""
    topk = pd.read_parquet(Path(run_dir) / "topk.parquet")
    rows = topk[(topk["user"] == user) & (topk["rank"] <= k)]
    if rows.empty:
        raise RecreproError(f"user {user} has no recommendations in {run_dir} (not evaluated)")
    rows = rows.merge(_titles(data_dir), left_on="item", right_on="item_id")
    return rows.sort_values("rank")[["rank", "item", "title", "score"]]


def similar_movies(run_dir: str | Path, data_dir: str | Path, movie: int, k: int) -> pd.DataFrame:
    """The ``k`` movies most similar to ``movie`` (runs of models that write similar_items)."""
    path = Path(run_dir) / "similar_items.parquet"
    if not path.is_file():
        raise RecreproError(f"{run_dir} has no item similarities (only the multitask model writes them)")
    sim = pd.read_parquet(path)
    rows = sim[(sim["item"] == movie) & (sim["rank"] <= k)]
    if rows.empty:
        raise RecreproError(f"movie {movie} is not in {path}")
    rows = rows.merge(_titles(data_dir), left_on="similar_item", right_on="item_id")
    return rows.sort_values("rank")[["rank", "similar_item", "title", "similarity"]]
