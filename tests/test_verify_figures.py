"""`recrepro verify --stats` recomputes every figure-data table from `reported/` alone (and the
dataset's own files): a small study is published, its runs deleted, and the recomputation must
equal `reported/figdata/`; a tampered published file must fail with one line."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recrepro.core import layout
from recrepro.core.io import write_csv, write_json, write_parquet
from recrepro.core.rng import derive_seed
from recrepro.core.runs import RunKey
from recrepro.data.movielens import load_tables, locate
from recrepro.report import published as figure_published
from recrepro.report import registry
from recrepro.report.config import PaperConfig
from recrepro.report.figdata import figure_settings
from recrepro.report.pipeline import make_figure_data
from recrepro.stats import compute_stats
from recrepro.stats.pipeline import TABLES
from recrepro.study.summarize import collect_metrics, summarize
from recrepro.tools.verify import ResultsDiffer, publish, verify_figures

#: A small study: two protocols, four models (session refuses the dataset: empty run files),
#: two settings, two seeds; 40 users; top-20 lists, of which the figures read the top 5 and
#: the example user's whole list.
CONFIG = {
    "datasets": ["ml-100k"], "protocols": ["random", "temporal"], "settings": ["faithful", "tuned"],
    "seeds": [1, 2], "models": {"popularity": {}, "ease": {}, "biased_mf": {}, "session": {}},
    "evaluation": {"ks": [5, 10, 20]}, "paper": {"example_user": 7, "popularity_k": 5},
}  # fmt: skip
STATS_CONFIG = {"bootstrap": 200, "permutations": 500, "calibration_draws": 200,
                "aa_pair": ["ease", "biased_mf"]}  # fmt: skip
USERS = np.arange(1, 41)
DEPTH = 20
REFUSED = "session"


def _runs() -> list[RunKey]:
    return [RunKey("ml-100k", p, m, s, seed) for p in CONFIG["protocols"] for m in CONFIG["models"]
            for s in CONFIG["settings"] for seed in CONFIG["seeds"]]  # fmt: skip


def _write_run(key: RunKey, root: Path, n_items: int) -> None:
    """A run's files as the runner writes them (a refused run: empty files and no metrics)."""
    folder = key.path(root / "results")
    if key.model == REFUSED:
        write_parquet(folder / "per_user.parquet", pd.DataFrame({"user": pd.Series(dtype="int64")}))
        write_parquet(folder / "topk.parquet", pd.DataFrame({c: pd.Series(dtype=t) for c, t in (
            ("user", "int64"), ("rank", "int64"), ("item", "int64"), ("score", "float32"))}))  # fmt: skip
        write_csv(folder / "history.csv", pd.DataFrame(columns=["epoch", "loss"]))
        write_json(folder / "metrics.json", {**key.as_dict(), "status": "not_applicable", "metrics": {}})
        return
    rng = np.random.default_rng(derive_seed(*key.as_dict().values()))
    level = {"popularity": 0.1, "ease": 0.3, "biased_mf": 0.25}[key.model]
    ndcg = np.clip(level + USERS % 4 / 20 + rng.normal(0, 0.05, len(USERS)), 0, 1)
    frame = pd.DataFrame({"user": USERS, "ndcg@10": ndcg, "recall@10": np.round(ndcg * 1.2, 2),
                          "hit@10": (ndcg > 0.2).astype(float), "n_relevant": 1 + USERS % 3})  # fmt: skip
    aggregates = {m: float(frame[m].mean()) for m in ("ndcg@10", "recall@10", "hit@10")}
    history = pd.DataFrame(columns=["epoch", "loss"])  # ease, popularity: no epochs
    if key.model == "biased_mf":
        frame["n_ratings"] = 1 + USERS % 7
        frame["rmse"] = 0.9 + rng.normal(0, 0.05, len(USERS))
        frame["mae"] = 0.7 + rng.normal(0, 0.05, len(USERS))
        aggregates["rmse"] = float(frame["rmse"].mean())
        aggregates["mae"] = float(frame["mae"].mean())
        epochs = np.arange(1, 4)
        history = pd.DataFrame({"epoch": epochs, "loss": 1 / epochs + rng.normal(0, 0.01, 3),
                                "val_rmse": 0.95 - epochs / 100})  # fmt: skip
    write_parquet(folder / "per_user.parquet", frame)
    write_json(folder / "metrics.json", {**key.as_dict(), "status": "ok", "metrics": aggregates})
    write_csv(folder / "history.csv", history)
    # each model favours its own items, so its seeds' lists overlap
    favoured = np.random.default_rng(derive_seed(key.model)).permutation(np.arange(1, n_items + 1))
    weights = 1 / np.arange(1, n_items + 1)
    items = np.stack([rng.choice(favoured, DEPTH, replace=False, p=weights / weights.sum()) for _ in USERS])
    topk = pd.DataFrame({
        "user": np.repeat(USERS, DEPTH), "rank": np.tile(np.arange(1, DEPTH + 1), len(USERS)),
        "item": items.ravel(), "score": np.tile(np.linspace(1, 0, DEPTH, dtype=np.float32), len(USERS)),
    })  # fmt: skip
    write_parquet(folder / "topk.parquet", topk)


