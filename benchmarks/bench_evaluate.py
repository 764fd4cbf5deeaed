"""Time ``evaluate()`` on an ML-100k-sized random problem (not a test).

943 users x 1682 items, ~80k training and ~10k test interactions, a fake model with random
scores, K in 5, 10, 20, 50, 100. Prints the median of 5 runs (target: well under a second).

Run: ``/work/venv/bin/python benchmarks/bench_evaluate.py``
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import pandas as pd

from recrepro.data.interactions import Catalogue, Interactions
from recrepro.evaluation import evaluate
from recrepro.models.base import Recommender

N_USERS, N_ITEMS, N_TRAIN, N_TEST = 943, 1682, 80_000, 10_000
KS = (5, 10, 20, 50, 100)
REPEATS = 5


class RandomScores(Recommender):
    """Scores drawn once from a seeded generator; ``score`` returns rows of that table."""

    name = "random_scores"
    predicts_ratings = True

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        self.table = np.random.default_rng(seed).random((N_USERS, N_ITEMS), dtype=np.float32)

    def fit(self, train, valid, rng):
        return self

    def score(self, users: np.ndarray) -> np.ndarray:
        return self.table[users]

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return 1.0 + 4.0 * self.table[users, items]


def make_problem(seed: int = 0) -> tuple[Interactions, Interactions]:
    """Random distinct (user, item) pairs split into train and test."""
    rng = np.random.default_rng(seed)
    catalogue = Catalogue(
        users=pd.DataFrame({"user_id": np.arange(1, N_USERS + 1)}),
        items=pd.DataFrame({"item_id": np.arange(1, N_ITEMS + 1), "genres": "Drama"}),
    )
    cells = rng.choice(N_USERS * N_ITEMS, N_TRAIN + N_TEST, replace=False)
    users, items = (cells // N_ITEMS).astype(np.int32), (cells % N_ITEMS).astype(np.int32)
    ratings = rng.integers(1, 6, len(cells)).astype(np.float32)
    stamps = np.arange(len(cells), dtype=np.int64)

    def part(sl: slice) -> Interactions:
        return Interactions(users[sl], items[sl], ratings[sl], stamps[sl], catalogue)

    return part(slice(0, N_TRAIN)), part(slice(N_TRAIN, None))


def main() -> None:
    train, test = make_problem()
    model = RandomScores()
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        result = evaluate(model, train, test, ks=KS)
        times.append(time.perf_counter() - start)
    print(
        f"evaluate(): {N_USERS} users x {N_ITEMS} items, {len(train)} train / {len(test)} test, "
        f"ks={KS}, {result.n_users_evaluated} users evaluated"
    )
    print(
        f"median {statistics.median(times):.3f} s over {REPEATS} runs "
        f"(min {min(times):.3f} s, max {max(times):.3f} s)"
    )
    print(f"ndcg@10 = {result.metrics['ndcg@10']:.4f} (random scores)")


if __name__ == "__main__":
    main()
