"""Evaluate a fitted model: full-catalogue top-K ranking with seen items masked, in user batches.

For each batch of evaluated users the model's ``score`` matrix is computed once; the unmasked
scores give the TFRS-style factorized top-K accuracy over the users' test interactions, then
seen items are set to ``-inf`` and the top ``max(ks)`` items give the per-user ranking metrics.
Memory is bounded by ``batch_size x n_items`` scores.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recrepro.core.errors import ConfigError, RecreproError
from recrepro.data.interactions import Interactions
from recrepro.evaluation import catalogue
from recrepro.evaluation import metrics as M

if TYPE_CHECKING:
    from recrepro.models.base import Recommender


@dataclass
class EvaluationResult:
    """Aggregate metrics, per-user metrics (``user`` = user index) and the top-K lists."""

    metrics: dict[str, float]
    per_user: pd.DataFrame
    topk: pd.DataFrame
    n_users_evaluated: int


@dataclass
class _Batches:
    """Accumulated per-batch outputs."""

    users: list[np.ndarray]
    top: list[np.ndarray]
    top_scores: list[np.ndarray]
    ranking: list[dict[str, np.ndarray]]
    factorized: list[dict[str, np.ndarray]]


def _check_ks(ks: Sequence[int], n_items: int) -> list[int]:
    ks = sorted({int(k) for k in ks})
    if not ks or ks[0] < 1:
        raise ConfigError(f"evaluation cut-offs must be positive integers, got {list(ks)}")
    if ks[-1] > n_items:
        raise ConfigError(
            f"evaluation cut-off K={ks[-1]} exceeds the catalogue size ({n_items} items); "
            "lower the largest K"
        )
    return ks


def _name(model: Recommender) -> str:
    return getattr(model, "name", "") or type(model).__name__


def _model_scores(model: Recommender, users: np.ndarray, n_items: int) -> np.ndarray:
    """A float copy of ``model.score(users)``, checked for shape and NaN."""
    raw = np.asarray(model.score(users))
    name = _name(model)
    if raw.shape != (len(users), n_items):
        raise RecreproError(
            f"model '{name}' returned scores of shape {raw.shape}, expected "
            f"({len(users)}, {n_items}): score() must cover every catalogue item"
        )
    scores = np.array(raw, dtype=np.result_type(raw.dtype, np.float32))  # copy: we mask it
    if np.isnan(scores).any():
        raise RecreproError(f"model '{name}' returned NaN scores; the model did not train properly")
    return scores


def _score_batches(
    model: Recommender,
    users: np.ndarray,
    seen: Interactions,
    relevant: sp.csr_matrix,
    test: Interactions,
    ks: list[int],
    batch_size: int,
) -> _Batches:
    """Score, mask and rank ``users`` (sorted) in batches."""
    n_items = seen.n_items
    seen_m = seen.matrix()
    order = np.argsort(test.user, kind="stable")
    test_users, test_items = test.user[order], test.item[order]
    out = _Batches([], [], [], [], [])
    for start in range(0, len(users), batch_size):
        batch = users[start : start + batch_size]
        scores = _model_scores(model, batch, n_items)
        lo, hi = np.searchsorted(test_users, [batch[0], batch[-1] + 1])
        in_batch = np.isin(test_users[lo:hi], batch)
        rows = np.searchsorted(batch, test_users[lo:hi][in_batch])
        out.factorized.append(M.factorized_top_k(scores, rows, test_items[lo:hi][in_batch], ks))
        masked = seen_m[batch]
        scores[np.repeat(np.arange(len(batch)), np.diff(masked.indptr)), masked.indices] = -np.inf
        top = M.top_k(scores, ks[-1])
        out.users.append(batch)
        out.top.append(top)
        out.top_scores.append(np.take_along_axis(scores, top, axis=1))
        out.ranking.append(M.ranking_metrics(top, relevant[batch], ks))
    return out


def _contextual_factorized(
    model: Recommender, test: Interactions, ks: list[int], batch_size: int
) -> dict[str, np.ndarray] | None:
    """``factorized_top@K`` per test interaction scored with its own query
    (``model.interaction_scores``), or None when the model's query is the user alone."""
    parts = []
    for start in range(0, len(test), batch_size):
        chunk = test.subset(np.arange(start, min(start + batch_size, len(test))))
        scores = model.interaction_scores(chunk)
        if scores is None:
            return None
        if np.shape(scores) != (len(chunk), test.n_items) or np.isnan(scores).any():
            raise RecreproError(
                f"model '{_name(model)}' returned invalid interaction scores of shape "
                f"{np.shape(scores)}, expected ({len(chunk)}, {test.n_items}) without NaN"
            )
        parts.append(M.factorized_top_k(scores, np.arange(len(chunk)), chunk.item, ks))
    return _concat(parts) if parts else None


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


