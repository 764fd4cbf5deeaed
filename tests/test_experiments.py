"""Sources' own evaluation code (recrepro.experiments): the registry, LightFM's example with its
nulls, Surprise's benchmark folds and its published BaselineOnly number."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recrepro.core.errors import ConfigError
from recrepro.data.movielens import locate
from recrepro.experiments import EXPERIMENTS, Experiment, run_experiment


@pytest.fixture(scope="module")
def folder(shared_data_dir: str) -> Path:
    return locate("ml-100k", shared_data_dir, "data/raw")


@pytest.fixture(scope="module")
def data_dir(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The parsed ML-100K tables, written as the workflow's data preparation writes them."""
    from recrepro.data.movielens import load_tables

    data = tmp_path_factory.mktemp("data")
    for name, frame in load_tables("ml-100k", folder).items():
        frame.to_parquet(data / f"{name}.parquet", index=False)
    return data


def test_registry_holds_experiments_with_the_four_fields() -> None:
    fields = {f.name for f in dataclasses.fields(Experiment)}
    assert fields == {"run", "needs_split", "deterministic", "description"}
    assert {"lightfm_example", "surprise_benchmark", "surprise_benchmark_deterministic"} <= set(EXPERIMENTS)
    for name, experiment in EXPERIMENTS.items():
        assert isinstance(experiment, Experiment), name
        assert callable(experiment.run), name
        assert isinstance(experiment.needs_split, bool) and isinstance(experiment.deterministic, bool)
        assert experiment.description and "\n" not in experiment.description, name
    assert EXPERIMENTS["lightfm_example"].needs_split
    assert not EXPERIMENTS["surprise_benchmark"].needs_split
    assert EXPERIMENTS["surprise_benchmark_deterministic"].deterministic
    assert not EXPERIMENTS["surprise_benchmark"].deterministic


def test_unknown_experiment_or_wrong_split_stops_with_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown experiment 'nope'; known: lightfm_example") as info:
        run_experiment("nope", tmp_path, tmp_path, 1)
    assert "\n" not in str(info.value)
    with pytest.raises(ConfigError, match="runs on a split") as info:
        run_experiment("lightfm_example", tmp_path, None, 1)
    assert "\n" not in str(info.value)
    with pytest.raises(ConfigError, match="makes its own folds") as info:
        run_experiment("surprise_benchmark", tmp_path, tmp_path, 1)
    assert "\n" not in str(info.value)


def test_surprise_algorithms_are_the_readme_table_split_by_randomness() -> None:
    from recrepro.experiments.surprise_benchmark import DETERMINISTIC, RANDOMISED, algorithm

    table = {"SVD", "SVDpp", "NMF", "SlopeOne", "KNNBasic", "KNNWithMeans", "KNNBaseline",
             "CoClustering", "BaselineOnly", "NormalPredictor"}  # fmt: skip
    assert set(RANDOMISED) | set(DETERMINISTIC) == table and not set(RANDOMISED) & set(DETERMINISTIC)
    for name in table:
        algo = algorithm(name, 7)
        assert type(algo).__name__ == name
        assert getattr(algo, "random_state", 7) == 7  # those that have a random state get the seed
    assert algorithm("SVDpp", 0).cache_ratings  # the README's two SVD++ rows print the same numbers


def test_null_metrics_equal_lightfms_own(synthetic_split) -> None:
    """The nulls' NumPy precision@k and AUC give LightFM's numbers for the same scores: a fitted
    model's, and popularity written into a LightFM model (biases only: many tied scores)."""
    from lightfm import LightFM
    from lightfm.evaluation import auc_score as lightfm_auc
    from lightfm.evaluation import precision_at_k as lightfm_precision

    from recrepro.experiments.lightfm_example import auc_score, precision_at_k

    train = synthetic_split.train.matrix("rating").tocoo()
    test = synthetic_split.test.matrix("rating").tocoo()
    model = LightFM(learning_rate=0.05, loss="warp", random_state=np.random.RandomState(0))
    model.fit_partial(train, epochs=2)
    n_users, n_items = train.shape
    users, items = np.repeat(np.arange(n_users), n_items), np.tile(np.arange(n_items), n_users)

    def check(scores: np.ndarray) -> None:
        for positives, exclude in ((train, None), (test, None), (test, train.tocsr())):
            for k in (1, 10):
                ours = precision_at_k(scores, positives, exclude, k=k)
                np.testing.assert_allclose(
                    ours, lightfm_precision(model, positives, train_interactions=exclude, k=k), atol=1e-6
                )
            ours = auc_score(scores, positives, exclude)
            np.testing.assert_allclose(
                ours, lightfm_auc(model, positives, train_interactions=exclude), atol=1e-6
            )

    check(model.predict(users, items).reshape(n_users, n_items))
    counts = np.bincount(train.col, minlength=n_items)
    model.item_biases[:] = counts
    model.user_biases[:] = 0.0
    model.item_embeddings[:] = 0.0
    assert len(np.unique(counts)) < n_items / 2  # ties: LightFM ranks them against the item
    check(np.broadcast_to(counts.astype(np.float64), (n_users, n_items)))


