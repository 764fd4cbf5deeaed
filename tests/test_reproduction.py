"""Reproduction table: the verdict rule, the rows, the sources' own evaluation, Surprise as oracle."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recrepro.config import check_config, load_yaml
from recrepro.data.movielens import locate
from recrepro.data.splits import source_frame, split_ratings
from recrepro.models.registry import available_models, get_model_class
from recrepro.report.reproduction import (
    INCONCLUSIVE,
    NOT_REPRODUCED,
    NOT_RUN,
    ONE_SEED,
    REPRODUCED,
    load_references,
    margin,
    needed_results,
    reproduction_markdown,
    reproduction_table,
    result_path,
    verdict,
)

REPO = Path(__file__).resolve().parents[1]
REFS = REPO / "config" / "reference_numbers.csv"
SEED_SYSTEMS = ("collaborative", "basic_retrieval", "enhanced_retrieval", "gnn", "knn_embedding",
                "session", "two_tower", "wide_deep", "lightfm_warp", "multitask", "rating_nn")  # fmt: skip


def test_margins_by_metric_type() -> None:
    assert margin("rmse", 0.93) == 0.02 and margin("mae", 0.7) == 0.02
    assert margin("rmse_all", 0.93) == 0.02 and margin("mae_all", 0.7) == 0.02
    assert margin("factorized_top@100", 0.23) == pytest.approx(0.023)
    assert margin("factorized_top@1", 0.001) == 0.005  # the absolute floor
    assert margin("precision@10_test", 0.11) == pytest.approx(0.011)


def test_verdict_is_a_tost_on_the_90_percent_t_interval() -> None:
    # mean 0.5, s.d. 0.01, n = 3: half-width t(0.95, 2) * 0.01 / sqrt(3) = 2.919986 * 0.0057735
    values = [0.49, 0.50, 0.51]
    half = 2.919986 * 0.01 / math.sqrt(3)
    decided, lower, upper = verdict(values, 0.5, 0.5, 0.05)
    assert decided == REPRODUCED
    assert (lower, upper) == (pytest.approx(0.5 - half, abs=1e-6), pytest.approx(0.5 + half, abs=1e-6))
    assert verdict(values, 0.5, 0.5, 0.01)[0] == INCONCLUSIVE  # interval pokes out of +-0.01
    assert verdict(values, 0.6, 0.6, 0.05)[0] == NOT_REPRODUCED  # entirely below 0.55
    assert verdict(values, 0.40, 0.45, 0.05)[0] == INCONCLUSIVE  # straddles 0.5
    assert verdict([0.3, 0.3, 0.3], 0.31, 0.31, 0.005)[0] == NOT_REPRODUCED  # deterministic, off
    assert verdict([0.5], 0.5, 0.5, 0.1)[0] == ONE_SEED
    assert verdict([], 0.5, 0.5, 0.1)[0] == NOT_RUN


def test_reference_rows_cover_every_seed_system_and_name_runnable_models() -> None:
    refs = load_references(REFS)
    assert set(SEED_SYSTEMS) <= set(refs["model"]), set(SEED_SYSTEMS) - set(refs["model"])
    assert refs["url"].str.startswith("https://").all()
    config = check_config(load_yaml(REPO / "config" / "reproduce.yaml"))
    known = set(available_models())
    for model in set(refs["model"]):
        if model.startswith("experiment:") or model == "none":
            continue
        assert get_model_class(model).name in known
        assert model in config["models"], f"{model} is not run by config/reproduce.yaml"
    runnable = refs[~refs["model"].isin(["none"]) & (refs["protocol"] != "keras_example")]
    for protocol in {p for ps in runnable["protocol"] for p in ps.split("+")}:
        assert protocol in config["protocols"], protocol


def _write(path: Path, metrics: dict[str, float]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"metrics": metrics}))


def test_table_reads_runs_experiments_and_fold_means(tmp_path: Path) -> None:
    refs = pd.DataFrame(
        {
            "system": ["a", "b", "c", "d"],
            "model": ["m", "experiment:lightfm_example", "m", "absent"],
            "metric": ["rmse", "auc_test", "rmse", "rmse"],
            "protocol": ["p1", "p1", "p1+p2", "p1"],
            "value": [1.0, 0.9, 1.0, 1.0],
            "low": [1.0, 0.9, 1.0, 1.0],
            "high": [1.0, 0.9, 1.0, 1.0],
            **{c: "" for c in ("source", "url", "cite_key", "note")},
        }
    )
    for seed, (v1, v2) in enumerate([(1.00, 1.02), (1.01, 1.03), (0.99, 1.01)], start=1):
        _write(result_path(tmp_path, "d", "p1", "m", seed), {"rmse": v1})
        _write(result_path(tmp_path, "d", "p2", "m", seed), {"rmse": v2})
        _write(result_path(tmp_path, "d", "p1", "experiment:lightfm_example", seed), {"auc_test": 0.5})
    table = reproduction_table(refs, "d", [1, 2, 3], tmp_path).set_index("system")
    assert table.loc["a", "ours_mean"] == pytest.approx(1.0) and table.loc["a", "verdict"] == REPRODUCED
    assert table.loc["b", "verdict"] == NOT_REPRODUCED and table.loc["b", "n_seeds"] == 3
    assert table.loc["c", "ours_mean"] == pytest.approx(1.01)  # mean over the two "folds"
    assert table.loc["d", "verdict"] == NOT_RUN and table.loc["d", "n_seeds"] == 0
    needed = needed_results(refs, "d", [1], models=["m"], protocols=["p1", "p2"], results=tmp_path)
    assert result_path(tmp_path, "d", "p2", "m", 1) in needed
    assert not any("absent" in str(p) for p in needed)
    assert needed_results(refs, "d", [1], models=["m"], protocols=["p1"], results=tmp_path) == sorted(
        {result_path(tmp_path, "d", "p1", m, 1) for m in ("m", "experiment:lightfm_example")}
    )  # the fold-mean row needs p2 too: not run
    text = reproduction_markdown(table.reset_index())
    assert text.index("| reproduced |") < text.index("| not reproduced |") < text.index("| not run |")


@pytest.fixture(scope="module")
def folder(shared_data_dir: str) -> Path:
    return locate("ml-100k", shared_data_dir, "data/raw")


def _split_dir(folder: Path, protocol: str, root: Path) -> tuple[Path, Path]:
    """The parsed dataset and a published split, written as the workflow writes them."""
    from recrepro.data.movielens import load_tables

    data = root / "data"
    tables = load_tables("ml-100k", folder)
    data.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_parquet(data / f"{name}.parquet", index=False)
    parts = split_ratings(tables["ratings"], protocol, 0.1, 0.1, np.random.default_rng(0),
                          source=source_frame(protocol, folder, root))  # fmt: skip
    split = root / "split"
    split.mkdir()
    for name, frame in parts.items():
        frame.to_parquet(split / f"{name}.parquet", index=False)
    return data, split


def test_lightfm_example_reproduces_its_published_numbers_only_without_masking(
    folder: Path, tmp_path: Path
) -> None:
    """LightFM's example prints test precision@10 0.11 and AUC 0.90 (train 0.61, 0.93): its
    metrics keep the training movies in the ranking. Excluding them doubles precision@10."""
    from recrepro.experiments import run_experiment

    data, split = _split_dir(folder, "grouplens_ua", tmp_path)
    got = run_experiment("lightfm_example", data, split, seed=1)
    assert got["precision@10_test"] == pytest.approx(0.11, abs=0.015)
    assert got["precision@10_train"] == pytest.approx(0.61, abs=0.03)
    assert got["auc_test"] == pytest.approx(0.90, abs=0.02)
    assert got["auc_train"] == pytest.approx(0.93, abs=0.02)
    assert got["precision@10_test_masked"] > 1.6 * got["precision@10_test"]


def test_biased_mf_agrees_with_surprise_on_a_grouplens_fold(folder: Path, tmp_path: Path) -> None:
    """scikit-surprise as oracle on GroupLens' u1 fold: biased_mf with 0 factors is Surprise's
    BaselineOnly model (mu + b_u + b_i, ALS); with factors it is at least as good as SVD."""
    import surprise  # scikit-surprise, a test dependency

    from recrepro.evaluation.metrics import rating_errors
    from recrepro.models.registry import build_model
    from recrepro.runner import load_split

    data, split_dir = _split_dir(folder, "grouplens_u1", tmp_path)
    split = load_split(data, split_dir)
    train = pd.read_parquet(split_dir / "train.parquet")
    test = pd.read_parquet(split_dir / "test.parquet")
    reader = surprise.Reader(rating_scale=(1, 5))
    trainset = surprise.Dataset.load_from_df(train[["user", "item", "rating"]], reader)
    trainset = trainset.build_full_trainset()
    testset = list(test[["user", "item", "rating"]].itertuples(index=False, name=None))
    oracle = {}
    for name, algo in (("baseline", surprise.BaselineOnly(verbose=False)),
                       ("svd", surprise.SVD(random_state=0))):  # fmt: skip
        algo.fit(trainset)
        oracle[name] = surprise.accuracy.rmse(algo.test(testset), verbose=False)
    ours = {}
    for name, params in (("baseline", {"factors": 0}), ("svd", {})):
        model = build_model("biased_mf", params).fit(split.train, split.valid, np.random.default_rng(0))
        ours[name] = rating_errors(model.predict(split.test.user, split.test.item), split.test.rating)["rmse"]
    assert ours["baseline"] == pytest.approx(oracle["baseline"], abs=0.01)
    assert ours["svd"] <= oracle["svd"] + 0.01
    assert ours["svd"] < ours["baseline"] - 0.01  # the factors help


def test_retrieval_only_multitask_variant_trains_and_predicts(synthetic_split) -> None:
    """The multitask tutorial's retrieval-specialised model (rating weight 0) still has a rating
    head (untrained) and predicts ratings, as the tutorial reports an RMSE for it."""
    from recrepro.models.registry import build_model

    params = {"rating_weight": 0.0, "retrieval_weight": 1.0, "item_metadata": False, "epochs": 1}
    model = build_model("multitask__retrieval_only", params)
    model.fit(synthetic_split.train, synthetic_split.valid, np.random.default_rng(0))
    test = synthetic_split.test
    predicted = np.asarray(model.predict(test.user, test.item))
    assert predicted.shape == (len(test),) and np.isfinite(predicted).all()


def test_readme_block_is_generated_from_the_table(tmp_path: Path) -> None:
    from recrepro.errors import ConfigError
    from recrepro.report.reproduction import readme_section, replace_readme_section

    refs = load_references(REFS)
    table = reproduction_table(refs, "ml-100k", [1, 2], tmp_path)  # no results: all not run
    section = readme_section(table)
    n = int((refs["explains"] == "").sum())  # cause experiments are not published numbers
    assert f"**Inconclusive, or not run** ({n} of {n} published numbers)" in section
    readme = (REPO / "README.md").read_text()
    updated = replace_readme_section(readme, section)
    assert updated.startswith(readme[: readme.index("<!-- reproduction table")])
    assert updated.endswith(readme[readme.index("<!-- end of the generated reproduction table -->"):])
    assert replace_readme_section(updated, section) == updated  # idempotent
    with pytest.raises(ConfigError, match="markers"):
        replace_readme_section("no markers here", section)


def test_a_row_that_does_not_reproduce_shows_its_cause_experiments(tmp_path: Path) -> None:
    """A cause row (``explains``) reruns the model with one recipe change against the same number;
    the published row's ``cause`` reports its result, and counts leave cause rows out."""
    from recrepro.report.numbers import reproduction_numbers
    from recrepro.report.reproduction import published_rows

    refs = pd.DataFrame({
        "system": ["seed model", "cause: tutorial recipe", "other"],
        "model": ["m", "m__recipe", "o"], "metric": ["top@100"] * 3, "protocol": ["p"] * 3,
        "value": [0.23] * 3, "low": [0.23] * 3, "high": [0.23] * 3,
        **{c: "" for c in ("source", "url", "cite_key", "note")}, "explains": ["", "m", ""],
    })  # fmt: skip
    for seed, (ours, recipe) in enumerate([(0.15, 0.23), (0.16, 0.24), (0.14, 0.22)], start=1):
        _write(result_path(tmp_path, "d", "p", "m", seed), {"top@100": ours})
        _write(result_path(tmp_path, "d", "p", "m__recipe", seed), {"top@100": recipe})
    table = reproduction_table(refs, "d", [1, 2, 3], tmp_path).set_index("system")
    assert table.loc["seed model", "verdict"] == NOT_REPRODUCED
    assert table.loc["cause: tutorial recipe", "verdict"] == REPRODUCED
    assert table.loc["seed model", "cause"] == "cause: tutorial recipe: ours 0.23 [reproduced]"
    assert table.loc["cause: tutorial recipe", "cause"] == ""
    assert list(published_rows(table.reset_index())["system"]) == ["seed model", "other"]
    numbers = reproduction_numbers(table.reset_index())
    assert (numbers["ReproRows"], numbers["ReproNotReproduced"], numbers["ReproNotRun"]) == ("2", "1", "1")
    assert numbers["ReproCauseExperiments"] == "1"
    text = reproduction_markdown(table.reset_index())
    assert text.index("| not run |") < text.index("(cause experiment for m)")  # cause rows last


