"""Sources' own evaluation code, run on the study's splits (the ``experiment:<name>`` rows of the
reproduction table, :mod:`recrepro.report.reproduction`).

``lightfm_example``: LightFM's MovieLens example ("An implicit feedback recommender for the
Movielens dataset"): ``fetch_movielens()`` gives GroupLens' ``ua.base`` / ``ua.test`` with every
rating as an interaction (``min_rating`` 0), ``LightFM(learning_rate=0.05, loss="warp")``
(10 components) trained by ``fit_partial(train, epochs=10)``, then LightFM's own
``precision_at_k(model, test, k=10)`` and ``auc_score(model, test)``, which do not exclude the
user's training movies. The experiment computes them on the protocol's split (``grouplens_ua``
holds exactly those files) and, beside them, the same metrics with ``train_interactions=train``
(training movies excluded, as the study's evaluator does): the pair shows which convention the
published number follows.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from recrepro.errors import ConfigError


def lightfm_example(data_dir: Path, split_dir: Path, seed: int) -> dict[str, float]:
    """LightFM's MovieLens example on the split; metrics with and without training items."""
    from lightfm import LightFM
    from lightfm.evaluation import auc_score, precision_at_k

    from recrepro.runner import load_split

    split = load_split(data_dir, split_dir)
    # the ratings as values, as fetch_movielens gives them
    train, test = split.train.matrix("rating").tocoo(), split.test.matrix("rating").tocoo()
    model = LightFM(learning_rate=0.05, loss="warp", random_state=np.random.RandomState(seed))
    model.fit_partial(train, epochs=10)
    train_csr = train.tocsr()
    return {
        "precision@10_train": float(precision_at_k(model, train, k=10).mean()),
        "precision@10_test": float(precision_at_k(model, test, k=10).mean()),
        "precision@10_test_masked": float(
            precision_at_k(model, test, train_interactions=train_csr, k=10).mean()
        ),
        "auc_train": float(auc_score(model, train).mean()),
        "auc_test": float(auc_score(model, test).mean()),
        "auc_test_masked": float(auc_score(model, test, train_interactions=train_csr).mean()),
    }


EXPERIMENTS: dict[str, Callable[[Path, Path, int], dict[str, float]]] = {
    "lightfm_example": lightfm_example,
}


def run_experiment(name: str, data_dir: Path, split_dir: Path, seed: int) -> dict[str, float]:
    """Metrics of experiment ``name`` on one split and seed."""
    try:
        experiment = EXPERIMENTS[name]
    except KeyError:
        raise ConfigError(f"unknown experiment '{name}'; known: {', '.join(EXPERIMENTS)}") from None
    return experiment(Path(data_dir), Path(split_dir), seed)
