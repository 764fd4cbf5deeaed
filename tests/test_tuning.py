"""The hyperparameter searches (Optuna): seeded per replicate, faithful first, pruned by
successive halving, validation only; and the convergence tables computed after them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recrepro.core.config import load_yaml
from recrepro.core.errors import ConfigError
from recrepro.evaluation.evaluate import validation_score
from recrepro.models import build_model
from recrepro.study.config_check import check_config
from recrepro.study.tuning import search_space, tune
from recrepro.study.tuning_curves import convergence, curves, incumbent_curve, plateau

TIMING = ("fit_seconds", "cpu_seconds")


def _write_split(tmp_path: Path, synthetic_split, test: pd.DataFrame | None = None) -> tuple[Path, Path]:
    data, split = tmp_path / "data", tmp_path / "split"
    data.mkdir()
    split.mkdir()
    cat = synthetic_split.catalogue
    cat.users.to_parquet(data / "users.parquet")
    cat.items.to_parquet(data / "items.parquet")
    synthetic_split.train.to_frame().to_parquet(split / "train.parquet")
    synthetic_split.valid.to_frame().to_parquet(split / "valid.parquet")
    if test is not None:
        test.to_parquet(split / "test.parquet")
    return data, split


def _tune(tmp_path: Path, split_dirs, model: str, space: dict, trials: int, name: str = "t.json", **kw):
    data, split = split_dirs
    return tune("synthetic", "random", model, kw.pop("base", {}), space, trials=trials,
                metric=kw.pop("metric", "ndcg@10"), seed=kw.pop("seed", 0), data_dir=data,
                split_dir=split, out=tmp_path / name, replicate=kw.pop("replicate", 1))  # fmt: skip


def _without_timing(record: dict) -> dict:
    kept = {k: v for k, v in record.items() if k not in TIMING}
    return {**kept, "trials": [{k: v for k, v in t.items() if k not in TIMING} for t in record["trials"]]}


# -- search spaces ------------------------------------------------------------------------------
def test_space_parses_lists_ranges_and_fixed_values_and_always_holds_the_faithful_point() -> None:
    faithful = {"lr": 0.5, "dim": 32, "opt": "adagrad", "units": [32], "patience": 0, "l2": 0.0}
    space = {"lr": {"low": 0.001, "high": 0.1, "log": True}, "dim": {"low": 8, "high": 16},
             "opt": ["adam"], "units": [[16], [32]], "patience": 2, "l2": [0.0, 1e-5]}  # fmt: skip
    dims = {d.name: d for d in search_space("m", space, faithful)}
    assert (dims["lr"].low, dims["lr"].high, dims["lr"].log, dims["lr"].integer) == (0.001, 0.5, True, False)
    assert (dims["dim"].low, dims["dim"].high, dims["dim"].integer) == (8, 32, True)
    assert dims["opt"].choices == ("adam", "adagrad") and dims["units"].choices == ([16], [32])
    assert dims["l2"].choices == (0.0, 1e-5)
    assert dims["patience"].fixed == 2 and not dims["patience"].searched


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({"nope": [1]}, "'nope': unknown hyperparameter"),
        ({"l2": {"low": 1e-6, "high": 1e-2, "log": True}}, "use a list such as"),
        ({"lr": {"low": 1.0, "high": 0.1}}, "low=1.0 is above high=0.1"),
        ({"dim": {"low": 8, "high": 64}, "lr": [0.1]}, None),
    ],
)
def test_space_errors_name_the_model_and_the_fix(space: dict, message: str | None) -> None:
    faithful = {"lr": 0.5, "dim": 32, "l2": 0.0}
    if message is None:
        assert len(search_space("m", space, faithful)) == 2
        return
    with pytest.raises(ConfigError, match=message) as err:
        search_space("m", space, faithful)
    assert "tuning space of 'm'" in str(err.value) and "\n" not in str(err.value)


def _config(**tuning) -> dict:
    config = load_yaml(Path(__file__).resolve().parents[1] / "config" / "smoke.yaml")
    config["tuning"] = {**config["tuning"], **tuning}
    return config


def test_a_tuned_model_without_a_space_stops_the_config_check_with_one_line(monkeypatch) -> None:
    from recrepro.models import get_model_class

    monkeypatch.setattr(get_model_class("ease"), "search_space", {})  # declares none
    spaces = dict(_config()["tuning"]["spaces"])
    del spaces["ease"]
    with pytest.raises(ConfigError) as err:
        check_config(_config(spaces=spaces))
    text = str(err.value)
    assert "model 'ease' has hyperparameters" in text and "add tuning.spaces.ease" in text
    assert "declare search_space on its class" in text and "\n" not in text
    # Without the tuned setting no space is needed; random and popularity never need one.
    checked = check_config({**_config(spaces=spaces), "settings": ["faithful"]})
    assert checked["tuning"]["trials"] == 4 and "random" not in checked["tuning"]["spaces"]
    assert check_config(_config())["tuning"]["metrics"] == {}  # the models declare theirs


def test_a_models_declared_space_and_metric_apply_unless_the_config_overrides_them() -> None:
    from recrepro.models import get_model_class
    from recrepro.models.spaces import model_space
    from recrepro.study.tuning import selection_metric

    declared = dict(get_model_class("ease").search_space)
    assert declared == {"l2": {"low": 10.0, "high": 10000.0, "log": True}}
    spaces = dict(_config()["tuning"]["spaces"])
    del spaces["ease"]
    checked = check_config(_config(spaces=spaces))["tuning"]
    assert checked["spaces"]["ease"] == declared  # filled in: the workflow reads the checked config
    assert "random" not in checked["spaces"]  # nothing to search
    smoke = _config()["tuning"]["spaces"]["ease"]
    assert check_config(_config())["tuning"]["spaces"]["ease"] == smoke != declared  # config wins
    assert model_space({}, "ease") == declared == model_space({}, "ease__variant")
    assert model_space({"spaces": {"ease": smoke}}, "ease__variant") == smoke
    assert model_space({}, "random") == {} == model_space({}, "no_such_model")
    # Rating-only models (task "rating") tune on RMSE, ranking models on the study's metric.
    study = {"metric": "ndcg@10"}
    tasks = [get_model_class(m).task for m in ("biased_mf", "rating_nn", "ease")]
    assert tasks == ["rating", "rating", "ranking"]
    assert selection_metric(study, "biased_mf") == selection_metric(study, "rating_nn") == "rmse"
    assert selection_metric(study, "ease") == "ndcg@10"
    assert selection_metric({"metric": "recall@10"}, "ease") == "recall@10"
    assert selection_metric({**study, "metrics": {"biased_mf": "mae"}}, "biased_mf") == "mae"


def test_schema_defaults_give_every_model_64_trials_with_successive_halving() -> None:
    config = _config()
    del config["tuning"]
    config["settings"] = ["faithful"]
    tuning = check_config(config)["tuning"]
    assert tuning["trials"] == 64 and tuning["spaces"] == {}
    assert tuning["pruning"] == {"min_epochs": 1, "reduction_factor": 3}


# -- the search ---------------------------------------------------------------------------------
def test_same_config_gives_the_same_trials_and_winner_and_trial_0_is_faithful(tmp_path, synthetic_split):
    dirs = _write_split(tmp_path, synthetic_split)
    space = {"neighbors": {"low": 5, "high": 100, "log": True}, "shrink": {"low": 0.0, "high": 50.0}}
    first = _tune(tmp_path, dirs, "itemknn", space, 6, "a.json")
    again = _tune(tmp_path, dirs, "itemknn", space, 6, "b.json")
    assert _without_timing(first) == _without_timing(again)
    other = _tune(tmp_path, dirs, "itemknn", space, 6, "c.json", seed=1)
    assert [t["params"] for t in other["trials"]] != [t["params"] for t in first["trials"]]
    # Each seed's search replicate draws its own trials (trial 0 stays the faithful one).
    replicate = _tune(tmp_path, dirs, "itemknn", space, 6, "d.json", replicate=2)
    assert [t["params"] for t in replicate["trials"][1:]] != [t["params"] for t in first["trials"][1:]]
    assert replicate["trials"][0]["params"] == first["trials"][0]["params"]
    assert (replicate["replicate"], first["replicate"]) == (2, 1)
    faithful = build_model("itemknn")
    assert first["trials"][0]["params"] == faithful.params and first["trials"][0]["overrides"] == {}
    faithful.fit(synthetic_split.train, synthetic_split.valid, np.random.default_rng(0))
    score = validation_score(faithful, synthetic_split.train, synthetic_split.valid)
    assert first["trials"][0]["score"] == score
    assert len({json.dumps(t["params"]) for t in first["trials"]}) == 6
    complete = [t for t in first["trials"] if t["state"] == "complete"]
    assert first["score"] == max(t["score"] for t in complete)
    assert first["params"] == first["trials"][first["best_trial"]]["params"]
    assert json.loads((tmp_path / "a.json").read_text())["params"] == first["params"]


def test_tune_picks_the_best_validation_score_and_never_reads_test(tmp_path: Path, synthetic_split) -> None:
    poisoned = synthetic_split.test.to_frame().assign(rating=-99.0)  # tuning must not depend on it
    dirs = _write_split(tmp_path, synthetic_split, test=poisoned)
    record = _tune(tmp_path, dirs, "ease", {"l2": [1.0, 50.0, 5000.0]}, 12)
    scores = {}
    for l2 in [500.0, 1.0, 50.0, 5000.0]:
        model = build_model("ease", {"l2": l2}).fit(synthetic_split.train, None, np.random.default_rng(0))
        scores[l2] = validation_score(model, synthetic_split.train, synthetic_split.valid)
    assert record["params"]["l2"] == max(scores, key=scores.get)
    assert record["score"] == max(scores.values())
    trials = record["trials"]
    assert [t["trial"] for t in trials] == list(range(12))
    fitted = [t for t in trials if "duplicate_of" not in t]  # a 4-point grid is fitted 4 times
    assert sorted(t["params"]["l2"] for t in fitted) == sorted(scores)
    for t in trials:
        assert t["score"] == scores[t["params"]["l2"]] and t["state"] == "complete"
        assert t["intermediate"] == [[0, t["score"]]]  # non-iterative models report once


def test_models_without_hyperparameters_are_fitted_once(tmp_path, synthetic_split) -> None:
    record = _tune(tmp_path, _write_split(tmp_path, synthetic_split), "popularity", {}, 16)
    assert len(record["trials"]) == 16 and record["space"] == {}
    assert [t.get("duplicate_of") for t in record["trials"]] == [None] + [0] * 15
    assert record["best_trial"] == 0


def test_successive_halving_stops_poor_trials_at_the_rungs(tmp_path, synthetic_split) -> None:
    # faithful: learning rate 0.05, 64 components, 10 epochs; the range makes every point new
    space = {"learning_rate": [1.0e-7], "no_components": {"low": 8, "high": 64}, "epochs": 8}
    record = _tune(tmp_path, _write_split(tmp_path, synthetic_split), "lightfm_warp", space, 12)
    trials = record["trials"]
    assert record["pruner"] == "SuccessiveHalvingPruner"
    pruned = [t for t in trials if t["state"] == "pruned"]
    assert pruned, [(t["params"]["learning_rate"], t["state"]) for t in trials]
    for t in pruned:  # stopped at a rung: after epoch 1 or 3 (of 8)
        assert t["score"] is None and len(t["intermediate"]) in (1, 3)
    assert any(t["params"]["learning_rate"] == 1.0e-7 for t in pruned)
    good = [t for t in trials if t["params"]["learning_rate"] == 0.05 and t["state"] == "complete"]
    assert good and record["params"]["learning_rate"] == 0.05
    assert all(len(t["intermediate"]) == t["params"]["epochs"] for t in good)
    # Pruning is what makes many trials cheap: fewer epochs in all than full training would take.
    assert sum(len(t["intermediate"]) for t in trials) < 0.75 * sum(t["params"]["epochs"] for t in trials)


def test_candidates_a_model_refuses_are_recorded_not_chosen(tmp_path: Path, synthetic_split) -> None:
    dirs = _write_split(tmp_path, synthetic_split)
    mixed = _tune(tmp_path, dirs, "ease", {"max_items": [10, 1000]}, 6, "mixed.json", base={"max_items": 10})
    assert mixed["params"]["max_items"] == 1000 and "status" not in mixed
    states = {t["params"]["max_items"]: t["state"] for t in mixed["trials"]}
    assert states == {10: "not_applicable", 1000: "complete"}
    refused = _tune(tmp_path, dirs, "ease", {"max_items": [10]}, 3, "none.json", base={"max_items": 10})
    assert refused["status"] == "not_applicable" and refused["score"] is None
    assert refused["params"]["max_items"] == 10 and "more than max_items=10" in refused["reason"]


def test_rating_models_minimise_rmse(synthetic_split) -> None:
    model = build_model("biased_mf", {"epochs": 2}).fit(synthetic_split.train, None, np.random.default_rng(0))
    rmse = validation_score(model, synthetic_split.train, synthetic_split.valid, metric="rmse")
    assert 0 < rmse < 2


# -- convergence (after tuning) -----------------------------------------------------------------
def _record(scores: list[float | None], higher: bool = True, replicate: int = 1) -> dict:
    trials = [{"trial": i, "params": {"l2": float(10 ** (i % 4))}, "score": s, "intermediate": [[0, s]],
               "state": "complete" if s is not None else "pruned", "cpu_seconds": 1.0}
              for i, s in enumerate(scores)]  # fmt: skip
    return {"dataset": "synthetic", "protocol": "random", "model": "ease", "metric": "ndcg@10",
            "higher_is_better": higher, "trials": trials, "replicate": replicate,
            "params": trials[0]["params"], "cpu_seconds": float(len(trials))}  # fmt: skip


def test_incumbent_curve_is_the_best_complete_trial_among_the_first_n() -> None:
    record = _record([0.2, None, 0.3, 0.1, 0.3, 0.5])
    assert [(n, t) for n, t, _ in incumbent_curve(record)] == [(1, 0), (2, 0), (3, 2), (4, 2), (5, 2), (6, 5)]
    lower = incumbent_curve({**record, "higher_is_better": False})
    assert [t for _, t, _ in lower] == [0, 0, 0, 3, 3, 3]  # ties keep the earlier trial
    assert incumbent_curve(_record([None, 0.4]))[0][1] is None


def test_plateau_rule_by_hand() -> None:
    # three replicates x 4 trials (oriented scores): final 0.30, 0.32, 0.34 -> noise sd 0.02
    best = np.array([[0.10, 0.29, 0.30, 0.30], [0.20, 0.20, 0.32, 0.32], [0.25, 0.30, 0.33, 0.34]])
    gain_half, noise, at = plateau(best)
    assert noise == pytest.approx(0.02)
    # gain(2) = mean(0.01, 0.12, 0.04) = 0.0567 > 0.02; gain(3) = mean(0, 0, 0.01) <= 0.02
    assert gain_half == pytest.approx((0.01 + 0.12 + 0.04) / 3) and at == 3
    assert plateau(best[:1])[2] is None  # one replicate: no noise, no rule
    # A gain that every replicate finds in the last trial moves the plateau to the end.
    late = best.copy()
    late[:, -1] += 0.1
    assert plateau(late)[2] == 4


def test_convergence_table_counts_replicates_cpu_and_test_spread() -> None:
    reps = [_record([0.2, 0.3, 0.3, 0.3], replicate=r) for r in (1, 2)]
    reps.append(_record([0.1, 0.2, 0.3, 0.31], replicate=3))
    tuned = pd.DataFrame({"dataset": "synthetic", "protocol": "random", "model": "ease",
                          "seed": [1, 2, 3], "metric": "ndcg@10", "value": [0.25, 0.31, 0.35]})  # fmt: skip
    row = convergence(reps, tuned).iloc[0]
    assert (row["budget"], row["replicates"], row["searched"]) == (4, 3, True)
    assert row["valid_sd"] == pytest.approx(np.std([0.3, 0.3, 0.31], ddof=1))
    assert row["search_cpu_mean"] == 4.0 and row["search_cpu_total"] == 12.0
    assert row["test_mean"] == pytest.approx(0.91 / 3)
    assert row["test_sd"] == row["tuned_test_sd"] == pytest.approx(np.std([0.25, 0.31, 0.35], ddof=1))
    # gain(2) = mean(0, 0, 0.11) = 0.037: within the tuned runs' test spread (0.050), not
    # within the searches' validation spread (0.006)
    assert row["noise"] == row["tuned_test_sd"]
    assert (row["trials_to_plateau"], row["converged"]) == (2, True)
    assert (row["trials_to_plateau_valid"], row["converged_valid"]) == (3, False)
    table = curves(reps)
    assert len(table) == 12 and set(table["replicate"]) == {1, 2, 3}


def test_epoch_callback_is_called_after_each_epochs_history_row(synthetic_split) -> None:
    model = build_model("biased_mf", {"factors": 4, "epochs": 3, "patience": 0})
    seen = []
    model.epoch_callback = lambda epoch, values: seen.append((epoch, len(model.history), sorted(values)))
    model.fit(synthetic_split.train, synthetic_split.valid, np.random.default_rng(0))
    assert seen == [(e, e, ["loss", "val_rmse"]) for e in (1, 2, 3)]


def test_a_variant_is_tuned_on_its_base_models_metric_unless_it_names_its_own() -> None:
    from recrepro.study.tuning import selection_metric

    tuning = {"metric": "ndcg@10", "metrics": {"rating_nn": "rmse", "rating_nn__b": "mae"}}
    assert selection_metric(tuning, "rating_nn") == "rmse"
    assert selection_metric(tuning, "rating_nn__a") == "rmse"
    assert selection_metric(tuning, "rating_nn__b") == "mae"
    assert selection_metric(tuning, "two_tower__a") == "ndcg@10"
