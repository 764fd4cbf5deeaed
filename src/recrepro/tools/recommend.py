"""Read recommendations back from a finished run, with titles (as the seeds print for user "42")."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from recrepro.core import layout
from recrepro.core.errors import RecreproError

FIRST_STEPS = "run the study first (snakemake)"


def find_run(
    results: str | Path, dataset: str, protocol: str, model: str, setting: str, seed: int | None = None
) -> Path:
    """The folder of a finished run (:func:`recrepro.core.layout.run_dir`; ``seed=None``: the lowest
    seed).

    A missing level names what exists instead (other models, protocols, seeds, ...).
    """
    levels = dict(zip(layout.GROUP_KEY, (dataset, protocol, model, setting), strict=True))
    group = Path(layout.run_group(dataset, protocol, model, setting, str(results)))
    # the run group's folder and its parents, outermost first: results/runs, .../dataset, ...
    path = group.parents[len(levels) - 1]
    for label, value in levels.items():
        available = sorted(p.name for p in path.iterdir() if p.is_dir()) if path.is_dir() else []
        if value not in available:
            if not available:
                raise RecreproError(f"no finished run in {path / value}; {FIRST_STEPS}")
            raise RecreproError(f"no run of {label} '{value}' in {path}; available: {', '.join(available)}")
        path = path / value
    finished = [p for p in path.iterdir() if (p / "topk.parquet").is_file()]
    seeds = sorted(n for n in map(layout.seed_of, (p.name for p in finished)) if n is not None)
    if not seeds:
        raise RecreproError(f"no finished run in {path}; {FIRST_STEPS}")
    if seed is None:
        seed = seeds[0]
    elif seed not in seeds:
        raise RecreproError(
            f"no finished run of seed {seed} in {path}; available seeds: {', '.join(map(str, seeds))}"
        )
    return Path(layout.run_dir(dataset, protocol, model, setting, seed, str(results)))


def _titles(data_dir: str | Path) -> pd.DataFrame:
    return pd.read_parquet(layout.table_file(data_dir, "items"), columns=["item_id", "title"])


def _id_range(ids: pd.Series) -> str:
    return f"{int(ids.min())}-{int(ids.max())}"


def recommendations(run_dir: str | Path, data_dir: str | Path, user: int, k: int) -> pd.DataFrame:
    """The user's top-``k`` (rank, item id, title, score) from the run's ``topk.parquet``."""
    if k < 1:
        raise RecreproError(f"-k must be at least 1, got {k}")
    topk = pd.read_parquet(Path(run_dir) / "topk.parquet")
    if topk.empty:
        raise RecreproError(f"{run_dir} has no recommendations: the model did not run (see its metrics.json)")
    kept = int(topk["rank"].max())
    if k > kept:
        raise RecreproError(
            f"-k {k} is more than the {kept} movies per user the run kept (the largest K of "
            f"evaluation.ks); use -k {kept} or less"
        )
    rows = topk[(topk["user"] == user) & (topk["rank"] <= k)]
    if rows.empty:
        users = pd.read_parquet(layout.table_file(data_dir, "users"), columns=["user_id"])["user_id"]
        if user not in set(users):
            raise RecreproError(f"user {user} does not exist; the dataset's user ids are {_id_range(users)}")
        evaluated = topk["user"].drop_duplicates()
        raise RecreproError(
            f"user {user} was not evaluated in {run_dir} (no test ratings under this protocol); "
            f"{len(evaluated)} users were, with ids in {_id_range(evaluated)}"
        )
    rows = rows.merge(_titles(data_dir), left_on="item", right_on="item_id")
    return rows.sort_values("rank")[["rank", "item", "title", "score"]]


def similar_movies(run_dir: str | Path, data_dir: str | Path, movie: int, k: int) -> pd.DataFrame:
    """The ``k`` movies most similar to ``movie`` (runs of models that write similar_items)."""
    if k < 1:
        raise RecreproError(f"-k must be at least 1, got {k}")
    path = Path(run_dir) / layout.SIMILAR_ITEMS
    if not path.is_file():
        raise RecreproError(f"{run_dir} has no item similarities (only the multitask model writes them)")
    sim = pd.read_parquet(path)
    rows = sim[(sim["item"] == movie) & (sim["rank"] <= k)]
    if rows.empty:
        raise RecreproError(
            f"movie {movie} is not in {path}; its movie ids are {_id_range(sim['item'])}"
            if not sim.empty else f"{path} is empty"
        )
    rows = rows.merge(_titles(data_dir), left_on="similar_item", right_on="item_id")
    return rows.sort_values("rank")[["rank", "similar_item", "title", "similarity"]]
