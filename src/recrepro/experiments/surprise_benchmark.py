"""Surprise's own benchmark on MovieLens 100K, run with Surprise's own code.

Surprise's README table ("Benchmarks", made by ``examples/benchmark.py`` of the Surprise
repository) gives the mean RMSE and MAE over a 5-fold cross-validation of ML-100K of each
algorithm with its default parameters: ``data = Dataset.load_builtin("ml-100k")``,
``kf = KFold(random_state=0)`` (5 shuffled folds, the same for every algorithm) and
``cross_validate(algo, data, ["rmse", "mae"], kf)``; randomised algorithms get
``random_state=0`` and the script seeds NumPy's and Python's global generators with 0.

Here the Dataset is built with ``Dataset.load_from_df`` from the study's parsed ratings
(``<data_dir>/ratings.parquet``: ``user``, ``item``, ``rating`` in ``u.data``'s row order, which
the data preparation keeps), so ``KFold(random_state=0)`` makes exactly the folds it makes from
``u.data`` (tests/test_experiments.py checks every fold's test ratings). The folds are fixed;
the seed only seeds the algorithms: ``random_state=seed`` and NumPy's and Python's global
generators (``NormalPredictor`` draws from NumPy's; both are restored afterwards).

Two experiments:

* ``surprise_benchmark`` (:data:`RANDOMISED`, run per seed): SVD, SVD++ (``cache_ratings=True``;
  the README has a row for each setting, with the same numbers: the cache changes the speed
  only), NMF, Co-Clustering and the normal "Random" predictor; and, for comparison, the study's
  own ``biased_mf`` (its faithful setting: the model's defaults, ``models.biased_mf: {}`` in
  config/config.yaml) fitted on each fold's training ratings and scored on its test ratings
  (:func:`biased_mf_folds`);
* ``surprise_benchmark_deterministic`` (:data:`DETERMINISTIC`, one seed): BaselineOnly, Slope
  One and the three k-NN algorithms, which have no random state (checked by running them twice).

Metrics: ``<algorithm>.rmse`` and ``<algorithm>.mae`` (the means over the five folds, as the
README prints them) and ``<algorithm>.cpu_seconds`` (``time.process_time`` of its
cross-validation: fitting and scoring the five folds; varies with the machine's load).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recrepro.core.errors import DataError

log = logging.getLogger(__name__)

#: KFold of the benchmark script: 5 shuffled folds, ``random_state=0``
N_FOLDS, FOLD_SEED = 5, 0
RANDOMISED = ("SVD", "SVDpp", "NMF", "CoClustering", "NormalPredictor")
DETERMINISTIC = ("BaselineOnly", "SlopeOne", "KNNBasic", "KNNWithMeans", "KNNBaseline")
DESCRIPTION_RANDOMISED = (
    "Surprise's README benchmark (examples/benchmark.py: ML-100K, KFold(random_state=0), 5 folds): "
    "mean RMSE/MAE of SVD, SVD++, NMF, CoClustering, NormalPredictor, and the study's biased_mf"
)
DESCRIPTION_DETERMINISTIC = (
    "Surprise's README benchmark (examples/benchmark.py: ML-100K, KFold(random_state=0), 5 folds): "
    "mean RMSE/MAE of BaselineOnly, SlopeOne, KNNBasic, KNNWithMeans, KNNBaseline (no random state)"
)


def run_randomised(data_dir: Path, split_dir: Path | None, seed: int) -> dict[str, float]:
    """The randomised algorithms and ``biased_mf`` on Surprise's folds, for one seed."""
    metrics = cross_validate_algorithms(data_dir, RANDOMISED, seed)
    t0 = time.process_time()
    metrics.update(biased_mf_folds(data_dir, seed))
    metrics["biased_mf.cpu_seconds"] = time.process_time() - t0
    return metrics


def run_deterministic(data_dir: Path, split_dir: Path | None, seed: int) -> dict[str, float]:
    """The algorithms without a random state on Surprise's folds (the seed changes nothing)."""
    return cross_validate_algorithms(data_dir, DETERMINISTIC, seed)


def algorithm(name: str, seed: int) -> Any:
    """Surprise's algorithm ``name`` with its default parameters (as the benchmark script makes
    it, with ``random_state=seed`` for ``random_state=0``; no progress messages)."""
    import surprise

    makers: dict[str, Callable[[], Any]] = {
        "SVD": lambda: surprise.SVD(random_state=seed),
        "SVDpp": lambda: surprise.SVDpp(random_state=seed, cache_ratings=True),
        "NMF": lambda: surprise.NMF(random_state=seed),
        "CoClustering": lambda: surprise.CoClustering(random_state=seed),
        "NormalPredictor": surprise.NormalPredictor,  # NumPy's global generator (seeded)
        "BaselineOnly": lambda: surprise.BaselineOnly(verbose=False),
        "SlopeOne": surprise.SlopeOne,
        "KNNBasic": lambda: surprise.KNNBasic(verbose=False),
        "KNNWithMeans": lambda: surprise.KNNWithMeans(verbose=False),
        "KNNBaseline": lambda: surprise.KNNBaseline(verbose=False),
    }
    return makers[name]()


