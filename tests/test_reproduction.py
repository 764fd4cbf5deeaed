"""Reproduction table: the verdict rule, the rows, the sources' own evaluation, Surprise as oracle."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recrepro.core.config import load_yaml
from recrepro.core.errors import DataError
from recrepro.data.movielens import locate
from recrepro.data.splits import source_frame, split_ratings
from recrepro.models.registry import available_models, get_model_class
from recrepro.report.reproduction import (
    NOT_REPRODUCED,
    NOT_RUN,
    REPRODUCED,
    TOO_FEW_SEEDS,
    UNINFORMATIVE,
    load_references,
    load_table,
    needed_results,
    prediction_band,
    reproduction_markdown,
    reproduction_table,
    reproduction_verdict,
    result_path,
    rounding,
    verdict_counts,
)
from recrepro.study.config_check import check_config

REPO = Path(__file__).resolve().parents[1]
REFS = REPO / "config" / "reference_numbers.csv"
SEED_SYSTEMS = ("collaborative", "basic_retrieval", "enhanced_retrieval", "gnn", "knn_embedding",
                "session", "two_tower", "wide_deep", "lightfm_warp", "multitask", "rating_nn")  # fmt: skip


def test_prediction_band_is_the_t_prediction_interval_of_one_run() -> None:
    from scipy import stats

    values = [0.20, 0.22, 0.21, 0.23, 0.19]
    n, mean, sd = 5, float(np.mean(values)), float(np.std(values, ddof=1))
    half = stats.t.ppf(0.975, n - 1) * sd * math.sqrt(1 + 1 / n)
    assert prediction_band(values) == (pytest.approx(mean - half), pytest.approx(mean + half))
    assert prediction_band(values[:4]) is None  # fewer than five seeds
    assert prediction_band([0.3], deterministic=True) == (0.3, 0.3)
    assert rounding(2) == pytest.approx(0.005) and rounding(3) == pytest.approx(0.0005)


def test_reproduction_verdict_needs_the_band_to_exclude_every_null() -> None:
    values = [0.20, 0.22, 0.21, 0.23, 0.19]  # band about 0.168 - 0.252
    far = {"random#m": 0.01, "popularity#m": 0.10}
    assert reproduction_verdict(values, 0.21, 0.21, 2, far)[0] == REPRODUCED
    decided, low, high, inside = reproduction_verdict(values, 0.21, 0.21, 2, {**far, "bpr#m": 0.2})
    assert (decided, inside) == (UNINFORMATIVE, ["bpr#m"]) and low < 0.2 < high
    assert reproduction_verdict(values, 0.21, 0.21, 2, {"other#m": math.nan})[0] == UNINFORMATIVE
    assert reproduction_verdict(values, 0.30, 0.30, 2, far)[0] == NOT_REPRODUCED
    assert reproduction_verdict(values, 0.21, 0.30, 2, far)[0] == NOT_REPRODUCED  # a render outside
    assert reproduction_verdict(values[:3], 0.21, 0.21, 2, far)[0] == TOO_FEW_SEEDS
    assert reproduction_verdict([], 0.21, 0.21, 2, far)[0] == NOT_RUN
    # a deterministic recipe: the band is the published number's rounding (0.944 -> +-0.0005)
    assert reproduction_verdict([0.9442], 0.944, 0.944, 3, {}, deterministic=True)[0] == REPRODUCED
    assert reproduction_verdict([0.9450], 0.944, 0.944, 3, {}, deterministic=True)[0] == NOT_REPRODUCED


def test_reference_rows_cover_every_seed_system_and_name_runnable_models() -> None:
    refs = load_references(REFS)
    assert set(SEED_SYSTEMS) <= set(refs["model"]), set(SEED_SYSTEMS) - set(refs["model"])
    assert refs["url"].str.startswith("https://").all()
    config = check_config(load_yaml(REPO / "config" / "reproduce.yaml"))
    assert len(config["seeds"]) >= 5  # a reproduction band needs five runs of the recipe
    known = set(available_models())
    from recrepro.report.reproduction import row_nulls

    for ref in refs.to_dict("records"):
        for model in [ref["model"], *(m for m, _ in row_nulls(ref))]:
            if model.startswith("experiment:") or ref["protocol"] == "keras_example":
                continue
            assert get_model_class(model).name in known
            assert model in config["models"], f"{model} is not run by config/reproduce.yaml"
    runnable = refs[~refs["protocol"].isin(["keras_example", "surprise_kfold", "seed000_all_ratings"])]
    for protocol in {p for ps in runnable["protocol"] for p in ps.split("+")}:
        assert protocol in config["protocols"], protocol


def _write(path: Path, metrics: dict[str, float]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"metrics": metrics}))


def _refs(**columns) -> pd.DataFrame:
    n = len(columns["model"])
    base = {"published_id": [f"id{i}" for i in range(n)], "kind": ["reproduction"] * n,
            "system": [f"s{i}" for i in range(n)], "metric": ["top@100"] * n, "protocol": ["p1"] * n,
            "value": [0.2] * n, "low": [0.2] * n, "high": [0.2] * n, "decimals": [2] * n,
            **{c: [""] * n for c in ("source", "url", "cite_key", "note", "nulls", "explains",
                                      "changes")}}  # fmt: skip
    return pd.DataFrame({**base, **columns})


def test_table_reads_runs_nulls_and_fold_means(tmp_path: Path) -> None:
    refs = _refs(model=["m", "m", "absent"], protocol=["p1", "p1+p2", "p1"],
                 value=[0.2, 0.21, 0.2], low=[0.2, 0.21, 0.2], high=[0.2, 0.21, 0.2])  # fmt: skip
    for seed in range(1, 6):
        _write(result_path(tmp_path, "d", "p1", "m", seed), {"top@100": 0.19 + 0.005 * seed})
        _write(result_path(tmp_path, "d", "p2", "m", seed), {"top@100": 0.21 + 0.005 * seed})
        _write(result_path(tmp_path, "d", "p1", "random", seed), {"top@100": 0.06})
        _write(result_path(tmp_path, "d", "p1", "popularity", seed), {"top@100": 0.08})
    table = reproduction_table(refs, "d", [1, 2, 3, 4, 5], tmp_path).set_index("system")
    assert table.loc["s0", "ours_mean"] == pytest.approx(0.205) and table.loc["s0", "verdict"] == REPRODUCED
    assert table.loc["s0", "null_values"] == "random#top@100=0.06;popularity#top@100=0.08"
    assert table.loc["s1", "ours_mean"] == pytest.approx(0.215)  # mean over the two "folds"
    assert table.loc["s1", "verdict"] == UNINFORMATIVE  # random and popularity were not run on p2
    assert table.loc["s2", "verdict"] == NOT_RUN and table.loc["s2", "n_seeds"] == 0
    needed = needed_results(refs, "d", [1], models=["m", "random"], protocols=["p1", "p2"], results=tmp_path)
    assert result_path(tmp_path, "d", "p2", "m", 1) in needed
    assert result_path(tmp_path, "d", "p1", "random", 1) in needed  # a null is needed too
    assert not any("absent" in str(p) or "popularity" in str(p) for p in needed)
    text = reproduction_markdown(table.reset_index())
    assert text.index("| reproduced |") < text.index("| uninformative |") < text.index("| not run |")


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


def test_biased_mf_agrees_with_surprise_on_a_grouplens_fold(folder: Path, tmp_path: Path) -> None:
    """scikit-surprise as oracle on GroupLens' u1 fold: biased_mf with 0 factors is Surprise's
    BaselineOnly model (mu + b_u + b_i, ALS); with factors it is at least as good as SVD."""
    import surprise  # scikit-surprise

    from recrepro.evaluation.metrics import rating_errors
    from recrepro.models.registry import build_model
    from recrepro.study.runner import load_split

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
    from recrepro.core.errors import ConfigError
    from recrepro.report.reproduction import readme_section, replace_readme_section

    refs = load_references(REFS)
    table = reproduction_table(refs, "ml-100k", [1, 2], tmp_path)  # no results: all not run
    section = readme_section(table)
    n_ids = refs["published_id"].nunique()
    n_repro = int((refs["kind"] == "reproduction").sum())
    against = "all" if n_repro == n_ids else f"{n_repro} of them"
    assert f"{n_ids} distinct published numbers; {against} set against a run" in section
    assert f"({n_repro} not run)." in section and " 0 " not in section  # zero counts left out
    assert f"**Not run** ({n_repro})" in section
    readme = (REPO / "README.md").read_text()
    updated = replace_readme_section(readme, section)
    assert updated.startswith(readme[: readme.index("<!-- reproduction table")])
    assert updated.endswith(readme[readme.index("<!-- end of the generated reproduction table -->"):])
    assert replace_readme_section(updated, section) == updated  # idempotent
    with pytest.raises(ConfigError, match="markers"):
        replace_readme_section("no markers here", section)


def test_counts_are_of_distinct_published_numbers_and_comparisons_have_no_verdict(tmp_path: Path) -> None:
    """A number compared with by several rows counts once; comparisons and cause steps report a
    difference with its interval, and a cause row follows the comparison it explains."""
    from recrepro.report.numbers import reproduction_numbers

    refs = _refs(
        published_id=["a", "a", "a", "b"], kind=["reproduction", "comparison", "cause", "comparison"],
        model=["m", "seed", "seed__step", "other"], explains=["", "", "seed", ""],
        changes=["", "", "1", ""],
    )  # fmt: skip
    for seed in range(1, 6):
        for model, value in (("m", 0.2), ("seed", 0.1 + 0.001 * seed), ("seed__step", 0.2),
                             ("random", 0.01), ("popularity", 0.05)):  # fmt: skip
            _write(result_path(tmp_path, "d", "p1", model, seed), {"top@100": value})
    table = reproduction_table(refs, "d", [1, 2, 3, 4, 5], tmp_path)
    counts = verdict_counts(table)
    assert (counts["published"], counts["reproductions"], counts[REPRODUCED]) == (2, 1, 1)
    assert (counts["compared_only"], counts["comparisons"], counts["causes"]) == (1, 2, 1)
    seed_row = table.set_index("model").loc["seed"]
    assert seed_row["verdict"] == "" and seed_row["diff"] == pytest.approx(-0.097)
    assert seed_row["diff_low"] < -0.097 < seed_row["diff_high"]
    numbers = reproduction_numbers(table)
    assert numbers["ReproPublished"] == "2" and numbers["ReproReproduced"] == "1"
    sentence = numbers["ReproSentence"]
    assert "Of the 1 distinct published number with a source recipe, 1 was run here" in sentence
    assert "1 further published number is only compared with" in sentence
    text = reproduction_markdown(table)
    positions = [text.index(f"| {kind} | {system} |")
                 for kind, system in (("comparison", "s1"), ("cause", "s2"), ("comparison", "s3"))]
    assert positions == sorted(positions)


def test_cause_rows_must_explain_a_comparison(tmp_path: Path) -> None:
    from recrepro.core.errors import ConfigError

    refs = pd.read_csv(REFS, dtype=str, keep_default_na=False)
    cause = refs.index[refs["kind"] == "cause"][0]
    refs.loc[cause, "explains"] = "no_such_model"
    refs.to_csv(tmp_path / "refs.csv", index=False)
    with pytest.raises(ConfigError, match="explains 'no_such_model'"):
        load_references(tmp_path / "refs.csv")
    refs = pd.read_csv(REFS, dtype=str, keep_default_na=False)
    refs.loc[cause, "changes"] = ""
    refs.to_csv(tmp_path / "refs.csv", index=False)
    with pytest.raises(ConfigError, match="changes"):
        load_references(tmp_path / "refs.csv")


def test_every_seed_comparison_on_the_tutorial_split_has_a_cause_step() -> None:
    """A seed system compared with a tutorial's number is followed by at least one step that
    removes its difference from the tutorial's recipe."""
    refs = load_references(REFS)
    compared = refs[(refs["kind"] == "comparison") & (refs["protocol"] == "tfrs_tutorial")]
    explained = set(zip(refs["explains"], refs["protocol"], strict=True))
    missing = [m for m in compared["model"] if (m, "tfrs_tutorial") not in explained]
    assert len(compared) >= 7 and not missing, missing


