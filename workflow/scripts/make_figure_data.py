"""Snakemake script: write the figure-data tables (compute half of the figures)."""

from recrepro.report.pipeline import make_figure_data, run_step

run_step(snakemake, make_figure_data, "outputs")  # noqa: F821 (snakemake is injected by Snakemake)
