"""LightFM's MovieLens example, run with LightFM's own code on the ``grouplens_ua`` split.

The example ("An implicit feedback recommender for the Movielens dataset", LightFM's
``examples/movielens/example.ipynb``, rendered in its documentation): ``fetch_movielens()``
gives GroupLens' ``ua.base`` / ``ua.test`` with every rating as an interaction (``min_rating``
0, the ratings as values); two models with 10 components,

* ``LightFM(learning_rate=0.05, loss="bpr")`` trained by ``fit(train, epochs=10)``,
* ``LightFM(learning_rate=0.05, loss="warp")`` trained by ``fit_partial(train, epochs=10)``

(both from fresh models, so the same training), then LightFM's own
``precision_at_k(model, ·, k=10).mean()`` and ``auc_score(model, ·).mean()`` on the training
and the test interactions. Neither excludes the user's training movies from the ranking. The
protocol's split (``grouplens_ua``) holds exactly those files; ``random_state`` comes from the
seed.

Metrics, for ``warp`` and ``bpr``: ``<model>.precision@10_train``, ``.precision@10_test``,
``.auc_train``, ``.auc_test`` and, beside them, ``.precision@10_test_masked`` and
``.auc_test_masked`` (``train_interactions=train``: training movies excluded, as the study's
evaluator does; the pair shows which convention the published numbers follow).

Nulls under the same metrics and convention (training movies not excluded): ``random.*``
(uniform random scores from the seed) and ``popularity.*`` (each movie's number of training
interactions, the same for every user). Their metrics are :func:`precision_at_k` and
:func:`auc_score`, NumPy versions of LightFM's (same ranks, ties and AUC formula).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp

DESCRIPTION = (
    "LightFM's MovieLens example (WARP and BPR, 10 epochs) on GroupLens ua.base/ua.test: "
    "LightFM's precision@10 and AUC, train and test; random and popularity nulls"
)
LEARNING_RATE, EPOCHS, K = 0.05, 10, 10


def run(data_dir: Path, split_dir: Path | None, seed: int) -> dict[str, float]:
    """The example's two models and the two nulls on the split, for one seed."""
    from lightfm import LightFM

    from recrepro.data.loading import load_split

    split = load_split(data_dir, split_dir)  # grouplens_ua: ua.base, no validation, ua.test
    # the ratings as values, as fetch_movielens gives them (LightFM reads the non-zero entries)
    train, test = split.train.matrix("rating").tocoo(), split.test.matrix("rating").tocoo()
    metrics: dict[str, float] = {}
    for loss in ("warp", "bpr"):
        model = LightFM(learning_rate=LEARNING_RATE, loss=loss, random_state=np.random.RandomState(seed))
        if loss == "warp":
            model.fit_partial(train, epochs=EPOCHS)  # the example's WARP cell
        else:
            model.fit(train, epochs=EPOCHS)  # the example's BPR cell (fit = reset + fit_partial)
        metrics.update(_prefixed(loss, lightfm_metrics(model, train, test)))
    n_users, n_items = train.shape
    counts = np.bincount(train.col, minlength=n_items).astype(np.float64)
    nulls = {
        "random": np.random.default_rng(seed).random((n_users, n_items)),
        "popularity": np.broadcast_to(counts, (n_users, n_items)),
    }
    for name, scores in nulls.items():
        metrics.update(_prefixed(name, score_metrics(scores, train, test)))
    return metrics


def lightfm_metrics(model, train: sp.coo_matrix, test: sp.coo_matrix) -> dict[str, float]:
    """LightFM's own precision@10 and AUC of a fitted model (unmasked, and test masked)."""
    from lightfm.evaluation import auc_score as lightfm_auc
    from lightfm.evaluation import precision_at_k as lightfm_precision

    train_csr = train.tocsr()
    return {
        "precision@10_train": float(lightfm_precision(model, train, k=K).mean()),
        "precision@10_test": float(lightfm_precision(model, test, k=K).mean()),
        "precision@10_test_masked": float(
            lightfm_precision(model, test, train_interactions=train_csr, k=K).mean()
        ),
        "auc_train": float(lightfm_auc(model, train).mean()),
        "auc_test": float(lightfm_auc(model, test).mean()),
        "auc_test_masked": float(lightfm_auc(model, test, train_interactions=train_csr).mean()),
    }


