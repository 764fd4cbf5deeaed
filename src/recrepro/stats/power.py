"""Minimum detectable effect of a paired comparison (statsmodels ``TTestPower``).

For ``n`` users, level ``alpha`` (two-sided) and the wanted ``power``, the smallest standardized
paired effect d_z a paired t-test detects; multiplied by the standard deviation of the per-user
differences it becomes an effect in metric units. The worst-case Holm level ``alpha / m`` (the
first step of a family of ``m`` comparisons, i.e. Bonferroni) gives the conservative bound.
The sign-flip test of the mean has the same asymptotic power as the paired t-test.
"""

from __future__ import annotations

import math

import numpy as np
from statsmodels.stats.power import TTestPower


def min_detectable_dz(n: int, alpha: float, power: float) -> float:
    """Smallest d_z detected with probability ``power`` by a two-sided paired test of ``n``
    users at level ``alpha`` (NaN for fewer than 3 users)."""
    if n < 3:
        return math.nan
    solved = TTestPower().solve_power(nobs=n, alpha=alpha, power=power, alternative="two-sided")
    return float(np.ravel(solved)[0])  # statsmodels returns a 1-element array for some inputs
