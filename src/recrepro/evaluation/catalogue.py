"""The metric catalogue: every metric family declared once, read by evaluation, tuning, statistics,
tables and figures.

A metric name is ``{family}[_r{t}][@{K}]``: ``ndcg@10``, ``rmse``, ``fit_seconds``, and
``ndcg_r4@10`` for the relevance-sensitivity variant (only test ratings ``>= 4`` relevant, see
:func:`relevance_variant`). Adding a metric means one :class:`MetricSpec` line here plus the code
that computes it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Direction = Literal["higher", "lower", "none"]


@dataclass(frozen=True)
class MetricSpec:
    """One metric family."""

    family: str
    label: str
    direction: Direction  # which values are better ("none": neither, e.g. popularity)
    per_user: bool  # also written per user in per_user.parquet (testable by the stats layer)
    needs_ratings: bool  # only for models that predict ratings
    at_k: bool  # computed at each cut-off K (name ``family@K``)
    #: How the aggregate pools users: "mean" of per-user values, "pooled_mean" (mean over all
    #: ratings: MAE) or "pooled_rms" (root of the mean squared error over all ratings: RMSE).
    aggregate: str = "mean"
    #: The values lie in [0, 1] (shares and ranking accuracies), else in [0, inf).
    unit_interval: bool = False


CATALOGUE: dict[str, MetricSpec] = {
    spec.family: spec
    for spec in (
        MetricSpec("ndcg", "NDCG", "higher", True, False, True, unit_interval=True),
        MetricSpec("recall", "Recall", "higher", True, False, True, unit_interval=True),
        MetricSpec("hit", "HR", "higher", True, False, True, unit_interval=True),
        MetricSpec("precision", "Precision", "higher", True, False, True, unit_interval=True),
        MetricSpec("map", "MAP", "higher", True, False, True, unit_interval=True),
        MetricSpec("mrr", "MRR", "higher", True, False, True, unit_interval=True),
        MetricSpec("factorized_top", "Factorized top", "higher", False, False, True, unit_interval=True),
        MetricSpec("coverage", "Coverage", "higher", False, False, True, unit_interval=True),
        MetricSpec("popularity", "Popularity", "none", False, False, True),
        MetricSpec("novelty", "Novelty", "higher", False, False, True),
        MetricSpec("rmse", "RMSE", "lower", True, True, False, "pooled_rms"),
        MetricSpec("mae", "MAE", "lower", True, True, False, "pooled_mean"),
        MetricSpec("rmse_all", "RMSE (all test ratings)", "lower", False, True, False),
        MetricSpec("mae_all", "MAE (all test ratings)", "lower", False, True, False),
        MetricSpec("fit_seconds", "Train time (s)", "lower", False, False, False),
        MetricSpec("eval_seconds", "Eval time (s)", "lower", False, False, False),
    )
}

_NAME = re.compile(r"^(?P<family>[a-z_]+?)(?:_r(?P<threshold>\d+(?:\.\d+)?))?(?:@(?P<k>\d+))?$")


@dataclass(frozen=True)
class MetricName:
    """A parsed metric name."""

    family: str
    k: int | None
    threshold: float | None  # relevance threshold of a sensitivity variant, else None

    @property
    def spec(self) -> MetricSpec | None:
        return CATALOGUE.get(self.family)


def parse(metric: str) -> MetricName:
    """``"ndcg_r4@10"`` -> family ndcg, K 10, threshold 4; unknown families keep their name."""
    match = _NAME.match(metric)
    if match is None or match["family"] not in CATALOGUE:
        family, _, k = metric.partition("@")
        return MetricName(family, int(k) if k.isdigit() else None, None)
    threshold = float(match["threshold"]) if match["threshold"] else None
    return MetricName(match["family"], int(match["k"]) if match["k"] else None, threshold)


def direction(metric: str) -> Direction:
    """``"higher"``, ``"lower"`` or ``"none"``; unknown metrics count as higher-is-better."""
    spec = parse(metric).spec
    return spec.direction if spec is not None else "higher"


def higher_is_better(metric: str) -> bool | None:
    """True / False by the catalogue's direction, None where neither direction is better."""
    return {"higher": True, "lower": False, "none": None}[direction(metric)]


def value_range(metric: str) -> tuple[float, float]:
    """The range a metric's values lie in: ``(0, 1)`` or ``(0, inf)`` (unknown metrics:
    unbounded)."""
    spec = parse(metric).spec
    if spec is None:
        return (-math.inf, math.inf)
    return (0.0, 1.0) if spec.unit_interval else (0.0, math.inf)


def label(metric: str) -> str:
    """Human label: ``ndcg@10`` -> ``NDCG@10``, ``ndcg_r4@10`` -> ``NDCG@10 (r≥4)``."""
    name = parse(metric)
    text = name.spec.label if name.spec else name.family.replace("_", " ")
    if name.k is not None:
        text += f"@{name.k}"
    if name.threshold is not None:
        text += f" (r≥{name.threshold:g})"
    return text


#: The preferred main cut-off K (the seeds' and most papers' NDCG@10), where it is evaluated.
MAIN_K = 10


def main_cutoff(ks: Iterable[int]) -> int | None:
    """A study's main K when nothing names it: :data:`MAIN_K` if among ``ks``, else the first of
    ``ks``; None without any. (:class:`recrepro.report.config.PaperConfig` takes the K of
    ``paper.main_metric`` where that has one.)"""
    ks = list(ks)
    return MAIN_K if MAIN_K in ks else (ks[0] if ks else None)


def relevance_variant(metric: str, threshold: float) -> str:
    """The sensitivity variant's name: ``("ndcg@10", 4)`` -> ``"ndcg_r4@10"``."""
    family, at, k = metric.partition("@")
    return f"{family}_r{threshold:g}{at}{k}"


#: Families whose "best" value is meaningful, so tables mark it: accuracy and rating error. Not
#: the beyond-accuracy descriptors (coverage, popularity, novelty: the random model "wins") nor
#: cost (time).
RANKED_FAMILIES = frozenset(
    {"ndcg", "recall", "hit", "precision", "map", "mrr", "factorized_top", "rmse", "mae",
     "rmse_all", "mae_all"}
)  # fmt: skip
#: Families that measure cost, not quality.
COST_FAMILIES = frozenset({"fit_seconds", "eval_seconds"})


def marks_best(metric: str) -> bool:
    """Whether a table may crown a best value of ``metric`` (accuracy and error metrics)."""
    return parse(metric).family in RANKED_FAMILIES and higher_is_better(metric) is not None


def is_cost(metric: str) -> bool:
    return parse(metric).family in COST_FAMILIES
