"""Snakemake script: write the paper's tables (LaTeX, Markdown and CSV twins)."""

from recrepro.report.pipeline import make_tables, run_step

run_step(snakemake, make_tables, "params")  # noqa: F821 (snakemake is injected by Snakemake)
