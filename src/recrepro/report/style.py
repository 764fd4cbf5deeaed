"""One look for every table and figure: number formats, model order, and per-model colour /
hatch / marker that stay readable in greyscale. Metric labels and directions come from
:mod:`recrepro.evaluation.catalogue`.

A model's look is declared with the model (its class's ``colour``, ``marker`` and ``hatch``,
:class:`recrepro.models.base.Recommender`); what a model leaves undeclared, and every name that is
no registered model (e.g. a ``<model>__<variant>``), is picked from a hash of the name. So a
model looks the same in every figure and every run, whatever the model set.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recrepro.core.io import atomic_path
from recrepro.core.rng import derive_seed
from recrepro.evaluation import catalogue
from recrepro.evaluation.catalogue import is_cost, marks_best  # noqa: F401 (re-exported)

# Okabe & Ito colour-blind-safe palette (used for non-model categories, e.g. pie slices).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
#: Colours for models that declare none, picked by a hash of the name. The declared colours
#: (baselines earthy/grey, seed models saturated) never repeat these (tests/test_report.py).
EXTRA_COLOURS = ("#637939", "#8C6D31", "#843C39", "#7B4173", "#3182BD", "#E6550D", "#31A354")
HATCHES = ("", "//", "..", "xx", "\\\\", "oo", "--")  # 7 is coprime with 8 colours
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "*", "h")

_TEST_LABELS = {
    "wilcoxon": "Wilcoxon signed-rank test",
    "ttest": "paired t-test",
    "t-test": "paired t-test",
    "ttest_rel": "paired t-test",
    "paired_t": "paired t-test",
    "permutation": "permutation test",
    "signflip": "sign-flip randomization test of the mean",
    "crossed": "users x seeds crossed random-effects t-test",
    "sign": "sign test",
    "bootstrap": "paired bootstrap test",
}
_CORRECTION_LABELS = {
    "holm": "Holm",
    "bonferroni": "Bonferroni",
    "fdr_bh": "Benjamini-Hochberg",
    "bh": "Benjamini-Hochberg",
    "benjamini-hochberg": "Benjamini-Hochberg",
    "none": "no",
    "hommel": "Hommel",
    "sidak": "Sidak",
    "holm-sidak": "Holm-Sidak",
}


def split_metric(metric: str) -> tuple[str, int | None]:
    """``"ndcg@10"`` -> ``("ndcg", 10)``; ``"rmse"`` -> ``("rmse", None)``."""
    family, _, k = metric.partition("@")
    return family, (int(k) if k.isdigit() else None)


#: Reader-facing names of the retrieval objectives (``recrepro.models.tf.bases.OBJECTIVES``).
OBJECTIVE_NAMES = {
    "in_batch": "in-batch softmax",
    "in_batch_logq": "in-batch softmax with logQ correction",
    "full_softmax": "full softmax",
}
#: The same, short, for table cells.
OBJECTIVE_SHORT = {"in_batch": "in-batch", "in_batch_logq": "logQ", "full_softmax": "full"}


def metric_label(metric: str) -> str:
    """Human label from the metric catalogue: ``ndcg@10`` -> ``NDCG@10``."""
    return catalogue.label(metric)


def family_label(family: str) -> str:
    return catalogue.label(family)


def higher_is_better(metric: str) -> bool | None:
    """The catalogue's direction: True/False, None if neither is better (e.g. popularity)."""
    return catalogue.higher_is_better(metric)


def test_label(name: str) -> str:
    return _TEST_LABELS.get(str(name).lower(), str(name))


def correction_label(name: str) -> str:
    return _CORRECTION_LABELS.get(str(name).lower(), str(name))


def corrections_used(tests: Any) -> str:
    """The multiple-comparison correction(s) of a ``pairwise.csv`` selection, as printed
    (``"Holm"``; ``"Holm / Bonferroni"`` if mixed; ``"no"`` without tests)."""
    if tests is None or len(tests) == 0 or "correction" not in tests:
        return "no"
    return " / ".join(sorted({correction_label(c) for c in tests["correction"].dropna()})) or "no"


def decimals(value: float) -> int:
    """Digits after the point: 3 below 10, 1 below 100, else 0."""
    size = abs(value)
    return 3 if size < 10 else 1 if size < 100 else 0


def format_number(value: float | None, digits: int | None = None) -> str:
    """A finite number with :func:`decimals` digits (or ``digits``); ``""`` if missing."""
    if value is None or not math.isfinite(float(value)):
        return ""
    value = float(value)
    text = f"{value:.{decimals(value) if digits is None else digits}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text  # no "-0.000"


def format_p(p: float | None) -> str:
    """A p-value as ``< 0.001`` or with three decimals; ``""`` if missing."""
    if p is None or not math.isfinite(float(p)):
        return ""
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


@dataclass(frozen=True)
class ModelStyle:
    model: str
    colour: str
    hatch: str
    marker: str


class ModelStyles:
    """Model order and styles derived from the configured model list."""

    def __init__(self, models: Iterable[str]) -> None:
        self.models: list[str] = list(dict.fromkeys(models))

    def order(self, present: Iterable[str]) -> list[str]:
        """``present`` models in configured order; unconfigured ones after, alphabetically."""
        present = set(present)
        known = [m for m in self.models if m in present]
        return known + sorted(present - set(known))

    def __getitem__(self, model: str) -> ModelStyle:
        return model_style(model)


def _declared(model: str) -> Any:
    """The registered class named exactly ``model`` (a variant's name is not its model's), else
    None."""
    from recrepro.models.registry import available_models, get_model_class

    return get_model_class(model) if model in available_models() else None


def model_style(model: str) -> ModelStyle:
    """The look of ``model``: its class's declared ``colour``, ``marker`` and ``hatch``, each
    picked from a hash of the name where undeclared (stable across model sets and runs)."""
    cls = _declared(model)
    i = derive_seed("model-style", model) % 997
    hatch = getattr(cls, "hatch", None)
    return ModelStyle(
        model=model,
        colour=getattr(cls, "colour", "") or EXTRA_COLOURS[i % len(EXTRA_COLOURS)],
        hatch=HATCHES[i % len(HATCHES)] if hatch is None else hatch,
        marker=getattr(cls, "marker", "") or MARKERS[i % len(MARKERS)],
    )


def setup_matplotlib() -> Any:
    """Select the Agg backend and the paper's rc settings; returns ``matplotlib.pyplot``."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "font.size": 8,
            "axes.titlesize": 8,
            "axes.labelsize": 8,
            "legend.fontsize": 7,
            "xtick.labelsize": 7,
            "ytick.labelsize": 7,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "hatch.linewidth": 0.6,
            "pdf.fonttype": 42,
            "svg.hashsalt": "recrepro",
            "figure.dpi": 100,
        }
    )
    return plt


def save_figure(fig: Any, stem: str | Path, png_dpi: int = 200) -> list[Path]:
    """Write ``stem.pdf`` and ``stem.png`` atomically, without timestamps; closes ``fig``."""
    import matplotlib.pyplot as plt

    stem = Path(stem)
    written = []
    for fmt, metadata in (("pdf", {"CreationDate": None}), ("png", {"Software": None})):
        target = stem.with_suffix(f".{fmt}")
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format=fmt, dpi=png_dpi, bbox_inches="tight", metadata=metadata)
        written.append(target)
    plt.close(fig)
    return written


def wrap_label(text: str, width: int = 22) -> str:
    """Wrap a long title onto several lines for tick labels."""
    import textwrap

    return "\n".join(textwrap.wrap(str(text), width)) or str(text)
