"""The primary test: a crossed users x seeds random-effects model of a paired difference.

For a pair of models, ``D[u, s] = v_model[u, s] - v_other[u, s]`` (linearised units,
:mod:`recrepro.stats.units`) over the users both have in every seed. Model:
``D = mu + U_u + S_s + e_us`` with independent normal user, seed and residual effects. The seed
effect carries everything a training seed changes for the whole pair (split, initialisation and,
for tuned models, the luck of that seed's own hyperparameter search).

With the ANOVA mean squares ``MS_user``, ``MS_seed``, ``MS_res`` (:func:`variance_components`)

    Var(mean D) = var_user / U + var_seed / S + var_res / (U S)
                = E[MS_user + MS_seed - MS_res] / (U S),

estimated by ``V = max(MS_user + MS_seed - MS_res, MS_user, MS_seed) / (U S)``. The
truncation keeps the estimate at least the users-only one (``MS_user / (U S)``, the paired
t-test of the seed-averaged differences) and at least the seeds-only one (``MS_seed / (U S)``);
it applies when a component's estimate is negative. Degrees of freedom: Satterthwaite's for the
chosen combination, ``(U S V)**2 / (MS_user**2 / (U-1) + M**2 / (S-1) + MS_res**2 / ((U-1)(S-1)))``
with ``M = max(MS_seed, MS_res)``, capped at ``U - 1`` and at least ``S - 1``. Counting the
seed mean square at no less
than its expectation without seed variance (``MS_res``) keeps the df small when an unlucky draw
of 1-4 seed df makes ``MS_seed`` tiny: the plain Satterthwaite df then jump to ``U - 1`` and the
test called a pair without user variance different up to 12% of the time at 2 seeds; with the
rule at most 5%. Where users dominate and the seeds add a comparable share, small seed df
still make it liberal (simulated false-positive rate up to about 0.08 at 3 seeds, 0.13 at 2):
``calibration.csv`` reports it at each group's own components.
``t = mean / sqrt(V)`` is two-sided on those df; the 95% interval is
``mean +- t_{0.975, df} sqrt(V)`` in the units of the table's difference. With one
seed this is the paired t-test over users.

:func:`simulate_null` checks the calibration: it draws the mean squares of null data sets from
their exact (scaled chi-square) distributions under the normal model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from recrepro.stats.multilevel import variance_components


@dataclass(frozen=True)
class CrossedResult:
    """Outcome of :func:`crossed_test` (``var_*``: ANOVA components, NaN with one seed)."""

    mean: float
    se: float
    df: float
    statistic: float
    p_value: float
    ci_low: float
    ci_high: float
    var_user: float
    var_seed: float
    var_residual: float


def crossed_variance(
    ms_user: np.ndarray | float, ms_seed: np.ndarray | float, ms_res: np.ndarray | float,
    n_users: int, n_seeds: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Estimated variance of the grand mean and its df (module doc); vectorised. With one seed
    ``ms_seed``/``ms_res`` are ignored: ``MS_user / U`` on ``U - 1`` df."""
    ms_user = np.asarray(ms_user, dtype=np.float64)
    if n_seeds < 2:
        return ms_user / n_users, np.full(ms_user.shape, float(n_users - 1))
    ms_seed = np.asarray(ms_seed, dtype=np.float64)
    ms_res = np.asarray(ms_res, dtype=np.float64)
    df_user, df_seed = n_users - 1, n_seeds - 1
    chosen = np.maximum(ms_user + ms_seed - ms_res, np.maximum(ms_user, ms_seed))
    seed_part = np.maximum(ms_seed, ms_res)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = chosen**2 / (
            ms_user**2 / df_user + seed_part**2 / df_seed + ms_res**2 / (df_user * df_seed)
        )
    df = np.where(np.isfinite(df) & (df > 0), np.minimum(df, df_user), float(df_user))
    # the negative MS_res term can push Satterthwaite's df below every component's; never
    # fewer than the seeds' own df (a near-zero df would make the interval unbounded)
    df = np.maximum(df, float(df_seed))
    return chosen / (n_users * n_seeds), df


