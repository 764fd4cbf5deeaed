"""The paper's plotters, by figure family: each ``plot_*`` function reads tidy tables, never
trains, and writes ``stem.pdf`` and ``stem.png`` (:func:`recrepro.report.style.save_figure`).
Which figures the paper has, and their captions, is :mod:`recrepro.report.figures`; which model
an example figure shows is :mod:`recrepro.report.picking`.

* :mod:`~recrepro.report.plots.common`: the shared page width, notices and panel grids;
* :mod:`~recrepro.report.plots.results`: results per model (intervals, per-K, distributions,
  critical difference, popularity, seed overlap);
* :mod:`~recrepro.report.plots.training`: training and tuning curves;
* :mod:`~recrepro.report.plots.examples`: the example user's recommendations.

A figure whose data is absent (e.g. no iterative model in a smoke run) is still written, with a
one-line notice, so the paper always compiles. Every model has one colour everywhere
(:func:`recrepro.report.style.model_style`).
"""
