"""Significance testing over the study's per-user metrics.

Modules, one job each:

- :mod:`~recrepro.stats.config`: the ``stats`` block of the configuration (directions come from
  the metric catalogue, :mod:`recrepro.evaluation.catalogue`).
- :mod:`~recrepro.stats.collect`: run outputs -> tidy frames (users aligned across models).
- :mod:`~recrepro.stats.seeds`: the one across-seed summary (results/summary.csv).
- :mod:`~recrepro.stats.paired`: paired per-user tests (sign-flip, Wilcoxon, t), effect sizes
  with bootstrap CIs, correction, direction-aware decisions, seed-set checks.
- :mod:`~recrepro.stats.friedman`: Friedman test, average ranks, CD-diagram groups from the
  all-pairs tests.
- :mod:`~recrepro.stats.multilevel`: variance components and two-level (users x seeds) bootstrap.
- :mod:`~recrepro.stats.power`: minimum detectable effects.
- :mod:`~recrepro.stats.pipeline`: every table from a list of run files, written as CSV.
"""

from recrepro.stats.config import StatsConfig, higher_is_better
from recrepro.stats.pipeline import compute_stats, compute_tables

__all__ = ["StatsConfig", "compute_stats", "compute_tables", "higher_is_better"]
