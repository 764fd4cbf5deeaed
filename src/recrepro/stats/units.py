"""Linearised units: per (user, seed) values whose mean over users is the seed's aggregate.

The table value of a (model, setting, protocol) is the mean over seeds of each run's aggregate.
For every metric a users x seeds matrix ``v`` is built whose column means are exactly those
per-seed aggregates over the users given, so the mean of ``v`` is the table value and every
test, interval and difference speaks of it:

- per-user-mean metrics (ndcg@10, ...): ``v[u, s]`` is the user's value;
- pooled MAE: ``v = n_u * mae_u / mean_u(n_u)`` (the seed's pooled MAE is its column mean);
- pooled RMSE: with ``m_u = n_u * rmse_u**2 / mean_u(n_u)`` (column mean: the pooled MSE) and
  ``R_s = sqrt(mean_u m_u)`` the seed's pooled RMSE, ``v = (R_s + m_u / R_s) / 2``. This is the
  delta-method influence unit of ``sqrt``: its column mean is exactly ``R_s`` and its spread is
  the delta-method spread ``(m_u - R_s**2) / (2 R_s)``.

``n_u`` (test ratings of the user in that seed) may differ between seeds.
"""

from __future__ import annotations

import numpy as np

from recrepro.core.errors import DataError
from recrepro.evaluation import catalogue


def aggregate_kind(metric: str) -> str:
    """``mean``, ``pooled_mean`` (MAE) or ``pooled_rms`` (RMSE): how the metric pools users."""
    spec = catalogue.parse(metric).spec
    return spec.aggregate if spec is not None else "mean"


def is_pooled(metric: str) -> bool:
    """True for metrics pooled over ratings (they need each user's ``n_ratings``)."""
    return aggregate_kind(metric) != "mean"


def linearise(metric: str, values: np.ndarray, n_ratings: np.ndarray | None = None) -> np.ndarray:
    """The linearised users x seeds units of ``values`` (see the module doc); the users given
    are the users the aggregate is taken over (no NaN allowed)."""
    values = np.asarray(values, dtype=np.float64)
    kind = aggregate_kind(metric)
    if kind == "mean":
        return values
    if n_ratings is None:
        raise DataError(f"{metric} is pooled over ratings but the per-user files lack n_ratings; "
                        "re-run the runs")
    n = np.asarray(n_ratings, dtype=np.float64)
    share = n / n.mean(axis=0, keepdims=True)
    if kind == "pooled_mean":
        return share * values
    squares = share * values**2
    root = np.sqrt(squares.mean(axis=0, keepdims=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(root > 0, (root + squares / root) / 2, 0.0)


def seed_aggregates(metric: str, values: np.ndarray, n_ratings: np.ndarray | None = None
                    ) -> np.ndarray:
    """Each seed's aggregate over the users given, computed directly (pooled over ratings for
    RMSE/MAE): the reference :func:`linearise` reproduces."""
    values = np.asarray(values, dtype=np.float64)
    kind = aggregate_kind(metric)
    if kind == "mean":
        return values.mean(axis=0)
    n = np.asarray(n_ratings, dtype=np.float64)
    if kind == "pooled_mean":
        return (n * values).sum(axis=0) / n.sum(axis=0)
    return np.sqrt((n * values**2).sum(axis=0) / n.sum(axis=0))