def test_an_older_reproduction_table_stops_with_one_line_naming_the_rebuild(tmp_path: Path) -> None:
    old = tmp_path / "reproduction.csv"
    pd.DataFrame({"system": ["s"], "model": ["m"], "metric": ["rmse"], "value": [1.0]}).to_csv(old)
    with pytest.raises(DataError, match=r"lacks column\(s\) published_id.*publish_reproduction") as info:
        load_table(old)
    assert "\n" not in str(info.value)
    assert len(load_table(REPO / "reported" / "reproduction.csv")) > 0


def test_every_reported_reproduction_excludes_its_nulls() -> None:
    """The committed table (reported/reproduction.csv): every reproduced row's band holds the
    published number and no null."""
    table = pd.read_csv(REPO / "reported" / "reproduction.csv", keep_default_na=False)
    reproduced = table[table["verdict"] == REPRODUCED]
    assert len(reproduced) > 0
    for r in reproduced.to_dict("records"):
        low, high = float(r["band_low"]), float(r["band_high"])
        assert low <= float(r["low"]) and float(r["high"]) <= high, r["system"]
        nulls = dict(item.rsplit("=", 1) for item in str(r["null_values"]).split(";") if item)
        assert nulls, f"{r['system']}: a reproduced row without nulls"
        for name, value in nulls.items():
            assert value != "not run", f"{r['system']}: null {name} not run"
            assert not low <= float(value) <= high, f"{r['system']}: null {name} = {value} in the band"


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
    from recrepro.core.errors import ConfigError
    from recrepro.models.registry import build_model

    with pytest.raises(ConfigError, match="unknown query_time 'test'; known: last_train, interaction"):
        build_model("enhanced_retrieval", {"query_time": "test"})