def t_test_from(mean: np.ndarray | float, var: np.ndarray | float, df: np.ndarray | float,
                level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two-sided t statistic, p-value and CI half-width of ``mean`` with variance ``var``; a
    zero variance gives t = +-inf and p = 0 for a non-zero mean, t = 0 and p = 1 for zero."""
    mean, var = np.asarray(mean, np.float64), np.asarray(var, np.float64)
    se = np.sqrt(np.maximum(var, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, mean / se, np.where(mean == 0, 0.0, np.sign(mean) * np.inf))
    p = 2 * stats.t.sf(np.abs(t), df)
    half = stats.t.ppf(0.5 + level / 2, df) * se
    return t, p, half


def crossed_test(values: np.ndarray, level: float = 0.95) -> CrossedResult:
    """Crossed random-effects t-test of the mean of a users x seeds matrix (module doc)."""
    d = np.asarray(values, dtype=np.float64)
    n_users, n_seeds = d.shape
    mean = float(d.mean())
    if n_seeds < 2:
        ms_user = float(d[:, 0].var(ddof=1)) if n_users > 1 else math.nan
        parts = {"ms_seed": math.nan, "ms_residual": math.nan, "var_user": math.nan,
                 "var_seed": math.nan, "var_residual": math.nan}
    else:
        parts = variance_components(d)
        ms_user = parts["ms_user"]
    var, df = crossed_variance(ms_user, parts["ms_seed"], parts["ms_residual"], n_users, n_seeds)
    t, p, half = t_test_from(mean, var, df, level)
    return CrossedResult(
        mean=mean, se=float(np.sqrt(var)), df=float(df), statistic=float(t), p_value=float(p),
        ci_low=mean - float(half), ci_high=mean + float(half), var_user=parts["var_user"],
        var_seed=parts["var_seed"], var_residual=parts["var_residual"],
    )


def simulate_null(
    var_user: float, var_seed: float, var_residual: float, n_users: int, n_seeds: int,
    draws: int, seed: int, alpha: float = 0.05, level: float = 0.95,
) -> dict[str, float]:
    """Coverage of the ``level`` interval and false-positive rate at ``alpha`` of the crossed
    test (``coverage``, ``fpr``) and of the users-only paired t-test that treats the seeds as
    fixed (``coverage_users``, ``fpr_users``), over ``draws`` null data sets (true mean 0) of
    the crossed normal model at ``n_users`` x ``n_seeds`` (>= 2 each).

    In the balanced normal model the grand mean and the three sums of squares are independent:
    the mean is normal with variance ``var_user/U + var_seed/S + var_res/(U S)`` and each mean
    square is its expectation times a chi-square over its df, so no data set is built.
    """
    rng = np.random.default_rng(seed)
    users, seeds = n_users, n_seeds
    dfs = (users - 1, seeds - 1, (users - 1) * (seeds - 1))
    expected = (var_residual + seeds * var_user, var_residual + users * var_seed, var_residual)
    ms_user, ms_seed, ms_res = (
        e * rng.chisquare(df, draws) / df for e, df in zip(expected, dfs, strict=True)
    )
    sd_mean = math.sqrt(var_user / users + var_seed / seeds + var_residual / (users * seeds))
    mean = rng.normal(0.0, sd_mean, draws)
    var, df = crossed_variance(ms_user, ms_seed, ms_res, users, seeds)
    _, p, half = t_test_from(mean, var, df, level)
    _, p_users, half_users = t_test_from(mean, ms_user / (users * seeds), users - 1, level)
    return {
        "coverage": float(np.mean(np.abs(mean) <= half)), "fpr": float(np.mean(p < alpha)),
        "coverage_users": float(np.mean(np.abs(mean) <= half_users)),
        "fpr_users": float(np.mean(p_users < alpha)),
    }
