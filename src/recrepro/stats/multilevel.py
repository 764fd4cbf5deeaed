"""Inference over users *and* seeds: variance components and a two-level bootstrap.

A model's per-user values over seeds form a users x seeds matrix ``Y`` (one value per cell, users
evaluated in every seed). The crossed random-effects model ``Y[u, s] = mu + U_u + S_s + e_us``
has three variance components, estimated by the ANOVA (expected mean squares) method of the
two-way layout without replication:

- ``MS_user = S * var(row means)``, ``MS_seed = U * var(column means)``,
  ``MS_res`` = residual mean square of the additive fit, on ``(U - 1)(S - 1)`` df;
- ``var_residual = MS_res``, ``var_user = (MS_user - MS_res) / S``,
  ``var_seed = (MS_seed - MS_res) / U`` (negative estimates truncated at 0).

The same decomposition of a *difference* matrix (model minus the best model) says how much of
the comparison's uncertainty comes from the choice of users and how much from the seeds.

The two-level bootstrap resamples users and seeds independently with replacement (the
"bootstrap of both crossed factors"). With few seeds it undercovers (resampling 3 seeds with
replacement shrinks their spread; 0.81 instead of 0.95 in the tests' seed-dominated
simulation), so the reported interval is the crossed t-interval of
:mod:`recrepro.stats.crossed`; the bootstrap is kept as extra columns of ``seed_level``.
"""

from __future__ import annotations

import math

import numpy as np

#: Bound on the resampled values held in memory at once.
_CELLS = 4_000_000


def variance_components(values: np.ndarray) -> dict[str, float]:
    """``var_user``, ``var_seed``, ``var_residual`` and the mean squares of a users x seeds
    matrix (needs >= 2 users and >= 2 seeds, else the components are NaN)."""
    y = np.asarray(values, dtype=np.float64)
    n_users, n_seeds = y.shape
    out = {"ms_user": math.nan, "ms_seed": math.nan, "ms_residual": math.nan,
           "var_user": math.nan, "var_seed": math.nan, "var_residual": math.nan}
    if n_users < 2 or n_seeds < 2:
        return out
    grand = y.mean()
    rows, cols = y.mean(axis=1), y.mean(axis=0)
    ms_user = n_seeds * np.sum((rows - grand) ** 2) / (n_users - 1)
    ms_seed = n_users * np.sum((cols - grand) ** 2) / (n_seeds - 1)
    resid = y - rows[:, None] - cols[None, :] + grand
    ms_res = np.sum(resid**2) / ((n_users - 1) * (n_seeds - 1))
    # rounding noise (e.g. a deterministic model: identical seeds) is no variance
    floor = 1e-12 * max(float(np.mean((y - grand) ** 2)), float(np.finfo(float).tiny))
    ms_user, ms_seed, ms_res = (v if v > floor else 0.0 for v in (ms_user, ms_seed, ms_res))
    out.update(
        ms_user=float(ms_user), ms_seed=float(ms_seed), ms_residual=float(ms_res),
        var_user=float(max(0.0, (ms_user - ms_res) / n_seeds)),
        var_seed=float(max(0.0, (ms_seed - ms_res) / n_users)),
        var_residual=float(ms_res),
    )
    return out


def two_level_bootstrap(
    values: np.ndarray, n_resamples: int, seed: int, level: float = 0.95
) -> tuple[float, float]:
    """Percentile CI of the mean of a users x seeds matrix, resampling users and seeds
    independently with replacement; NaN if ``n_resamples`` is 0."""
    y = np.asarray(values, dtype=np.float64)
    n_users, n_seeds = y.shape
    if n_resamples == 0 or y.size == 0:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    means = []
    rows = max(1, _CELLS // max(n_users, 1))
    for start in range(0, n_resamples, rows):
        size = min(rows, n_resamples - start)
        users = rng.integers(0, n_users, (size, n_users))
        seeds = rng.integers(0, n_seeds, (size, n_seeds))
        user_means = _counts(seeds, n_seeds) @ y.T / n_seeds  # size x U: over resampled seeds
        means.append(np.take_along_axis(user_means, users, axis=1).mean(axis=1))
    low, high = np.percentile(np.concatenate(means), [50 - 50 * level, 50 + 50 * level])
    return float(low), float(high)


def _counts(indices: np.ndarray, n: int) -> np.ndarray:
    """How often each of ``n`` positions occurs in each row of ``indices``."""
    rows = np.repeat(np.arange(indices.shape[0]), indices.shape[1])
    flat = np.bincount(rows * n + indices.ravel(), minlength=indices.shape[0] * n)
    return flat.reshape(indices.shape[0], n).astype(np.float64)
