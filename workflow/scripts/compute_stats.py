"""Snakemake script of rule ``compute_stats``: all statistics tables (logic in recrepro.stats).

No ``from __future__`` import: Snakemake prepends its own preamble to the script.
"""

from recrepro.core.logs import log_to
from recrepro.stats.pipeline import TABLES, compute_stats


def main(smk) -> None:
    """Run :func:`recrepro.stats.pipeline.compute_stats` with the rule's files and config."""
    with log_to(smk.log[0], console=False, mode="w") as log:
        try:
            compute_stats(
                smk.input.per_user, smk.input.metrics,
                {name: getattr(smk.output, name) for name in TABLES}, smk.params.stats,
            )
        except Exception:
            log.exception("compute_stats failed")
            raise


main(snakemake)  # noqa: F821 (defined by Snakemake)
