"""Reporting layer (showyourwork style): scripts write tables, figures and a LaTeX macros file;
``paper/main.tex`` (the venue's two-column paper) and ``paper/supplement.tex`` only input them,
so no result is ever typed by hand.

* :mod:`~recrepro.report.registry`: every figure and table declared once (inputs, section, main
  paper or supplement)
* :mod:`~recrepro.report.style`: number formats, model order, one fixed colour per model
* :mod:`~recrepro.report.tables`: LaTeX booktabs tables with Markdown and CSV twins
* :mod:`~recrepro.report.method_tables`: data/split, model, hyperparameter, deviation, cost tables
* :mod:`~recrepro.report.figdata` / :mod:`~recrepro.report.figures`: compute, then plot
* :mod:`~recrepro.report.numbers`: ``numbers.tex`` macros
* :mod:`~recrepro.report.reproduction`: our numbers beside published ones
* :mod:`~recrepro.report.pipeline`: the Snakemake steps
"""