def _rating_errors(
    model: Recommender, test: Interactions, per_user: pd.DataFrame
) -> dict[str, float]:
    """RMSE/MAE over the test ratings of the evaluated users (``per_user["user"]``, the users the
    paired tests compare) and ``rmse_all``/``mae_all`` over all test ratings (cold users too).

    Adds per-user ``rmse``, ``mae`` and ``n_ratings`` (that user's test ratings) to ``per_user``,
    so the statistics can pool squared errors exactly as the aggregate does.
    """
    pred = np.asarray(model.predict(test.user, test.item), np.float64)
    if pred.shape != (len(test),) or np.isnan(pred).any():
        raise RecreproError(
            f"model '{_name(model)}' returned invalid rating predictions (shape {pred.shape}, "
            f"expected ({len(test)},), NaN not allowed)"
        )
    err = pd.DataFrame({"user": test.user, "se": (pred - test.rating) ** 2})
    err["ae"] = np.sqrt(err["se"])
    by_user = err.groupby("user").agg(se=("se", "mean"), ae=("ae", "mean"), n=("se", "size"))
    users = per_user["user"]
    per_user["rmse"] = users.map(np.sqrt(by_user["se"])).to_numpy(np.float64)
    per_user["mae"] = users.map(by_user["ae"]).to_numpy(np.float64)
    per_user["n_ratings"] = users.map(by_user["n"]).fillna(0).to_numpy(np.int64)
    mine = np.isin(test.user, users.to_numpy())
    every = M.rating_errors(pred, test.rating)
    return {
        **M.rating_errors(pred[mine], test.rating[mine]),
        "rmse_all": every["rmse"], "mae_all": every["mae"],
    }


def _relevance_variant(
    top: np.ndarray, users: np.ndarray, test: Interactions, threshold: float, ks: list[int],
    per_user: pd.DataFrame, result: dict[str, float],
) -> None:
    """Ranking metrics of the same top-K lists with only test ratings ``>= threshold`` relevant,
    as ``{family}_r{threshold}@K`` columns (NaN for users without such a rating) and means."""
    relevant = test.subset(test.rating >= threshold).matrix()[users]
    has = np.diff(relevant.indptr) > 0
    values = M.ranking_metrics(top, relevant, ks)
    for name, per in values.items():
        column = catalogue.relevance_variant(name, threshold)
        per_user[column] = np.where(has, per, np.nan)
        result[column] = float(per[has].mean()) if has.any() else float("nan")


