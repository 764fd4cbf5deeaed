"""Significance testing over the study's per-user metrics.

Modules, one job each:

- :mod:`~recrepro.stats.config`: the ``stats`` block of the configuration, metric directions.
- :mod:`~recrepro.stats.collect`: run outputs -> tidy frames (users aligned across models).
- :mod:`~recrepro.stats.seeds`: mean, std and t-based CI of each aggregate metric across seeds.
- :mod:`~recrepro.stats.paired`: paired per-user tests, effect sizes, bootstrap CIs, correction.
- :mod:`~recrepro.stats.friedman`: Friedman test, average ranks, Nemenyi post-hoc and CD.
- :mod:`~recrepro.stats.pipeline`: every table from a list of run files, written as CSV.
"""

from recrepro.stats.config import StatsConfig, higher_is_better
from recrepro.stats.pipeline import compute_stats, compute_tables

__all__ = ["StatsConfig", "compute_stats", "compute_tables", "higher_is_better"]
