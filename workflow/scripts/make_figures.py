"""Snakemake script: write the paper's figures (PDF and PNG) from result tables only."""

from recrepro.report.pipeline import make_figures, run_step

run_step(snakemake, make_figures, "params")  # noqa: F821 (snakemake is injected by Snakemake)