def evaluate(
    model: Recommender,
    train: Interactions,
    test: Interactions,
    *,
    ks: Sequence[int],
    seen: Interactions | None = None,
    relevance_threshold: float | None = None,
    sensitivity_threshold: float | None = None,
    batch_size: int = 1024,
) -> EvaluationResult:
    """Evaluate ``model`` on ``test``: ranking metrics at each K, beyond-accuracy, rating errors.

    ``seen`` (default ``train``) items are masked before ranking. Relevant items are the test
    interactions (rated ``>= relevance_threshold`` if given). Users with at least one relevant
    test item and one training interaction are evaluated; aggregate ranking metrics are means
    over them. ``factorized_top@K`` uses unmasked scores and all test interactions of evaluated
    users (threshold not applied), averaged over interactions; a model whose query carries the
    interaction's context scores each with its own query (``interaction_scores``); it then also
    gets ``factorized_top@K_last_train``, the same fit's scores with the user's query at its last
    training time (``score``), at no extra fit.
    ``coverage@K``, ``popularity@K`` and ``novelty@K`` use training item counts. Rating models
    also get ``rmse``/``mae`` over the evaluated users' test ratings (``rmse_all``/``mae_all``:
    all test ratings), and per-user ``rmse``/``mae``/``n_ratings`` columns. With
    ``sensitivity_threshold`` the same top-K lists are also scored with only ratings
    ``>= sensitivity_threshold`` relevant (``ndcg_r4@10``, ...; one pass, no extra scoring).
    """
    n_items = train.n_items
    ks = _check_ks(ks, n_items)
    if batch_size < 1:
        raise ConfigError(f"batch_size must be positive, got {batch_size}")
    seen = train if seen is None else seen
    keep = np.ones(len(test), bool)
    if relevance_threshold is not None:
        keep = test.rating >= relevance_threshold
    relevant = test.subset(keep).matrix()
    n_relevant = np.diff(relevant.indptr)
    has_train = np.bincount(train.user, minlength=train.n_users) > 0
    users = np.flatnonzero((n_relevant > 0) & has_train)
    if len(users) == 0:
        raise RecreproError(
            f"no user can be evaluated: none has both a training interaction and a relevant "
            f"test item ({len(test)} test interactions, relevance threshold "
            f"{relevance_threshold}); check the split and the threshold"
        )
    test_users = test.subset(np.isin(test.user, users))
    batches = _score_batches(model, users, seen, relevant, test_users, ks, batch_size)

    ranking = _concat(batches.ranking)
    top = np.concatenate(batches.top)
    per_user = pd.DataFrame({"user": users, **ranking, "n_relevant": n_relevant[users]})
    result = {key: float(np.mean(values)) for key, values in ranking.items()}
    factorized = _contextual_factorized(model, test_users, ks, batch_size)
    if factorized is None:
        factorized = _concat(batches.factorized)
    else:  # the same fit queried at the user's last training time, as score() queries it
        result.update({f"{k}_last_train": float(np.mean(v)) for k, v in _concat(batches.factorized).items()})
    result.update({k: float(np.mean(v)) for k, v in factorized.items()})
    counts = train.item_counts()
    for k in ks:
        result[f"coverage@{k}"] = M.coverage(top[:, :k], n_items)
        result[f"popularity@{k}"] = M.mean_popularity(top[:, :k], counts)
        result[f"novelty@{k}"] = M.novelty(top[:, :k], counts, train.n_users)
    if sensitivity_threshold is not None:
        _relevance_variant(top, users, test, sensitivity_threshold, ks, per_user, result)
    if model.predicts_ratings:
        result.update(_rating_errors(model, test, per_user))

    max_k = top.shape[1]
    topk = pd.DataFrame(
        {
            "user": np.repeat(users, max_k),
            "rank": np.tile(np.arange(1, max_k + 1), len(users)),
            "item": top.ravel(),
            "score": np.concatenate(batches.top_scores).ravel(),
        }
    )
    return EvaluationResult(result, per_user, topk, len(users))


def higher_is_better(metric: str) -> bool:
    """Direction of a metric for optimisation (tuning, early stopping), read from the catalogue:
    False for lower-is-better metrics (errors, times); True otherwise. Directionless metrics
    (``popularity@K``) cannot be optimised and raise a :class:`ConfigError`."""
    direction = catalogue.higher_is_better(metric)
    if direction is None:
        raise ConfigError(f"metric '{metric}' has no better direction; optimise another metric")
    return direction


