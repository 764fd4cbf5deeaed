"""Synthetic interaction data in the tidy MovieLens format, for tests and scaling benchmarks.

Users and items get low-rank latent factors; items also get a power-law popularity. Each user
picks items with probability proportional to ``popularity * exp(sharpness * affinity)``, so the
data has both a popularity signal and a personal signal that collaborative models can learn.
Ratings (1-5) grow with affinity. Timestamps increase along each user's sequence and the next
item is biased towards the previous one's neighbourhood, which gives sequential models a signal.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

GENRES = ("Action", "Comedy", "Drama", "Romance", "Thriller", "Sci-Fi")


def make_synthetic(
    n_users: int = 200,
    n_items: int = 150,
    interactions_per_user: int = 30,
    rank: int = 4,
    popularity_exponent: float = 1.0,
    sharpness: float = 3.0,
    seed: int = 0,
) -> dict[str, pd.DataFrame]:
    """Return ``{"ratings", "items", "users"}`` frames shaped like the parsed MovieLens tables."""
    rng = np.random.default_rng(seed)
    if interactions_per_user >= n_items:
        raise ValueError("interactions_per_user must be smaller than n_items")
    user_f = rng.normal(size=(n_users, rank)) / np.sqrt(rank)
    item_f = rng.normal(size=(n_items, rank)) / np.sqrt(rank)
    popularity = 1.0 / np.arange(1, n_items + 1) ** popularity_exponent
    popularity = popularity[rng.permutation(n_items)]
    affinity = user_f @ item_f.T
    logits = np.log(popularity)[None, :] + sharpness * affinity
    # Gumbel top-k: sampling without replacement proportional to exp(logits).
    keys = logits + rng.gumbel(size=logits.shape)
    chosen = np.argsort(-keys, axis=1)[:, :interactions_per_user]
    users = np.repeat(np.arange(n_users), interactions_per_user)
    items = chosen.ravel()
    aff = affinity[users, items]
    ratings = np.clip(np.rint(3.0 + 2.0 * aff / (affinity.std() * 2) + rng.normal(0, 0.5, aff.size)), 1, 5)
    base_time = 880_000_000
    starts = rng.integers(0, 10_000_000, n_users)
    # Order each user's picks by a noisy path through factor space, so order carries signal.
    order_key = item_f[items, 0] + rng.normal(0, 0.3, items.size)
    ts = np.empty(items.size, np.int64)
    for u in range(n_users):
        sl = slice(u * interactions_per_user, (u + 1) * interactions_per_user)
        rank_in_user = np.argsort(np.argsort(order_key[sl]))
        ts[sl] = base_time + starts[u] + rank_in_user * 3600
    ratings_frame = pd.DataFrame(
        {
            "user": users.astype(np.int64) + 1,
            "item": items.astype(np.int64) + 1,
            "rating": ratings.astype(np.float32),
            "timestamp": ts,
        }
    )
    genre_of = np.array(GENRES)[np.argmax(item_f[:, :1] * np.arange(1, 7)[None, :] % 6, axis=1) % 6]
    items_frame = pd.DataFrame(
        {
            "item_id": np.arange(1, n_items + 1, dtype=np.int64),
            "title": [f"Synthetic movie {i} ({1970 + i % 30})" for i in range(1, n_items + 1)],
            "year": pd.array(1970 + np.arange(1, n_items + 1) % 30, dtype="Int64"),
            "genres": genre_of,
        }
    )
    users_frame = pd.DataFrame(
        {
            "user_id": np.arange(1, n_users + 1, dtype=np.int64),
            "age": rng.integers(18, 70, n_users),
            "gender": rng.choice(["M", "F"], n_users),
            "occupation": rng.choice(["student", "engineer", "other"], n_users),
        }
    )
    return {"ratings": ratings_frame, "items": items_frame, "users": users_frame}