def test_cause_experiments_must_explain_a_published_row(tmp_path: Path) -> None:
    from recrepro.errors import ConfigError

    refs = pd.read_csv(REFS, dtype=str, keep_default_na=False)
    refs.loc[len(refs) - 1, "explains"] = "no_such_model"
    refs.to_csv(tmp_path / "refs.csv", index=False)
    with pytest.raises(ConfigError, match="explains 'no_such_model'"):
        load_references(tmp_path / "refs.csv")


def test_every_nearest_number_comparison_has_a_cause_experiment() -> None:
    """Seeds that print no number are compared with the nearest published one; each such row has a
    cause experiment that removes the seed's difference from the published recipe."""
    refs = load_references(REFS)
    nearest = refs[refs["system"].str.contains("nearest published number") & (refs["explains"] == "")]
    explained = set(zip(refs["explains"], refs["protocol"], strict=True))
    rows = zip(nearest["model"], nearest["protocol"], strict=True)
    missing = [m for m, p in rows if (m, p) not in explained]
    assert len(nearest) >= 7 and not missing, missing


def test_title_tokens_standardise_like_text_vectorization() -> None:
    from recrepro.models.retrieval import title_tokens

    tokens, size = title_tokens(["Toy Story (1995)", "Babe (1995)", "Toy Soldiers, The (1991)"])
    # vocabulary by frequency, then alphabetically: 1995, toy, 1991, babe, soldiers, story, the
    assert size == 7
    assert tokens.tolist() == [[2, 6, 1, 0], [4, 1, 0, 0], [2, 5, 7, 3]]


