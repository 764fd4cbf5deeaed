"""The paper's generated sentences read true for small studies: one protocol, a model set without
seed models, no tuned setting. Counts agree in number, absent parts drop out (no ``n/a``), and no
"17 of the 17" template phrases appear."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recrepro.report import findings, numbers
from recrepro.report.config import PaperConfig
from recrepro.report.data import ReportData
from recrepro.report.reproduction import load_table

REPO = Path(__file__).resolve().parents[1]
#: Macros holding prose (a sentence or a clause of one), as opposed to bare numbers.
PROSE = re.compile(r"(Sentence|Lead|Discussion|Agreement|Note|Short|Text|Protocols|Answer)$")
PLURAL_AFTER_ONE = re.compile(r"\b1 (?:[a-z()]+ )?(protocol|model|seed|run|search|pair|addition|step)e?s\b")
SAME_COUNT = re.compile(r"\b(\d+) of (?:the )?\1\b")
DOUBLE_NEGATIVE = re.compile(r"\bnone of the [^.;]* not\b")


def _frames(models: list[str], protocols: list[str], settings: list[str]) -> ReportData:
    """A fake study: NDCG@10 falls with a model's position; tuning adds 0.05; every model is
    tested against the leader and every pair (the last two pairs significant)."""
    summary, pairwise = [], []
    for protocol in protocols:
        for setting in settings:
            key = {"dataset": "ml-100k", "protocol": protocol, "setting": setting}
            means = {m: 0.3 - 0.05 * i + (0.05 if setting == "tuned" else 0) for i, m in enumerate(models)}
            for model, mean in means.items():
                for metric, value in (("ndcg@10", mean), ("fit_seconds", 1.0 + len(model))):
                    summary.append({**key, "model": model, "metric": metric, "mean": value, "std": 0.01,
                                    "ci_low": value - 0.02, "ci_high": value + 0.02, "n_seeds": 2})
            for i, a in enumerate(models):
                for b in models[i + 1:]:
                    diff = means[b] - means[a]
                    for comparison in ("all_pairs", *(("vs_best",) if a == models[0] else ())):
                        pairwise.append(_test(key, comparison, b, a, diff, significant=diff < -0.07))
            if setting == "tuned":
                for model in models:
                    pairwise.append(_test({**key}, "tuned_vs_faithful", model, model, 0.05, significant=True))
    empty = pd.DataFrame(columns=["dataset", "protocol", "setting", "metric"])
    return ReportData(summary=pd.DataFrame(summary), pairwise=pd.DataFrame(pairwise), friedman=empty,
                      ranks=empty, cd_cliques=empty, skipped=pd.DataFrame(columns=["model"]))


def _test(key: dict, comparison: str, model: str, other: str, diff: float, significant: bool) -> dict:
    decision = ("better" if diff > 0 else "worse") if significant else "no difference"
    return {**key, "metric": "ndcg@10", "comparison": comparison, "model": model, "other": other,
            "other_setting": key["setting"], "test": "crossed", "statistic": 1.0, "p_raw": 0.01,
            "p_adj": 0.01 if significant else 0.5, "correction": "holm", "family_size": 4,
            "effect": diff * 5, "effect_name": "cohens_dz", "effect_ci_low": 0.0, "effect_ci_high": 0.0,
            "diff_mean": diff, "ci_low": diff - 0.01, "ci_high": diff + 0.01, "n_users": 50,
            "n_seeds": 2, "significant": significant, "decision": decision, "note": ""}


def _splits(root: Path, protocols: list[str]) -> list[str]:
    rng = np.random.default_rng(0)
    paths = []
    for protocol in protocols:
        folder = root / "results/splits/ml-100k" / protocol / "seed1"
        folder.mkdir(parents=True)
        for part, size in (("train", 80), ("valid", 10), ("test", 10)):
            frame = pd.DataFrame({"user": rng.integers(1, 20, size), "item": rng.integers(1, 50, size),
                                  "rating": 4.0, "timestamp": rng.integers(0, 1000, size)})
            frame.to_parquet(folder / f"{part}.parquet")
            paths.append(str(folder / f"{part}.parquet"))
    return paths


def _macros(tmp_path: Path, models: list[str], protocols: list[str], settings: list[str]) -> dict[str, str]:
    config = {"datasets": ["ml-100k"], "protocols": protocols, "settings": settings, "seeds": [1, 2],
              "evaluation": {"ks": [5, 10]}, "models": {m: {} for m in models}}
    cfg = PaperConfig.from_config(config)
    ratings = pd.DataFrame({"user": [1, 2], "item": [1, 2], "rating": [4.0, 5.0], "timestamp": [1, 2]})
    return numbers.collect_numbers(
        _frames(models, protocols, settings), cfg, ratings=ratings, items=pd.DataFrame({"item": [1, 2]}),
        reproduction=load_table(REPO / "reported/reproduction.csv"), provenance=[{"git_commit": "abc"}],
        picks={}, n_runs=len(models) * 2, config=config, splits=_splits(tmp_path, protocols),
    )


def _check_prose(macros: dict[str, str]) -> None:
    for name, value in macros.items():
        if not PROSE.search(name):
            continue
        assert "n/a" not in value, (name, value)
        assert not PLURAL_AFTER_ONE.search(value), (name, value)
        assert not SAME_COUNT.search(value), (name, value)
        assert not DOUBLE_NEGATIVE.search(value) and "only none" not in value, (name, value)


@pytest.mark.parametrize(
    ("models", "settings"),
    [
        (["ease", "popularity", "two_tower", "gnn"], ["faithful", "tuned"]),  # one protocol, tuned
        (["ease", "itemknn", "popularity"], ["faithful"]),  # no seed models, no tuning
        (["ease", "two_tower"], ["faithful", "tuned"]),  # one seed model, nothing tied
    ],
)
def test_small_studies_read_naturally(tmp_path: Path, models: list[str], settings: list[str]) -> None:
    macros = _macros(tmp_path, models, ["random"], settings)
    _check_prose(macros)
    assert "1 evaluation protocol " in macros["StudySentence"]
    assert macros["ExploratoryNote"] == "" and macros["LeakageSentence"] == ""
    # switches that drop the text of absent parts (\\ifTuned ... \\fi in main.tex)
    assert macros["ifTuned"] == ("true" if "tuned" in settings else "false")
    assert macros["ifSeveralProtocols"] == macros["ifLeakage"] == macros["ifProtocolTemporal"] == "false"
    assert macros["ifSeedModels"] == ("true" if {"two_tower", "gnn"} & set(models) else "false")
    if "tuned" in settings:
        assert macros["MainSetting"] == "tuned" and "two\\_tower" in macros["GapSentence"]
        assert findings.count_of(len(models), len(models), "searched model") in macros["TunedSentence"]
    else:
        assert macros["MainSetting"] == "faithful" and macros["BudgetSentence"] == ""
        assert "seed model" not in macros["StudySentence"] and macros["RecipeSentence"] == ""


def test_counts_read_naturally() -> None:
    assert findings.count_of(17, 17, "model") == "all 17 models"
    assert findings.count_of(0, 9, "number") == "none of the 9 numbers"
    assert findings.count_of(3, 9, "search") == "3 of 9 searches"
    assert findings.count_of(2, 2, "seed") == "both seeds"
    assert findings.plural(1, "protocol") == "1 protocol" and findings.plural(2, "protocol") == "2 protocols"


def test_clauses_and_references_read_naturally() -> None:
    assert findings.behind_clause(0, 18) == "all 18 other models are significantly behind it"
    assert findings.behind_clause(5, 18) == "5 of 18 other models are not significantly behind it"
    assert findings.behind_clause(1, 18) == "1 of 18 other models is not significantly behind it"
    ref = "\\supref{tab:protocol_%s}"
    assert numbers.protocol_tables_ref(["random"]) == "Table~" + ref % "random"
    assert numbers.protocol_tables_ref(["random", "temporal"]) == (
        f"Tables~{ref % 'random'} and~{ref % 'temporal'}")
    assert numbers.protocol_tables_ref(["a", "b", "c"]).endswith("and the following ones")
    runs = [{"git_commit": "abcdef1234567", "git_dirty": False}] * 2
    assert findings.provenance_sentence(runs) == (
        "The 2 runs ran at code revision \\texttt{abcdef1234}, none with uncommitted changes.")


def test_leakage_share_counts_later_training_ratings(tmp_path: Path) -> None:
    folder = tmp_path / "temporal_user/seed1"
    folder.mkdir(parents=True)
    pd.DataFrame({"timestamp": [1, 2, 3, 10]}).to_parquet(folder / "train.parquet")
    pd.DataFrame({"timestamp": [2, 4]}).to_parquet(folder / "test.parquet")
    share = findings.leakage_share([str(folder / "train.parquet"), str(folder / "test.parquet")])
    assert share == 0.25  # only 10 is later than the median test rating, 3
    assert "25\\%" in findings.leakage_sentence(share) and findings.leakage_sentence(None) == ""