def load_dataset(data_dir: str | Path):
    """The parsed ratings as a Surprise Dataset, rows in ``ratings.parquet``'s order."""
    from surprise import Dataset, Reader

    path = Path(data_dir) / "ratings.parquet"
    if not path.is_file():
        raise DataError(f"{path} is missing; prepare the dataset first (recrepro prepare)")
    ratings = pd.read_parquet(path, columns=["user", "item", "rating"])
    scale = (float(ratings["rating"].min()), float(ratings["rating"].max()))
    return Dataset.load_from_df(ratings, Reader(rating_scale=scale))


def folds():
    """The benchmark script's cross-validation iterator."""
    from surprise.model_selection import KFold

    return KFold(n_splits=N_FOLDS, random_state=FOLD_SEED)


@contextmanager
def seeded_globals(seed: int) -> Iterator[None]:
    """NumPy's and Python's global generators seeded (as the benchmark script does), then
    restored."""
    numpy_state, python_state = np.random.get_state(), random.getstate()
    np.random.seed(seed)
    random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)


def cross_validate_algorithms(data_dir: str | Path, names: tuple[str, ...], seed: int) -> dict[str, float]:
    """Surprise's ``cross_validate`` of each algorithm on the benchmark's folds: mean RMSE and
    MAE over the folds and the CPU seconds it took."""
    from surprise.model_selection import cross_validate

    data = load_dataset(data_dir)
    metrics: dict[str, float] = {}
    for name in names:
        with seeded_globals(seed):
            t0 = time.process_time()
            out = cross_validate(algorithm(name, seed), data, ["rmse", "mae"], folds())
            seconds = time.process_time() - t0
        metrics[f"{name}.rmse"] = float(np.mean(out["test_rmse"]))
        metrics[f"{name}.mae"] = float(np.mean(out["test_mae"]))
        metrics[f"{name}.cpu_seconds"] = seconds
        log.info("%s: RMSE %.4f, MAE %.4f (%.1f CPU s)", name, metrics[f"{name}.rmse"],
                 metrics[f"{name}.mae"], seconds)  # fmt: skip
    return metrics


def fold_test_rows(data_dir: str | Path) -> list[np.ndarray]:
    """Row numbers (in ``ratings.parquet``) of each fold's test ratings, from Surprise's own
    ``KFold.split``: its test ratings are matched back to the rows by (user, item), a unique
    key of the ratings."""
    data = load_dataset(data_dir)
    frame = data.df
    key = pd.MultiIndex.from_arrays([frame["user"], frame["item"]])
    if not key.is_unique:
        raise DataError(f"{data_dir}: a user rates a movie twice; the folds cannot be matched back")
    rows = []
    for _, testset in folds().split(data):
        users, items, _ = zip(*testset, strict=True)
        rows.append(key.get_indexer(pd.MultiIndex.from_arrays([users, items])))
    return rows


def biased_mf_folds(data_dir: str | Path, seed: int) -> dict[str, float]:
    """The study's ``biased_mf`` (faithful: the model's defaults) on each of the benchmark's
    folds: fitted on the fold's training ratings as the study's runner fits it
    (:class:`~recrepro.data.interactions.Interactions` over the dataset's catalogue,
    ``np.random.default_rng(seed)``), but with no validation part (Surprise's protocol has none,
    so no early stopping: all the model's epochs), then its clipped predictions of the fold's
    test ratings scored as Surprise does; mean RMSE and MAE over the folds."""
    from recrepro.data.interactions import Interactions
    from recrepro.data.loading import load_catalogue
    from recrepro.evaluation.metrics import rating_errors
    from recrepro.models.registry import build_model

    catalogue = load_catalogue(data_dir)
    ratings = pd.read_parquet(Path(data_dir) / "ratings.parquet")
    errors = []
    for test_rows in fold_test_rows(data_dir):
        in_test = np.zeros(len(ratings), bool)
        in_test[test_rows] = True
        train = Interactions.from_frame(ratings[~in_test], catalogue)
        test = Interactions.from_frame(ratings[in_test], catalogue)
        model = build_model("biased_mf", {}).fit(train, None, np.random.default_rng(seed))
        errors.append(rating_errors(model.predict(test.user, test.item), test.rating))
    return {f"biased_mf.{m}": float(np.mean([e[m] for e in errors])) for m in ("rmse", "mae")}