@pytest.fixture(scope="module")
def published(tmp_path_factory, shared_data_dir: str) -> Path:
    """The small study run (fabricated runs), its statistics and figure data made as the rules
    make them, published into reported/, then results/ deleted: reported/ alone is left."""
    root = tmp_path_factory.mktemp("figures")
    tables = load_tables("ml-100k", locate("ml-100k", shared_data_dir, root / "cache"))
    for name in layout.TABLES:  # prepare_data
        write_parquet(root / layout.table_file(layout.data_dir("ml-100k"), name), tables[name])
    runs = _runs()
    for key in runs:
        _write_run(key, root, len(tables["items"]))
    results = root / "results"
    per_user = [key.path(results) / "per_user.parquet" for key in runs]
    metrics = [key.path(results) / "metrics.json" for key in runs]
    stats_files = {name: results / "stats" / f"{name}.csv" for name in TABLES}
    compute_stats(per_user, metrics, stats_files, STATS_CONFIG)
    write_csv(results / "summary.csv", summarize(collect_metrics(metrics)))
    (results / "main.pdf").write_bytes(b"%PDF-1.5 fake")
    inputs = {name: ([root / p for p in paths] if isinstance(paths, list) else root / paths)
              for name, paths in registry.input_paths(CONFIG).items()}  # fmt: skip
    outputs = {name: inputs[f"figdata_{name}"] for name in registry.FIGDATA}
    make_figure_data(inputs, CONFIG, outputs)  # the figure_data rule
    publish(results / "summary.csv", stats_files.values(), [results / "main.pdf"], root / "reported",
            per_user=per_user, stats_config=STATS_CONFIG, figure_data=outputs.values(),
            history=inputs["main_history"], topk=inputs["main_topk"],
            figure_settings=figure_settings(PaperConfig.from_config(CONFIG)))  # fmt: skip
    shutil.rmtree(results)  # from here on: reported/ alone
    return root / "reported"