def _grouplens_split(folder: Path, root: Path) -> Path:
    from recrepro.data.movielens import load_tables
    from recrepro.data.splits import source_frame, split_ratings

    ratings = load_tables("ml-100k", folder)["ratings"]
    parts = split_ratings(ratings, "grouplens_ua", 0.1, 0.1, np.random.default_rng(0),
                          source=source_frame("grouplens_ua", folder, root))  # fmt: skip
    split = root / "split"
    split.mkdir()
    for name, frame in parts.items():
        frame.to_parquet(split / f"{name}.parquet", index=False)
    return split


def test_lightfm_example_reproduces_its_published_numbers_only_without_masking(
    folder: Path, data_dir: Path, tmp_path: Path
) -> None:
    """LightFM's example prints WARP precision@10 train 0.61, test 0.11 and AUC 0.93, 0.90; BPR
    0.59, 0.10 and 0.90, 0.86: its metrics keep the training movies in the ranking. Excluding
    them doubles precision@10. The nulls fall below the models."""
    split = _grouplens_split(folder, tmp_path)
    got = run_experiment("lightfm_example", data_dir, split, seed=1)
    published = {"warp": (0.61, 0.11, 0.93, 0.90), "bpr": (0.59, 0.10, 0.90, 0.86)}
    for model, (p_train, p_test, auc_train, auc_test) in published.items():
        assert got[f"{model}.precision@10_train"] == pytest.approx(p_train, abs=0.03)
        assert got[f"{model}.precision@10_test"] == pytest.approx(p_test, abs=0.015)
        assert got[f"{model}.auc_train"] == pytest.approx(auc_train, abs=0.02)
        assert got[f"{model}.auc_test"] == pytest.approx(auc_test, abs=0.02)
        assert got[f"{model}.precision@10_test_masked"] > 1.6 * got[f"{model}.precision@10_test"]
    assert got["random.precision@10_test"] < 0.01 and got["random.auc_test"] == pytest.approx(0.5, abs=0.01)
    nulls = got["random.precision@10_test"], got["popularity.precision@10_test"]
    assert nulls[0] < nulls[1] < got["bpr.precision@10_test"]


def test_surprise_folds_from_the_parsed_ratings_are_those_from_u_data(folder: Path, data_dir: Path) -> None:
    """Dataset.load_from_df(ratings.parquet) and Dataset.load_from_file(u.data, Reader('ml-100k'))
    (what Dataset.load_builtin('ml-100k') reads) give the benchmark's KFold(random_state=0) the
    same ratings in the same order, so the same five test folds; fold_test_rows (biased_mf's
    folds) are those rows."""
    from surprise import Dataset, Reader

    from recrepro.experiments.surprise_benchmark import fold_test_rows, folds, load_dataset

    ours = load_dataset(data_dir)
    theirs = Dataset.load_from_file(str(folder / "u.data"), reader=Reader("ml-100k"))
    assert len(ours.raw_ratings) == len(theirs.raw_ratings) == 100_000
    ratings = pd.read_parquet(data_dir / "ratings.parquet")
    rows = fold_test_rows(data_dir)
    n_folds = 0
    for (_, our_test), (_, their_test), fold_rows in zip(
        folds().split(ours), folds().split(theirs), rows, strict=True
    ):
        assert [(str(u), str(i), r) for u, i, r in our_test] == their_test
        picked = ratings.iloc[fold_rows]
        assert list(zip(picked["user"], picked["item"], picked["rating"], strict=True)) == our_test
        n_folds += 1
    assert n_folds == 5
    assert np.array_equal(np.sort(np.concatenate(rows)), np.arange(100_000))  # a partition


def test_baseline_only_gives_surprises_published_rmse_for_any_seed(data_dir: Path) -> None:
    """Surprise's README: Baseline (BaselineOnly) RMSE 0.944, MAE 0.748 on ML-100K; it has no
    random state, so every seed gives the same numbers."""
    from recrepro.experiments.surprise_benchmark import cross_validate_algorithms

    first = cross_validate_algorithms(data_dir, ("BaselineOnly",), seed=1)
    assert round(first["BaselineOnly.rmse"], 3) == 0.944
    assert round(first["BaselineOnly.mae"], 3) == 0.748
    second = cross_validate_algorithms(data_dir, ("BaselineOnly",), seed=2)
    assert (second["BaselineOnly.rmse"], second["BaselineOnly.mae"]) == (
        first["BaselineOnly.rmse"], first["BaselineOnly.mae"])  # fmt: skip