def validation_score(
    model: Recommender, train: Interactions, valid: Interactions, metric: str = "ndcg@10"
) -> float:
    """One aggregate metric (e.g. ``"ndcg@10"``) on ``valid`` with ``train`` items masked.

    ``"rmse"`` and ``"mae"`` (lower is better) are the rating errors of a rating model on ``valid``.
    """
    if metric in ("rmse", "mae"):
        if not model.predicts_ratings:
            raise ConfigError(f"validation metric '{metric}' needs a rating model, not '{model.name}'")
        return M.rating_errors(model.predict(valid.user, valid.item), valid.rating)[metric]
    name, _, k = metric.partition("@")
    known = tuple(f for f, spec in catalogue.CATALOGUE.items() if spec.at_k)
    if name not in known or not k.isdigit():
        raise ConfigError(
            f"unknown validation metric '{metric}'; use <metric>@<K> with metric one of "
            f"{', '.join(known)}"
        )
    if name not in M.RANKING_METRICS:  # factorized top-K, coverage, novelty: the full evaluation
        return evaluate(model, train, valid, ks=[int(k)]).metrics[metric]
    return _ranking_validation(train, valid).score(model, metric, int(k))


class RankingValidation:
    """The per-user ranking metric of :func:`evaluate` (default arguments) on fixed data, with
    the data's part prepared once: the evaluated users, their masks and relevant items.

    :meth:`score` returns exactly ``evaluate(model, train, valid, ks=[k]).metrics[metric]``
    for the ranking families (same users, batches, masking, top-K and per-user values, in the
    same order), without the rest of the evaluation (factorized top-K, beyond-accuracy metrics,
    rating errors, top-K tables). The per-epoch validation of the TF models and the search's
    trial scores use it; :func:`_ranking_validation` caches one per (train, valid) pair.
    """

    def __init__(self, train: Interactions, valid: Interactions, batch_size: int = 1024) -> None:
        self.n_items = train.n_items
        relevant = valid.matrix()
        n_relevant = np.diff(relevant.indptr)
        has_train = np.bincount(train.user, minlength=train.n_users) > 0
        users = np.flatnonzero((n_relevant > 0) & has_train)
        self.n_valid = len(valid)
        self.users = users
        seen_m = train.matrix()
        #: Per batch: users, masked (row, item) positions and the relevant matrix's rows.
        self.batches: list[tuple[np.ndarray, tuple[np.ndarray, np.ndarray], sp.csr_matrix]] = []
        for start in range(0, len(users), batch_size):
            batch = users[start : start + batch_size]
            masked = seen_m[batch]
            rows = np.repeat(np.arange(len(batch)), np.diff(masked.indptr))
            self.batches.append((batch, (rows, masked.indices), relevant[batch]))

    def score(self, model: Recommender, metric: str, k: int) -> float:
        """Mean ``metric`` (``"ndcg@10"``, K = ``k``) over the evaluated users."""
        ks = _check_ks([k], self.n_items)
        if len(self.users) == 0:
            raise RecreproError(
                f"no user can be evaluated: none has both a training interaction and a relevant "
                f"test item ({self.n_valid} test interactions, relevance threshold None); check "
                "the split and the threshold"
            )
        values = []
        for batch, masked, relevant in self.batches:
            scores = _model_scores(model, batch, self.n_items)
            scores[masked] = -np.inf
            top = M.top_k(scores, ks[-1])
            values.append(M.ranking_metrics(top, relevant, ks)[metric])
        return float(np.mean(np.concatenate(values)))


#: :class:`RankingValidation` per training part, then per validation part (weak keys: an entry
#: goes when its data does; :class:`Interactions` are never modified).
_VALIDATIONS: weakref.WeakKeyDictionary[
    Interactions, weakref.WeakKeyDictionary[Interactions, RankingValidation]
] = weakref.WeakKeyDictionary()


def _ranking_validation(train: Interactions, valid: Interactions) -> RankingValidation:
    """The cached :class:`RankingValidation` of (``train``, ``valid``), keyed by identity."""
    by_valid = _VALIDATIONS.setdefault(train, weakref.WeakKeyDictionary())
    prepared = by_valid.get(valid)
    if prepared is None:
        prepared = by_valid[valid] = RankingValidation(train, valid)
    return prepared