def _cli(reported: Path, data_dir: str) -> subprocess.CompletedProcess:
    args = ["verify", "--stats", "--reported", str(reported / "summary.csv")]
    env = {**os.environ, "RECREPRO_DATA_DIR": data_dir}
    command = [sys.executable, "-m", "recrepro.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env)


def _errors(proc: subprocess.CompletedProcess) -> list[str]:
    return [line for line in proc.stderr.splitlines() if line.startswith("recrepro: error:")]


def test_verify_stats_recomputes_every_figure_data_table_from_reported_alone(
    published: Path, shared_data_dir: str
) -> None:
    proc = _cli(published, shared_data_dir)
    assert proc.returncode == 0, proc.stderr
    assert f"all {len(TABLES)} statistics tables recompute from {published}" in proc.stderr
    for name, file in registry.FIGDATA.items():  # one line per table
        path = re.escape(str(published / "figdata" / file))
        assert re.search(rf"{path}: [1-9]\d* rows recomputed, all match", proc.stderr), (name, proc.stderr)
    assert f"all {len(registry.FIGDATA)} figure-data tables recompute from {published}" in proc.stderr
    example = pd.read_csv(published / "figdata" / "example_user.csv")
    assert example["rank"].max() == DEPTH  # the example user's whole list, with titles
    assert example["title"].str.contains(r"\(\d{4}\)").all()


def test_the_figure_inputs_are_compact_and_hold_what_the_figure_data_read(published: Path) -> None:
    folder = published / figure_published.FOLDER
    topk = pd.read_parquet(folder / "topk.parquet")
    assert str(topk["model"].dtype) == "category"
    assert {c: str(topk[c].dtype) for c in ("seed", "user", "rank", "item")} == {
        "seed": "int8", "user": "int8", "rank": "int8", "item": "int16"}  # fmt: skip
    example = topk["user"] == 7
    assert topk.loc[~example, "rank"].max() == 5 and topk.loc[example, "rank"].max() == DEPTH
    assert topk.loc[~example, "score"].isna().all() and topk.loc[example, "score"].notna().all()
    record = json.loads((folder / "figure_config.json").read_text())
    assert record["settings"]["popularity_k"] == 5 and record["settings"]["example_user"] == 7
    order = [(m, s) for m in CONFIG["models"] for s in CONFIG["seeds"]]  # the figure_data rule's
    assert [(r["model"], r["seed"]) for r in record["runs"]] == order
    refused = [r for r in record["runs"] if r["model"] == REFUSED]
    assert all(r["per_user"] == [] and r["history"] == ["epoch", "loss"] for r in refused)
    assert next(r for r in record["runs"] if r["model"] == "biased_mf")["per_user"] == [
        "ndcg@10", "recall@10", "hit@10", "rmse", "mae"]  # fmt: skip
    histories = pd.read_parquet(folder / "histories.parquet")
    assert set(histories["model"]) == {"biased_mf"} and len(histories) == 6
    assert not [*published.glob("**/ratings*"), *published.glob("**/items*")]  # never published


def _edit(path: Path, change) -> None:
    frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    change(frame)
    frame.to_parquet(path, index=False) if path.suffix == ".parquet" else frame.to_csv(path, index=False)


def _swap_item(frame: pd.DataFrame) -> None:  # one top-5 item of a non-example user
    row = frame.index[(frame["model"] == "ease") & (frame["user"] == 3) & (frame["rank"] == 1)][0]
    frame.loc[row, "item"] = 1 + (int(frame.loc[row, "item"]) % 1500)


TAMPERED = {
    # a published input: the recomputation changes
    "topk item": ("figure_inputs/topk.parquet", _swap_item, "popularity.csv", "rec_share"),
    "history loss": ("figure_inputs/histories.parquet", lambda f: f.__setitem__("loss", f["loss"] + 1e-6),
                     "history.csv", "loss"),  # fmt: skip
    # a published table: counts are exact, other numbers by the exact rule
    "popularity count": ("figdata/popularity.csv",
                         lambda f: f.__setitem__("popularity", f["popularity"] + (f.index == 3)),
                         "popularity.csv", "popularity"),  # fmt: skip
    "overlap 1e-6": ("figdata/overlap.csv", lambda f: f.__setitem__("overlap", f["overlap"] + 1e-6),
                     "overlap.csv", "overlap"),  # fmt: skip
}


@pytest.mark.parametrize("case", sorted(TAMPERED))
def test_a_tampered_published_file_fails_with_one_line(
    case: str, published: Path, shared_data_dir: str, tmp_path: Path
) -> None:
    reported = tmp_path / "reported"
    shutil.copytree(published, reported)
    file, change, table, column = TAMPERED[case]
    _edit(reported / file, change)
    with pytest.raises(ResultsDiffer) as failed:
        verify_figures(reported, data_dir=shared_data_dir)
    message = str(failed.value)
    assert "\n" not in message
    assert re.match(rf"\d of {len(registry.FIGDATA)} figure-data tables recomputed from "
                    rf"{re.escape(str(reported / 'figure_inputs'))} differ", message), message  # fmt: skip
    assert re.search(rf"first: {re.escape(str(reported / 'figdata' / table))} row \d+ \([^)]*\): {column} "
                     r"recomputed \S+, reported \S+$", message), message  # fmt: skip


def test_the_cli_fails_with_one_line_on_a_tampered_file(
    published: Path, shared_data_dir: str, tmp_path: Path
) -> None:
    reported = tmp_path / "reported"
    shutil.copytree(published, reported)
    _edit(reported / "figdata" / "example_user.csv", lambda f: f.__setitem__("title", f["title"].str.upper()))
    proc = _cli(reported, shared_data_dir)
    assert proc.returncode == 1
    errors = _errors(proc)
    assert errors and errors == [proc.stderr.strip().splitlines()[-1]], proc.stderr
    assert re.fullmatch(r"recrepro: error: 1 of 5 figure-data tables recomputed from \S+ differ .*; first: "
                        r"\S+example_user\.csv row \d+ \([^)]*\): title recomputed .+, reported .+",
                        errors[0]), errors[0]  # fmt: skip


def test_a_tiny_float_difference_passes_and_a_missing_input_names_the_fix(
    published: Path, shared_data_dir: str, tmp_path: Path
) -> None:
    reported = tmp_path / "reported"
    shutil.copytree(published, reported)
    _edit(reported / "figdata" / "overlap.csv", lambda f: f.__setitem__("overlap", f["overlap"] + 1e-13))
    verify_figures(reported, data_dir=shared_data_dir)  # within rtol=1e-9
    (reported / "figure_inputs" / "topk.parquet").unlink()
    proc = _cli(reported, shared_data_dir)
    assert proc.returncode == 1
    assert _errors(proc) == [
        f"recrepro: error: {reported / 'figure_inputs' / 'topk.parquet'} not found; restore it "
        "(git checkout reported/) or run snakemake publish_reported"
    ], proc.stderr