def score_metrics(scores: np.ndarray, train: sp.spmatrix, test: sp.spmatrix) -> dict[str, float]:
    """:func:`lightfm_metrics` for a users x items score matrix (the nulls)."""
    return {
        "precision@10_train": float(precision_at_k(scores, train, k=K).mean()),
        "precision@10_test": float(precision_at_k(scores, test, k=K).mean()),
        "precision@10_test_masked": float(precision_at_k(scores, test, train, k=K).mean()),
        "auc_train": float(auc_score(scores, train).mean()),
        "auc_test": float(auc_score(scores, test).mean()),
        "auc_test_masked": float(auc_score(scores, test, train).mean()),
    }


def positive_ranks(
    scores: np.ndarray, positives: sp.spmatrix, exclude: sp.spmatrix | None = None
) -> sp.csr_matrix:
    """LightFM's ``predict_rank``: for each positive (user, item), the number of *other* items,
    not in the user's ``exclude`` row, whose score is at least the item's own (ties count
    against it). 0 is the top of the list."""
    positives = sp.csr_matrix(positives)
    exclude = sp.csr_matrix(positives.shape) if exclude is None else sp.csr_matrix(exclude)
    ranks = np.zeros(positives.nnz, np.float64)
    for user in np.flatnonzero(np.diff(positives.indptr)):
        start, stop = positives.indptr[user], positives.indptr[user + 1]
        row = np.asarray(scores[user])
        allowed = np.ones(row.shape[0], bool)
        allowed[exclude.indices[exclude.indptr[user] : exclude.indptr[user + 1]]] = False
        ranked = np.sort(row[allowed])
        items = positives.indices[start:stop]
        at_least = len(ranked) - np.searchsorted(ranked, row[items], side="left")
        ranks[start:stop] = at_least - allowed[items]  # the item itself is not counted
    return sp.csr_matrix((ranks, positives.indices, positives.indptr), shape=positives.shape)


def precision_at_k(
    scores: np.ndarray, positives: sp.spmatrix, exclude: sp.spmatrix | None = None, k: int = K
) -> np.ndarray:
    """LightFM's ``precision_at_k``: per user with positives, the share of the ``k`` list
    positions taken by positives (ranks below ``k``), divided by ``k``."""
    ranks = positive_ranks(scores, positives, exclude)
    counts = np.diff(ranks.indptr)
    users = np.repeat(np.arange(ranks.shape[0]), counts)
    hits = np.bincount(users, weights=ranks.data < k, minlength=ranks.shape[0])
    return hits[counts > 0] / k


def auc_score(scores: np.ndarray, positives: sp.spmatrix, exclude: sp.spmatrix | None = None) -> np.ndarray:
    """LightFM's ``auc_score``: per user with positives, the mean over its positives (ranks
    sorted, the ``i``-th lowered by ``i`` for the positives above it, floored at 0) of
    ``1 - rank / negatives``, where negatives are the items neither positive nor excluded."""
    ranks = positive_ranks(scores, positives, exclude)
    n_items = ranks.shape[1]
    excluded = np.zeros(ranks.shape[0], np.int64)
    if exclude is not None:
        excluded = sp.csr_matrix(exclude).getnnz(axis=1)
    out = []
    for user in np.flatnonzero(np.diff(ranks.indptr)):
        own = np.sort(ranks.data[ranks.indptr[user] : ranks.indptr[user + 1]])
        negatives = n_items - (len(own) + excluded[user])
        if negatives == n_items:
            out.append(0.5)
            continue
        above = np.maximum(own - np.arange(len(own)), 0.0)
        out.append(float(np.mean(1.0 - above / negatives)))
    return np.asarray(out)


def _prefixed(prefix: str, metrics: dict[str, float]) -> dict[str, float]:
    return {f"{prefix}.{name}": value for name, value in metrics.items()}
