"""Snakemake script: write paper/generated/numbers.tex, the LaTeX macros quoted in the text."""

from recrepro.report.pipeline import make_numbers, run_step

run_step(snakemake, make_numbers, "output")  # noqa: F821 (snakemake is injected by Snakemake)
