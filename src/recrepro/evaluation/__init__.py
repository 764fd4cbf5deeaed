"""Evaluation: vectorised metrics (``metrics``) and the batched model evaluator (``evaluate``)."""

from recrepro.evaluation.evaluate import EvaluationResult, evaluate, validation_score
from recrepro.evaluation.metrics import RANKING_METRICS, ranking_metrics, top_k

__all__ = [
    "RANKING_METRICS",
    "EvaluationResult",
    "evaluate",
    "ranking_metrics",
    "top_k",
    "validation_score",
]