def test_enhanced_model_with_the_deep_retrieval_tutorials_title_text_trains(synthetic_split) -> None:
    """The cause experiment's recipe: title words in the candidate tower, a linear last layer."""
    from recrepro.models.registry import build_model

    params = {"title_text": True, "output_activation": None, "timestamp_features": True, "epochs": 2}
    model = build_model("enhanced_retrieval__tutorial_recipe", params)
    model.fit(synthetic_split.train, synthetic_split.valid, np.random.default_rng(0))
    scores = model.score(np.arange(4))
    assert scores.shape == (4, synthetic_split.train.n_items) and np.isfinite(scores).all()
    assert (scores < 0).any()  # a linear output layer: scores are not all >= 0 as after a ReLU


def test_interaction_time_queries_score_each_test_rating_with_its_own_time(synthetic_split) -> None:
    """``query_time: interaction`` (the deep retrieval tutorial's FactorizedTopK): the query of
    a test rating carries that rating's time; ranking metrics keep the last training time."""
    from recrepro.evaluation import evaluate
    from recrepro.evaluation import metrics as M
    from recrepro.models.registry import build_model

    train, test = synthetic_split.train, synthetic_split.test
    params = {"timestamp_features": True, "time_buckets": 1000, "epochs": 2, "batch_size": 512}
    base = build_model("enhanced_retrieval", params)
    assert base.interaction_scores(test) is None  # last_train: the user's query serves
    model = build_model("enhanced_retrieval", {**params, "query_time": "interaction"})
    model.fit(train, None, np.random.default_rng(0))
    assert model.query_tower.tower.parts["timestamp"].embedding.input_dim == 1000  # after the lookup
    users = np.unique(test.user)[:5]
    rows = test.subset(np.isin(test.user, users))
    own = model.interaction_scores(rows)
    by_user = model.score(rows.user)  # the same users queried at their last training time
    assert own.shape == by_user.shape and not np.allclose(own, by_user)  # the time changes them
    features = {"user": model._ids("user", rows.user), "timestamp": model._scale_time(rows.timestamp)}
    expected = model.query_tower(features).numpy() @ model.item_embeddings().T
    np.testing.assert_allclose(own, expected, rtol=1e-5, atol=1e-6)

    result = evaluate(model, train, test, ks=[10, 100], seen=train.concat(synthetic_split.valid))
    evaluated = test.subset(np.isin(test.user, result.per_user["user"].to_numpy()))
    hits = M.factorized_top_k(model.interaction_scores(evaluated), np.arange(len(evaluated)),
                              evaluated.item, [100])["factorized_top@100"]  # fmt: skip
    assert result.metrics["factorized_top@100"] == pytest.approx(hits.mean())


def test_unknown_query_time_stops_with_one_line() -> None:
    from recrepro.errors import ConfigError
    from recrepro.models.registry import build_model

    with pytest.raises(ConfigError, match="unknown query_time 'test'; known: last_train, interaction"):
        build_model("enhanced_retrieval", {"query_time": "test"})
