"""Reporting layer (showyourwork style): scripts write tables, figures and a LaTeX macros file;
``paper/main.tex`` only inputs them, so no result is ever typed by hand.

* :mod:`~recrepro.report.style`: metric labels, number formats, model order and styles
* :mod:`~recrepro.report.tables`: LaTeX booktabs tables with Markdown and CSV twins
* :mod:`~recrepro.report.figdata` / :mod:`~recrepro.report.figures`: compute, then plot
* :mod:`~recrepro.report.numbers`: ``numbers.tex`` macros
* :mod:`~recrepro.report.reproduction`: our numbers beside published ones
* :mod:`~recrepro.report.pipeline`: the Snakemake steps
"""
