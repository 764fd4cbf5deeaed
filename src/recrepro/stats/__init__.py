"""Significance testing over the study's per-user metrics.

Modules, one job each:

- :mod:`~recrepro.stats.config`: the ``stats`` block of the configuration (directions come from
  the metric catalogue, :mod:`recrepro.evaluation.catalogue`).
- :mod:`~recrepro.stats.collect`: run outputs -> tidy frames (users aligned across models).
- :mod:`~recrepro.stats.seeds`: the one across-seed summary (results/summary.csv).
- :mod:`~recrepro.stats.units`: linearised per (user, seed) units whose user mean is each
  run's aggregate (pooled RMSE/MAE included): the one quantity every test speaks of.
- :mod:`~recrepro.stats.crossed`: the primary test, a crossed users x seeds random-effects
  t-test (Satterthwaite df), and its calibration by simulation.
- :mod:`~recrepro.stats.paired`: pairs of models: the primary test plus the per-user sign-flip
  and t-tests, Wilcoxon, effect sizes with bootstrap CIs, correction, direction-aware
  decisions, seed-set checks.
- :mod:`~recrepro.stats.friedman`: Friedman test, average ranks, CD-diagram groups from the
  all-pairs tests.
- :mod:`~recrepro.stats.multilevel`: ANOVA variance components and the two-level (users x
  seeds) bootstrap (an extra, uncalibrated interval of ``seed_level``).
- :mod:`~recrepro.stats.power`: minimum detectable effects.
- :mod:`~recrepro.stats.pipeline`: every table from a list of run files (or frames), written
  as CSV (pairwise, friedman, ranks, cd_cliques, seed_level, power, agreement, calibration,
  aa_control).
- :mod:`~recrepro.stats.published`: every run's per-user values of the tested metrics in the
  compact form published under ``reported/per_user/``, from which every table recomputes.
"""

from recrepro.stats.config import StatsConfig, higher_is_better
from recrepro.stats.pipeline import compute_stats, compute_tables

__all__ = ["StatsConfig", "compute_stats", "compute_tables", "higher_is_better"]
