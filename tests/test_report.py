"""Reporting layer: tables, numbers, figures and the paper, on a small fake results tree."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recrepro.core.errors import ConfigError, DataError
from recrepro.core.runs import RunKey
from recrepro.data.synthetic import make_synthetic
from recrepro.report import bibliography, figdata, figures, method_tables, numbers, pipeline, registry, tables
from recrepro.report.config import PaperConfig
from recrepro.report.data import ReportData
from recrepro.report.reproduction import load_references, reproduction_table
from recrepro.report.style import EXTRA_COLOURS, ModelStyles, format_p, metric_label, model_style
from recrepro.study.runner import write_not_applicable

REPO = Path(__file__).resolve().parents[1]
MODELS = ("alpha", "beta", "gamma")
SEEDS = (1, 2)
CONFIG = {
    "datasets": ["ml-100k"],
    "protocols": ["random", "temporal"],
    "settings": ["faithful"],
    "seeds": list(SEEDS),
    "split": {"valid_fraction": 0.1, "test_fraction": 0.1},
    "evaluation": {"ks": [5, 10]},
    "models": {m: {} for m in MODELS},
    "stats": {"alpha": 0.05},
    "paper": {"example_models": {"pie": "beta", "polygon": "missing_model"}},
}
# (ndcg@10, recall@10, rmse, fit_seconds) per model; alpha best on ranking, gamma worst.
VALUES = {
    "alpha": (0.300, 0.40, np.nan, 12.0),
    "beta": (0.250, 0.35, 0.95, 3.0),
    "gamma": (0.100, 0.20, 0.91, 0.5),
}
FAMILY_SCALE = {"ndcg": 1.0, "recall": 1.2, "hit": 2.0, "map": 0.8, "coverage": 0.5}


# --------------------------------------------------------------------------- fake results


def _summary_rows() -> list[dict]:
    rows = []
    for protocol in CONFIG["protocols"]:
        shift = 0.0 if protocol == "random" else -0.05
        for model, (ndcg, _recall, rmse, seconds) in VALUES.items():
            metrics = {
                f"{fam}@{k}": (ndcg + shift) * scale * (1 + 0.1 * (k == 10))
                for fam, scale in FAMILY_SCALE.items()
                for k in (5, 10)
            }
            metrics.update(
                {
                    "rmse": rmse,
                    "mae": rmse * 0.8,
                    "fit_seconds": seconds,
                    "factorized_top@100": ndcg,
                }
            )
            for metric, mean in metrics.items():
                if np.isfinite(mean):
                    rows.append(
                        {
                            "dataset": "ml-100k",
                            "protocol": protocol,
                            "model": model,
                            "setting": "faithful",
                            "metric": metric,
                            "mean": mean,
                            "std": 0.01,
                            "ci_low": mean - 0.02,
                            "ci_high": mean + 0.02,
                            "n_seeds": len(SEEDS),
                        }
                    )
    return rows


def _stats_frames() -> dict[str, pd.DataFrame]:
    summary = pd.DataFrame(_summary_rows())
    key = {"dataset": "ml-100k", "protocol": "random", "setting": "faithful"}
    pairwise = pd.DataFrame(
        [
            {
                **key,
                "metric": metric,
                "comparison": "vs_best",
                "model": model,
                "other": "alpha",
                "other_setting": "faithful",
                "test": "wilcoxon",
                "statistic": 10.0,
                "p_raw": p / 2,
                "p_adj": p,
                "correction": "holm",
                "family_size": 3,
                "effect": -0.3,
                "effect_name": "rank-biserial",
                "effect_ci_low": -0.4,
                "effect_ci_high": -0.2,
                "diff_mean": -0.05,
                "ci_low": -0.08,
                "ci_high": -0.02,
                "n_users": 200,
                "n_seeds": 2,
                "significant": p < 0.05,
                "decision": "worse" if p < 0.05 else "no difference",
                "note": "",
            }
            for metric in ("ndcg@10", "recall@10")
            for model, p in (("beta", 0.2), ("gamma", 0.0004))
        ]
    )
    friedman = pd.DataFrame(
        [
            {
                **key,
                "metric": "ndcg@10",
                "statistic": 42.5,
                "p_value": 1e-6,
                "n_users": 200,
                "n_models": 3,
            }
        ]
    )
    ranks = pd.DataFrame(
        [
            {**key, "metric": "ndcg@10", "model": m, "avg_rank": r}
            for m, r in (("alpha", 1.4), ("beta", 1.8), ("gamma", 2.8))
        ]
    )
    cliques = pd.DataFrame(
        [
            {**key, "metric": "ndcg@10", "clique": 1, "model": m, "avg_rank": r}
            for m, r in (("alpha", 1.4), ("beta", 1.8))
        ]
    )
    return {
        "summary": summary,
        "pairwise": pairwise,
        "friedman": friedman,
        "ranks": ranks,
        "cd_cliques": cliques,
        "skipped": pd.DataFrame(columns=["dataset", "protocol", "model", "setting", "seed", "reason"]),
    }


def _write_run(key: RunKey, root: Path, items: np.ndarray, users: np.ndarray) -> None:
    folder = key.path(root / "results")
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([MODELS.index(key.model), key.seed])
    weights = np.linspace(2.0, 0.1, len(items)) ** (3 - MODELS.index(key.model))
    rows = []
    for user in users:
        picks = rng.choice(items, size=10, replace=False, p=weights / weights.sum())
        rows += [(user, rank, item, 1.0 / rank) for rank, item in enumerate(picks, start=1)]
    pd.DataFrame(rows, columns=["user", "rank", "item", "score"]).to_parquet(
        folder / "topk.parquet"
    )
    ndcg = VALUES[key.model][0]
    pd.DataFrame(
        {
            "user": users,
            "ndcg@10": rng.beta(2, 2 / ndcg, len(users)),
            "recall@10": rng.random(len(users)),
        }
    ).to_parquet(folder / "per_user.parquet")
    epochs = np.arange(1, 6) if key.model != "gamma" else np.arange(0)
    pd.DataFrame(
        {"epoch": epochs, "loss": 10.0 / (epochs + key.seed), "val_ndcg@10": 0.05 * epochs}
    ).to_csv(folder / "history.csv", index=False)
    provenance = {
        "python": "3.11.9",
        "packages": {"numpy": "2.4.6", "tensorflow-cpu": "2.21.0"},
        "git": {"commit": "0123456789abcdef"},
        "git_dirty": False,
        "platform": "Linux-test_x86",
    }
    (folder / "provenance.json").write_text(json.dumps(provenance))


def _make_tree(
    root: Path,
    frames: dict[str, pd.DataFrame],
    models: tuple[str, ...] = MODELS,
    seeds: tuple[int, ...] = SEEDS,
    example_user: bool = True,
) -> Path:
    """A fake project: results/{summary,stats,data,runs} and config/reference_numbers.csv."""
    for name, frame in frames.items():
        path = root / (
            f"results/{name}.csv" if name in ("summary", "skipped") else f"results/stats/{name}.csv"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False)
    synthetic = make_synthetic(n_users=60, n_items=80, interactions_per_user=20, seed=3)
    data_dir = root / "results/data/ml-100k"
    data_dir.mkdir(parents=True)
    for name in ("ratings", "items"):
        synthetic[name].to_parquet(data_dir / f"{name}.parquet")
    ratings = synthetic["ratings"].sort_values(["user", "timestamp"], kind="stable")
    part = ratings.groupby("user").cumcount() % 10  # 80/10/10 per user
    for protocol in CONFIG["protocols"]:
        folder = root / f"results/splits/ml-100k/{protocol}/seed1"
        folder.mkdir(parents=True)
        for name, mask in (("train", part < 8), ("valid", part == 8), ("test", part == 9)):
            ratings[mask].to_parquet(folder / f"{name}.parquet")
    items = synthetic["items"]["item_id"].to_numpy()
    users = np.unique(synthetic["ratings"]["user"])
    users = users if example_user else users[users != 42]
    for model in models:
        for seed in seeds:
            _write_run(RunKey("ml-100k", "random", model, "faithful", seed), root, items, users)
    (root / "config").mkdir()
    refs = pd.read_csv(REPO / "config/reference_numbers.csv", dtype=str, keep_default_na=False)
    refs.loc[0, ["model", "protocol", "metric"]] = ["alpha", "random", "factorized_top@100"]  # one result
    refs.to_csv(root / "config/reference_numbers.csv", index=False)
    _analysis_frames(root / "results/stats")
    (root / "reported").mkdir()
    results = root / "results"
    repro = reproduction_table(load_references(root / "config/reference_numbers.csv"), "ml-100k",
                               SEEDS, results)  # fmt: skip
    repro.loc[0, ["ours_mean", "ours_std", "verdict"]] = [0.3, 0.01, "not reproduced"]  # one result
    repro.to_csv(root / "reported/reproduction.csv", index=False)
    return root


def _analysis_frames(folder: Path) -> None:
    """power.csv and seed_level.csv as compute_stats writes them (random: 60 users, temporal: 9)."""
    key = {"dataset": "ml-100k", "setting": "faithful", "metric": "ndcg@10"}
    pd.DataFrame([
        {**key, "protocol": p, "n_users": n, "n_models": 3, "family_size": 3, "alpha": 0.05,
         "power": 0.8, "mde_dz": dz, "mde_dz_worst": dz * 1.2, "sd_diff": 0.1, "mde": dz / 10,
         "mde_worst": dz * 0.12}
        for p, n, dz in (("random", 60, 0.37), ("temporal", 9, 1.1))
    ]).to_csv(folder / "power.csv", index=False)  # fmt: skip
    pd.DataFrame([
        {**key, "protocol": p, "model": m, "other": "", "n_users": 60, "n_seeds": 2, "mean": 0.3,
         "ci_low": 0.2, "ci_high": 0.4, "var_user": 0.01, "var_seed": v, "var_residual": 0.01,
         "share_seed": share}
        for p in ("random", "temporal") for m, v, share in (("alpha", 0.001, 0.05), ("beta", 0.002, 0.09))
    ]).to_csv(folder / "seed_level.csv", index=False)  # fmt: skip


def test_power_table_names_the_weakest_protocol(tree: Path) -> None:
    from recrepro.report import analysis_tables
    from recrepro.report.registry import Context

    ctx = Context(_inputs(tree), CONFIG)
    table = analysis_tables.power(ctx)
    assert [r[0].text for r in table.rows] == ["random", "temporal"]
    assert "With 9 evaluated users, the temporal protocol detects only differences of at least 0.110" \
        in table.caption
    assert table.rows[0][-2].text == "7.0"  # seed share: median of 5% and 9%
    assert table.rows[0][-1].text == "46.5"  # user x seed: median of 0.01/0.021 and 0.01/0.022


def _inputs(root: Path, models: tuple[str, ...] = MODELS, seeds: tuple[int, ...] = SEEDS) -> dict:
    runs = [
        RunKey("ml-100k", "random", m, "faithful", s).path(root / "results")
        for m in models
        for s in seeds
    ]
    report = root / "results/report"
    return {
        "summary": root / "results/summary.csv",
        "skipped": root / "results/skipped.csv",
        **{n: root / f"results/stats/{n}.csv" for n in ("pairwise", "friedman", "cd_cliques")},
        "ranks": root / "results/stats/ranks.csv",
        "references": root / "config/reference_numbers.csv",
        "faithful_provenance": REPO / "config/faithful_provenance.csv",
        "reproduction_table": root / "reported/reproduction.csv",
        "ratings": root / "results/data/ml-100k/ratings.parquet",
        "item_table": root / "results/data/ml-100k/items.parquet",
        "splits": [
            str(root / f"results/splits/ml-100k/{p}/seed1/{part}.parquet")
            for p in CONFIG["protocols"]
            for part in ("train", "valid", "test")
        ],
        "main_history": [str(r / "history.csv") for r in runs],
        "main_per_user": [str(r / "per_user.parquet") for r in runs],
        "main_topk": [str(r / "topk.parquet") for r in runs],
        "provenance": [str(r / "provenance.json") for r in runs],
        "run_metrics": [str(r / "metrics.json") for r in runs],
        "tuning_files": [],
        "power": root / "results/stats/power.csv",
        "seed_level": root / "results/stats/seed_level.csv",
        **{f"figdata_{n}": report / f for n, f in registry.FIGDATA.items()},
    }


def _build(root: Path, config: dict, inputs: dict) -> Path:
    """Run the four reporting steps (paper layout under ``root``)."""
    figdata = {n: inputs[f"figdata_{n}"] for n in registry.FIGDATA}
    pipeline.make_figure_data(inputs, config, figdata)
    pipeline.make_tables(
        inputs,
        config,
        {"outdir": root / registry.TABLES_DIR, "sections": root / registry.SECTIONS_DIR,
         "bibliography": root / bibliography.MODEL_BIB},
    )
    pipeline.make_figures(
        inputs,
        config,
        {"outdir": root / registry.FIGURES_DIR, "texdir": root / registry.FIGURE_TEX_DIR},
    )
    pipeline.make_numbers(inputs, config, root / "paper/generated/numbers.tex")
    return root


def _compile(root: Path, document: str = "main") -> subprocess.CompletedProcess:
    """Compile ``paper/<document>.tex`` (the paper or its supplement) in the tree ``root``."""
    paper = root / "paper"
    for name in ("main.tex", "supplement.tex", "references.bib"):
        shutil.copy(REPO / "paper" / name, paper / name)
    return subprocess.run(
        [
            "latexmk",
            "-pdf",
            "-cd",
            "-interaction=nonstopmode",
            "-halt-on-error",
            str(paper / f"{document}.tex"),
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _make_tree(tmp_path_factory.mktemp("project"), _stats_frames())


@pytest.fixture(scope="module")
def built(tree: Path) -> Path:
    return _build(tree, CONFIG, _inputs(tree))


@pytest.fixture(scope="module")
def data() -> ReportData:
    frames = _stats_frames()
    frames["pairwise"]["significant"] = frames["pairwise"]["significant"].astype(bool)
    return ReportData(**frames)


CFG = PaperConfig.from_config(CONFIG)


# --------------------------------------------------------------------------- tables


def test_main_table_marks_best_second_and_significance(data: ReportData) -> None:
    table = tables.metric_table(
        data,
        CFG,
        ModelStyles(MODELS),
        name="main",
        caption="c",
        protocol="random",
        settings=["faithful"],
        metrics=CFG.headline_metrics,
    )
    twin = table.data.set_index(["model", "metric"])
    assert twin.loc[("alpha", "ndcg@10"), "best"] and twin.loc[("beta", "ndcg@10"), "second"]
    assert not twin.loc[("gamma", "ndcg@10"), ["best", "second"]].any()
    # RMSE: lower is better. Time and coverage: no "best" (cost; the random model would win).
    assert twin.loc[("gamma", "rmse"), "best"] and twin.loc[("beta", "rmse"), "second"]
    assert "fit_seconds" not in set(twin.index.get_level_values("metric"))  # own figure/table
    assert not twin.loc[(slice(None), "coverage@10"), ["best", "second"]].any().any()
    assert twin.loc[("gamma", "ndcg@10"), "worse_than_best"]
    assert not twin.loc[("beta", "ndcg@10"), "worse_than_best"]
    rows = {row[0].text: row for row in table.rows}
    ndcg = table.header.index("NDCG@10 ↑")
    assert rows["alpha"][ndcg].to_latex() == r"{\boldmath\bfseries $0.330 \pm 0.010$}"
    assert rows["beta"][ndcg].to_latex() == r"\underline{$0.275 \pm 0.010$}"
    assert rows["gamma"][ndcg].to_latex() == r"$0.110 \pm 0.010$$^{\dagger}$"
    assert rows["alpha"][table.header.index("RMSE ↓")].to_latex() == "--"  # not a rating model
    latex = table.to_latex()
    assert r"\toprule" in latex and r"\bottomrule" in latex and "Wilcoxon signed-rank test" in latex
    assert r"Holm correction over all pairs of models, $\alpha$ = 0.05)" in latex


def test_markdown_and_csv_twins_match_latex(data: ReportData, tmp_path: Path) -> None:
    table = tables.metric_table(
        data,
        CFG,
        ModelStyles(MODELS),
        name="t",
        caption="Cap",
        protocol="random",
        settings=["faithful"],
        metrics=["ndcg@10", "recall@10"],
    )
    tex, md, csv = tables.write_table(table, tmp_path)
    body = [line for line in md.read_text().splitlines() if line.startswith("| ")]
    assert body[0] == "| Model | NDCG@10 ↑ | Recall@10 ↑ |"
    assert body[1:] == [
        "| alpha | **0.330 ± 0.010** | **0.396 ± 0.010** |",
        "| beta | <u>0.275 ± 0.010</u> | <u>0.330 ± 0.010</u> |",
        "| gamma | 0.110 ± 0.010† | 0.132 ± 0.010† |",
    ]
    assert tex.read_text().count(r"\\") - 1 == len(body) - 1  # header + one line per model
    twin = pd.read_csv(csv)
    assert len(twin) == 6 and twin["worse_than_best"].sum() == 2


def test_ties_are_all_bold() -> None:
    best, second = tables._rank_marks([0.3001, 0.2999, 0.2, np.nan], "ndcg@10")
    assert best == [True, True, False, False] and second == [False, False, True, False]
    assert tables._rank_marks([1.0, 2.0], "popularity@10") == ([False, False], [False, False])
    # Marks follow the digits each value is printed with (0.000, 0.000, 0.459, 0.531, 177).
    best, second = tables._rank_marks([0.00006, 0.0003, 0.459, 0.531, 177.0], "rmse")
    assert best == [True, True, False, False, False] and second == [False, False, True, False, False]
    assert tables._rank_marks([1.0, 2.0], "fit_seconds") == ([False, False], [False, False])
    assert tables._rank_marks([1.0, 2.0], "coverage@10") == ([False, False], [False, False])


def test_per_k_table_groups_columns_by_family(data: ReportData) -> None:
    table = tables.metric_table(
        data,
        CFG,
        ModelStyles(MODELS),
        name="per_k",
        caption="c",
        protocol="random",
        settings=["faithful"],
        metrics=["ndcg@5", "ndcg@10", "recall@5", "recall@10"],
        show_std=False,
        group_families=True,
    )
    latex = table.to_latex()
    assert r"\multicolumn{2}{c}{NDCG@K $\uparrow$}" in latex and r"\cmidrule(lr){4-5}" in latex
    assert "K = 5 & K = 10" in latex and r"\pm" not in latex


def test_latex_escape() -> None:
    assert tables.latex_escape("two_tower & 50% #1") == r"two\_tower \& 50\% \#1"


# --------------------------------------------------------------------------- style


def test_every_model_declares_its_own_look_and_it_is_stable_across_model_sets() -> None:
    from recrepro.models.registry import available_models, get_model_class

    # Every registered model declares its look with itself (colour, marker, hatch); no two share a
    # colour, and none uses a colour of the fallback palette that undeclared names get.
    classes = {m: get_model_class(m) for m in available_models()}
    undeclared = sorted(m for m, c in classes.items() if not c.colour or not c.marker or c.hatch is None)
    assert undeclared == [], f"declare colour, marker and hatch on the class of {undeclared}"
    colours = [c.colour.upper() for c in classes.values()]
    assert len(set(colours)) == len(colours) and not set(colours) & {c.upper() for c in EXTRA_COLOURS}
    looks = {(c.colour, c.marker, c.hatch) for c in classes.values()}
    assert len(looks) == len(classes)
    def look(model: str) -> tuple[str, str, str]:
        style = model_style(model)
        return style.colour, style.hatch, style.marker

    for model, cls in classes.items():
        assert look(model) == (cls.colour, cls.hatch, cls.marker), model
    # The existing models keep the look they had before it moved into their files.
    assert look("ease") == ("#2CA02C", "xx", "D") and look("wide_deep") == ("#FFBB78", "\\\\", "o")
    # A model's look does not depend on which other models are configured, or in what order.
    for model in ("ease", "gnn", "my_new_model"):
        looks = {ModelStyles(models)[model] for models in ([], ["ease", "gnn"], ["gnn", "x", "y"])}
        assert looks == {model_style(model)}
    # A name that is no registered model (a variant too) gets a hashed, deterministic look.
    assert model_style("my_new_model") == model_style("my_new_model")
    assert model_style("my_new_model").colour in EXTRA_COLOURS
    assert model_style("gnn__no_propagation").colour in EXTRA_COLOURS
    styles = ModelStyles(["m1", "m5"])
    assert styles.order(["zeta", "m5", "m1", "alpha"]) == ["m1", "m5", "alpha", "zeta"]


def test_metric_labels_and_p_format() -> None:
    assert metric_label("hit@10") == "HR@10" and metric_label("fit_seconds") == "Train time (s)"
    assert format_p(0.0002) == "< 0.001" and format_p(0.0456) == "0.046" and format_p(None) == ""


# --------------------------------------------------------------------------- numbers


def test_macro_names_are_letters_only() -> None:
    assert numbers.render_macros({"B": "2", "A": "1"}).splitlines()[1:] == [
        r"\newcommand{\A}{1}",
        r"\newcommand{\B}{2}",
    ]
    with pytest.raises(ValueError):
        numbers.render_macros({"Best1": "x"})


def test_numbers_file_is_well_formed_and_covers_the_paper(built: Path) -> None:
    text = (built / "paper/generated/numbers.tex").read_text()
    lines = text.splitlines()[1:]
    pattern = re.compile(r"\\newcommand\{\\([A-Za-z]+)\}\{(.*)\}")
    switch = re.compile(r"\\newif\\if([A-Za-z]+)\\\1(true|false)")  # \ifTuned ... \fi
    switches = dict(switch.fullmatch(line).groups() for line in lines if line.startswith("\\newif"))
    macros = dict(pattern.fullmatch(line).groups() for line in lines if not line.startswith("\\newif"))
    assert len(macros) + len(switches) == len(lines)
    assert switches["Tuned"] == "false" and switches["SeveralProtocols"] == "true"
    assert all(value.count("{") == value.count("}") for value in macros.values())
    assert macros["BestModel"] == r"\texttt{alpha}" and macros["SecondModel"] == r"\texttt{beta}"
    assert macros["BestScore"] == "0.330" and macros["BestMargin"] == "0.055"
    assert macros["BestVsSecondP"] == "$p = 0.200$" and macros["FriedmanP"] == "$p < 0.001$"
    assert macros["NumSignificantWorse"] == "1"
    assert macros["TestCitation"] == r"\citep{wilcoxon1945individual}"
    assert macros["CorrectionCitation"] == r"\citep{holm1979simple}"
    assert macros["NumUsers"] == "60" and macros["NumSeeds"] == "2" and macros["NumRuns"] == "6"
    assert macros["VersionNumpy"] == "2.4.6" and macros["VersionTensorflow"] == "2.21.0"
    assert macros["GitCommit"] == "0123456789" and macros["ProvenanceConsistent"] == "yes"
    assert macros["GitDirty"] == "no" and macros["Platform"] == r"Linux-test\_x86"
    assert macros["SignificanceLevel"] == "0.05"
    # Fallbacks for absent models, each figure showing a different model where possible.
    picks = [macros[f"{kind}Model"] for kind in ("Pie", "Polygon", "Column")]
    assert picks == [r"\texttt{beta}", r"\texttt{alpha}", r"\texttt{gamma}"]
    assert macros["ReproReproductions"] != "0" and macros["RatingModel"] == r"\texttt{gamma}"
    assert macros["EffectName"] == "rank-biserial" and macros["BestMarginPct"] == "20.0"
    for document in ("main", "supplement"):
        source = (REPO / f"paper/{document}.tex").read_text()
        used = set(re.findall(r"\\([A-Z][A-Za-z]+)", source))
        assert used - {"LaTeX", "SupplementPrefix"} <= set(macros), (document, used - set(macros))
        assert set(re.findall(r"\\if([A-Z][A-Za-z]+)", source)) <= set(switches), document


# --------------------------------------------------------------------------- figures


def test_every_figure_is_written_as_pdf_and_png(built: Path) -> None:
    for name in registry.names(CFG, "figure"):
        pdf, png = built / f"figures/{name}.pdf", built / f"figures/{name}.png"
        assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 1000, name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 1000, name


def test_figures_cope_with_missing_data_and_are_deterministic(tmp_path: Path) -> None:
    empty = pd.DataFrame(columns=["model", "seed", "epoch", "loss"])
    first = figures.plot_training_curves(empty, ModelStyles(MODELS), tmp_path / "a")
    second = figures.plot_training_curves(empty, ModelStyles(MODELS), tmp_path / "b")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    example = pd.DataFrame(columns=["model", "seed", "rank", "item", "title", "score"])
    assert figures.plot_example_pie(example, None, 42, tmp_path / "pie")[0].stat().st_size > 0


def test_cd_groups_are_the_cliques_of_the_pairwise_tests() -> None:
    cliques = pd.DataFrame({"clique": [1, 1, 1, 2, 2], "model": ["a", "b", "c", "c", "d"]})
    assert figures.cd_groups(["a", "b", "c", "d"], cliques) == [(0, 2), (2, 3)]
    assert figures.cd_groups(["b", "a"], cliques.iloc[:2]) == [(0, 1)]
    assert figures.cd_groups(["a", "b"], cliques.iloc[0:0]) == []


def test_dagger_follows_the_decision_not_only_significance(data: ReportData) -> None:
    """Issue 11: a significant difference in the model's favour is no dagger."""
    pairwise = data.pairwise.copy()
    gamma = (pairwise["model"] == "gamma") & (pairwise["metric"] == "ndcg@10")
    pairwise.loc[gamma, "decision"] = "better"
    flipped = ReportData(**{**{f: getattr(data, f) for f in
                               ("summary", "friedman", "ranks", "cd_cliques", "skipped")},
                            "pairwise": pairwise})
    table = tables.metric_table(
        flipped, CFG, ModelStyles(MODELS), name="main", caption="c", protocol="random",
        settings=["faithful"], metrics=["ndcg@10", "recall@10"],
    )
    twin = table.data.set_index(["model", "metric"])
    assert not twin.loc[("gamma", "ndcg@10"), "worse_than_best"]
    assert twin.loc[("gamma", "recall@10"), "worse_than_best"]


def test_popularity_has_no_best_mark(data: ReportData) -> None:
    """The catalogue says popularity has no better direction: no bold, no arrow."""
    assert tables._rank_marks([1.0, 2.0, 3.0], "popularity@10") == ([False] * 3, [False] * 3)
    assert metric_label("popularity@10") == "Popularity@10"


def test_example_model_falls_back_to_an_available_model() -> None:
    assert figures.pick_model("beta", ["gamma", "beta"]) == "beta"
    assert figures.pick_model("gnn", ["gamma", "beta"]) == "gamma"
    assert figures.pick_model("gnn", ["gamma", "beta"], taken=["gamma"]) == "beta"
    assert figures.pick_model("gnn", ["beta"], taken=["beta"]) == "beta"
    assert figures.pick_model("gnn", []) is None
    example = pd.DataFrame({"model": ["alpha", "beta", "gamma"]})
    cfg = PaperConfig.from_config({**CONFIG, "paper": {}})  # gnn, knn_embedding, session absent
    picks = figures.example_models(example, cfg, preference=["gamma", "alpha", "beta"])
    assert picks == {"pie": "gamma", "polygon": "alpha", "column": "beta"}


def test_figure_data_counts_titles_per_seed(built: Path) -> None:
    example = pd.read_csv(built / "results/report/example_user.csv")
    assert set(example["model"]) == set(MODELS) and (example["rank"] <= 10).all()
    counts, n_seeds = figures.title_counts(example, "beta", 3)
    assert n_seeds == 2 and counts["seeds"].sum() == 6 and counts["title"].notna().all()
    popularity = pd.read_csv(built / "results/report/popularity.csv")
    data = popularity[popularity["model"] == "data"]
    assert data["rec_share"].sum() == pytest.approx(1.0)
    alpha = popularity[popularity["model"] == "alpha"]
    assert alpha["rec_share"].sum() == pytest.approx(10.0)  # ten slots per user


# --------------------------------------------------------------------------- reproduction, config


def test_reproduction_tables_show_verdicts_and_differences(tree: Path) -> None:
    """Reproductions (a source's own recipe) get a verdict; seed comparisons and their cause
    steps, in the second table, a difference with its interval."""
    frame = pd.read_csv(tree / "reported/reproduction.csv")
    table = tables.reproduction_table(frame)
    reproductions = frame[frame["kind"] == "reproduction"]
    assert len(table.rows) == len(reproductions)
    assert r"\citep{tfrsBasicRetrieval}" in table.to_latex()
    assert f"of {len(reproductions)}, 0 reproduce, 1 do not, 0 are uninformative" in table.caption
    assert {row[-1].text for row in table.rows} == {"not reproduced", "not run"}
    assert table.rows[0][4].text == "0.300 ± 0.010 (n=0)"
    comparisons = tables.comparison_table(frame)
    assert len(comparisons.rows) == int((frame["kind"] != "reproduction").sum())
    steps = [row for row in comparisons.rows if row[0].text.startswith("→ ")]
    assert len(steps) == int((frame["kind"] == "cause").sum()) and all(row[-1].text for row in steps)
    assert "\u2212" not in comparisons.to_latex()  # LaTeX would stop on a Unicode minus


def test_bad_inputs_raise_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "refs.csv").write_text("system,model\nx,y\n")
    with pytest.raises(ConfigError, match="lacks column"):
        load_references(tmp_path / "refs.csv")
    with pytest.raises(ConfigError, match="main_protocol"):
        PaperConfig.from_config({**CONFIG, "paper": {"main_protocol": "leave_one_out"}})
    paths = {
        n: tmp_path / f"{n}.csv"
        for n in ("summary", "pairwise", "friedman", "ranks", "cd_cliques", "skipped")
    }
    with pytest.raises(DataError, match="summary.csv is missing; run the 'summarize' rule"):
        ReportData.load(paths)
    paths["summary"].write_text("dataset,protocol,model\n")
    with pytest.raises(DataError, match="lacks column.*setting.*rerun the 'summarize' rule"):
        ReportData.load(paths)


# --------------------------------------------------------------------------- paper


def test_paper_compiles_from_generated_inputs(built: Path, needs_tex: None) -> None:
    for document in ("main", "supplement"):
        result = _compile(built, document)
        assert result.returncode == 0, result.stdout[-3000:]
        log = (built / f"paper/{document}.log").read_text(errors="replace")
        assert "undefined" not in log.lower(), f"undefined references or citations in {document}"
        assert (built / f"paper/{document}.pdf").read_bytes()[:5] == b"%PDF-"
    # The main paper cites the supplement's floats by the numbers the supplement prints.
    main = _pdf_text(built / "paper/main.pdf")
    supplement = _pdf_text(built / "paper/supplement.pdf")
    for label, number in registry.supplement_numbers(CFG).items():
        kind = "Table" if label.startswith("tab:") else "Figure"
        assert f"{kind} {registry.SUPPLEMENT_PREFIX}{number}:" in supplement, label
    assert "Table S1" in main and "??" not in main and "??" not in supplement
    # faithful only, random and temporal: the temporal protocol is described, tuning is not
    assert "global time cut-off" in main and "has no tuned setting" in main
    assert "holds out each user's newest" not in main and "setting every model gets" not in main


def _pdf_text(pdf: Path) -> str:
    """The PDF's text, whitespace collapsed (pdftotext)."""
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(text.split())


def test_paper_compiles_with_one_model_and_no_tests(tmp_path: Path, needs_tex: None) -> None:
    """A smoke-sized study: one model, one seed, no significance tests, no example user."""
    frames = _stats_frames()
    frames = {
        n: f[f["model"] == "alpha"] if "model" in f else f.iloc[0:0] for n, f in frames.items()
    }
    root = _make_tree(tmp_path, frames, models=("alpha",), seeds=(1,), example_user=False)
    config = {**CONFIG, "models": {"alpha": {}, "gnn": {}}, "seeds": [1], "protocols": ["random"]}
    _build(root, config, _inputs(root, ("alpha",), (1,)))
    macros = (root / "paper/generated/numbers.tex").read_text()
    assert r"\newcommand{\SecondModel}{n/a}" in macros and r"\newcommand{\PieModel}{n/a}" in macros
    assert (root / "paper/generated/tables/main.md").read_text().count("†") == 0
    for document in ("main", "supplement"):
        result = _compile(root, document)
        assert result.returncode == 0, result.stdout[-3000:]
    # The text is true of this study: no tuned setting, one protocol, no temporal protocols.
    main = _pdf_text(root / "paper/main.pdf")
    assert "has no tuned setting" in main and "cannot answer RQ4" in main
    for absent in ("setting every model gets", "Such a split", "holds out each user's newest",
                   "global time cut-off", "What tuning repairs", "1 protocols", "??"):
        assert absent not in main, absent


def test_a_model_not_applicable_to_the_dataset_is_a_noted_row(tmp_path: Path, needs_tex: None) -> None:
    """The runner's record of a refused model (no metrics) flows into an n/a row with the reason."""
    reason = "model 'delta' does not fit this dataset: 80 items, more than max_items=10; raise it"
    frames = _stats_frames()
    frames["skipped"] = pd.DataFrame(
        [("ml-100k", "random", "delta", "faithful", s, reason) for s in SEEDS],
        columns=["dataset", "protocol", "model", "setting", "seed", "reason"],
    )
    root = _make_tree(tmp_path, frames)
    for seed in SEEDS:
        key = RunKey("ml-100k", "random", "delta", "faithful", seed)
        write_not_applicable(key, {}, reason, key.path(root / "results"), {}, 0, 0.0)
    config = {**CONFIG, "models": {**CONFIG["models"], "delta": {}}}
    _build(root, config, _inputs(root, (*MODELS, "delta")))
    main = (root / "paper/generated/tables/main.md").read_text()
    assert "| delta | n/a | n/a |" in main
    note = "n/a: delta was not run: model 'delta' does not fit this dataset: 80 items, more than max_items=10"
    assert note in main
    assert "n/a" not in (root / "paper/generated/tables/protocol_temporal.md").read_text()
    assert "delta" not in pd.read_csv(root / "results/report/history.csv")["model"].tolist()
    result = _compile(root)
    assert result.returncode == 0, result.stdout[-3000:]


# --------------------------------------------------------------------------- registry, bibliography

BIB_KEY = re.compile(r"@\w+\{([^,\s]+),")
CITE = re.compile(r"\\cite[tp]?\*?(?:\[[^\]]*\])*\{([^}]*)\}")


def _bib_keys() -> set[str]:
    """Keys of the hand-written bibliography and of the models' declared entries (the paper reads
    both)."""
    return set(BIB_KEY.findall((REPO / "paper/references.bib").read_text())) | set(
        bibliography.model_entries()
    )


def test_the_models_entries_are_generated_beside_the_hand_written_bibliography(
    built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recrepro.models.registry import available_models, get_model_class

    hand_written = set(BIB_KEY.findall((REPO / "paper/references.bib").read_text()))
    entries = bibliography.model_entries()
    assert not hand_written & set(entries), "a key lives in references.bib or in a model, not both"
    generated = (built / bibliography.MODEL_BIB).read_text()
    assert bibliography.split_entries(generated) == entries
    assert "generated/models" in (REPO / "paper/main.tex").read_text()
    # The models table cites exactly the keys each model declares, in the declared order.
    assert method_tables.model_references("itemknn") == ("sarwar2001item", "deshpande2004item")
    assert method_tables.model_references("gnn") == ("he2020lightgcn", "tfrsBasicRetrieval")
    assert method_tables.model_references("random") == () == method_tables.model_references("alpha")
    for model in available_models():
        assert set(get_model_class(model).citation_keys()) <= set(entries), model
    with pytest.raises(ValueError, match="malformed"):
        bibliography.split_entries("@misc{key, title = {unclosed}")
    # Two models declaring one key differently is an error naming both.
    other = "@misc{tfrsBasicRetrieval,\n  title = {Other}\n}"
    monkeypatch.setattr(get_model_class("ease"), "citation", other)
    with pytest.raises(ValueError, match="'tfrsBasicRetrieval' is declared differently by models"):
        bibliography.model_entries()


def _cited(text: str) -> set[str]:
    return {k.strip() for group in CITE.findall(text) for k in group.split(",") if k.strip()}


def test_every_registered_artefact_is_produced_included_and_referenced(built: Path) -> None:
    """Each artefact in exactly its own section of its own document (the two-column main paper or
    the supplement), which inputs that section; referenced from the main paper (a supplement
    float through \\supref, with the number the supplement gives it)."""
    tex = {doc: (REPO / f"paper/{doc}.tex").read_text() for doc in ("main", "supplement")}
    stems = [registry.section_name(s, supp) for supp in (False, True) for s in registry.SECTIONS]
    sections = {stem: (built / registry.SECTIONS_DIR / f"{stem}.tex").read_text() for stem in stems}
    numbers = registry.supplement_numbers(CFG)
    refs = (built / registry.SECTIONS_DIR / f"{registry.SUPPLEMENT_REFS}.tex").read_text()
    main_refs = set(re.findall(r"\\(ref|supref)\{([^}]*)\}", tex["main"]))
    for name, artefact, _ in registry.instances(CFG):
        folder = "tables" if artefact.kind == "table" else "figures"
        stem = registry.section_name(artefact.section, artefact.supplement)
        included = [s for s, text in sections.items() if f"generated/{folder}/{name}.tex" in text]
        assert included == [stem], name  # in exactly its own section
        document = "supplement" if artefact.supplement else "main"
        assert f"\\input{{generated/sections/{stem}.tex}}" in tex[document], (name, document)
        for path in registry.outputs(CFG, artefact.kind):
            if Path(path).stem == name:
                assert (built / path).is_file(), path
        label = f"{artefact.label_prefix}:{name}"
        float_tex = (built / f"paper/generated/{folder}/{name}.tex").read_text()
        assert f"\\label{{{label}}}" in float_tex
        wide = artefact.wide or artefact.kind == "figure"  # figures are drawn at the text width
        assert ("table*" in float_tex or "figure*" in float_tex) == wide, name
        if artefact.supplement:
            # The main paper's number (\\supref) and the supplement's counter come from one place.
            assert f"supref@{label}\\endcsname{{{registry.SUPPLEMENT_PREFIX}{numbers[label]}}}" in refs
            counter = f"\\setcounter{{{artefact.kind}}}{{{numbers[label] - 1}}}"
            assert f"{counter}\n\\input{{generated/{folder}/{name}.tex}}" in sections[stem], name
        else:
            assert label not in numbers and "longtable" not in float_tex, name  # two columns
        # Referenced in its own document (per-protocol tables through \ProtocolTablesRef); the main
        # paper cites a supplement float only through \supref, never \ref (it would print "??").
        if artefact.per is None:
            assert f"\\ref{{{label}}}" in tex[document], f"{label} is never referenced in {document}.tex"
        wrong = "ref" if artefact.supplement else "supref"
        assert (wrong, label) not in main_refs, label
    # paper.smk derives everything from the registry: it names no artefact itself.
    smk = (REPO / "workflow/rules/paper.smk").read_text()
    for artefact in registry.artefacts():
        for literal in (f'"{artefact.name}"', f"tables/{artefact.name}", f"figures/{artefact.name}"):
            assert literal not in smk, literal


def test_figure_captions_state_a_computed_takeaway(built: Path) -> None:
    caption = (built / registry.FIGURE_TEX_DIR / "headline_ci.tex").read_text()
    assert "alpha is best on NDCG@10 (0.330)" in caption
    # CIs: alpha 0.31-0.35, beta 0.255-0.295: no overlap, so no model is named as tied.
    assert "no other model's seed-level interval overlaps" in caption
    rows = pd.DataFrame({"model": ["a", "b", "c"], "metric": "ndcg@10", "mean": [0.3, 0.28, 0.1],
                         "ci_low": [0.25, 0.26, 0.05], "ci_high": [0.35, 0.3, 0.15]})  # fmt: skip
    assert figures._overlapping(rows, "ndcg@10") == ["b"]


def test_registry_rejects_duplicates_and_unknown_sections() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        registry.table("main", section="results")(lambda ctx: None)
    with pytest.raises(ValueError, match="unknown section"):
        registry.figure("x", section="discussion")


def test_every_cited_key_is_in_the_bibliography(built: Path) -> None:
    keys = _bib_keys()
    cited = _cited((REPO / "paper/main.tex").read_text())
    for path in (built / "paper/generated").rglob("*.tex"):
        cited |= _cited(path.read_text())
    cited |= set(bibliography.model_entries())
    cited |= set(numbers.CITATIONS.values())
    refs = pd.read_csv(REPO / "config/reference_numbers.csv", dtype=str)
    cited |= set(refs["cite_key"])
    assert "tfrsBasicRetrieval" in cited and "steck2019embarrassingly" in cited
    assert cited <= keys, sorted(cited - keys)
    # the five seed projects are named and cited (issue 20): seed 000 by its author, 001-004 by file id
    assert {"srinivasan2024harpyintern", "seed001", "seed002", "seed003", "seed004"} <= cited


def test_split_statistics_count_evaluated_users(tmp_path: Path) -> None:
    folder = tmp_path / "random/seed1"
    folder.mkdir(parents=True)
    parts = {
        "train": [(1, 10, 5.0), (1, 11, 3.0), (2, 10, 4.0), (3, 12, 2.0)],
        "valid": [(1, 12, 4.0)],
        "test": [(1, 13, 5.0), (2, 14, 2.0), (4, 15, 5.0)],  # user 4 has no training rating
    }
    for name, rows in parts.items():
        pd.DataFrame(rows, columns=["user", "item", "rating"]).to_parquet(folder / f"{name}.parquet")
    paths = [str(folder / f"{n}.parquet") for n in parts]
    row = method_tables.split_statistics(paths, None).iloc[0]
    assert (row["train_ratings"], row["test_ratings"], row["train_users"]) == (4, 3, 3)
    assert row["evaluated_users"] == 2  # users 1 and 2
    assert method_tables.split_statistics(paths, 4).iloc[0]["evaluated_users"] == 1  # only user 1


def test_seed_overlap_is_the_shared_share_of_top_k() -> None:
    lists = {
        "a": {1: pd.Series({7: frozenset({1, 2}), 8: frozenset({3, 4})}),
              2: pd.Series({7: frozenset({1, 5}), 8: frozenset({3, 4})})},
        "b": {1: pd.Series({7: frozenset({1, 2})})},
    }  # fmt: skip
    frame = figdata.seed_overlap(lists, k=2).set_index("model")
    assert frame.loc["a", "overlap"] == pytest.approx((0.5 + 1.0) / 2)
    assert "b" not in frame.index  # one seed: nothing to compare


def test_tail_shares_split_recommendations_by_rating_share() -> None:
    # 3 items with 60, 30 and 10 ratings: head holds the first third of ratings (item 1 alone
    # passes 1/3 with 60%, so head = {}?) -> item 1 is head only if its cumulative share <= 1/3.
    data = pd.DataFrame({"model": "data", "item": [1, 2, 3, 4], "popularity_rank": [1, 2, 3, 4],
                         "rec_share": [0.30, 0.30, 0.30, 0.10]})  # fmt: skip
    model = data.assign(model="m", rec_share=[1.0, 0.0, 0.5, 0.5])
    shares = figures.tail_shares(pd.concat([data, model])).set_index("model")
    # cumulative 0.3 (head), 0.6 (mid), 0.9 and 1.0 (tail)
    assert shares.loc["m", ["head", "mid", "tail"]].tolist() == pytest.approx([0.5, 0.0, 0.5])
    assert shares.loc["data", "tail"] == pytest.approx(0.4)
    assert shares["tail_items"].iloc[0] == 2


def test_compute_cost_sums_cpu_seconds_of_runs_and_tuning(tmp_path: Path) -> None:
    """One job per (model, setting) runs every seed: its benchmark counts once; a job's CPU
    record replaces Snakemake's sampled CPU time."""
    from recrepro.core.io import write_json

    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    runs = []
    for setting, cpu in (("faithful", 2.5), ("tuned", 3.5)):
        for seed in (1, 2):
            run = tmp_path / f"results/runs/ml-100k/random/ease/{setting}/seed{seed}/metrics.json"
            bench = registry.benchmark_path(run)
            key = f"ml-100k/random/ease/{setting}.tsv"
            assert bench == tmp_path / "results/benchmarks/train_and_evaluate" / key
            bench.parent.mkdir(parents=True, exist_ok=True)
            bench.write_text(header + f"9.0\t0:00:09\t1\t1\t1\t1\t0\t0\t50\t{cpu}\n")
            runs.append(str(run))
    # one tuning job runs every seed's search of a (dataset, protocol, model): counted once
    tuning = [tmp_path / f"results/tuning/ml-100k/random/ease/seed{seed}.json" for seed in (1, 2)]
    bench = registry.benchmark_path(tuning[0])
    assert bench == registry.benchmark_path(tuning[1])
    assert bench == tmp_path / "results/benchmarks/tune_model/ml-100k/random/ease.tsv"
    bench.parent.mkdir(parents=True)
    bench.write_text(header + "20.0\t0:00:20\t1\t1\t1\t1\t0\t0\t50\t5.0\n")  # sampled: too low
    write_json(bench.with_suffix(".cpu.json"), {"cpu_seconds": 10.0, "wall_seconds": 20.0})
    frame = method_tables.cost_frame(runs, [str(t) for t in tuning]).set_index("model")
    assert frame.loc["ease", "runs_cpu_seconds"] == pytest.approx(6.0)
    assert frame.loc["ease", "tuning_cpu_seconds"] == pytest.approx(10.0)
    assert frame.loc["ease", "total_cpu_seconds"] == pytest.approx(16.0)
    assert frame.loc["ease", "runs_wall_seconds"] == pytest.approx(18.0)  # wall kept apart


def test_deviations_come_from_the_model_docstrings() -> None:
    from recrepro.models.registry import get_model_class

    text = method_tables.deviation_text(get_model_class("two_tower"))
    assert text.startswith("movies keyed by id, not title")


def test_relevance_sentence_reads_the_catalogue_variant(data: ReportData) -> None:
    assert "not computed" in numbers._relevance_sentence(data, CFG)
    rows = data.summary[data.summary["metric"] == "ndcg@10"].copy()
    rows["metric"] = "ndcg_r4@10"
    rows.loc[rows["model"] == "gamma", "mean"] = 0.9  # gamma best when only ratings >= 4 count
    frames = {**data.__dict__, "summary": pd.concat([data.summary, rows])}
    text = numbers._relevance_sentence(ReportData(**frames), CFG)
    assert text.startswith("With only ratings of at least 4 relevant, gamma has the best")
    assert "rho = -0.50" in text  # (gamma, alpha, beta) against (alpha, beta, gamma)
def test_convergence_numbers_and_small_multiples_figure(tmp_path: Path) -> None:
    from recrepro.study.tuning_curves import convergence, curves

    def record(model: str, replicate: int, scores: list[float]) -> dict:
        trials = [{"trial": i, "params": {"x": i}, "score": v, "state": "complete", "intermediate": [[0, v]],
                   "cpu_seconds": 0.5} for i, v in enumerate(scores)]  # fmt: skip
        return {"dataset": "ml-100k", "protocol": "random", "model": model, "metric": "ndcg@10",
                "higher_is_better": True, "trials": trials, "replicate": replicate,
                "params": trials[0]["params"]}  # fmt: skip

    records = [record("alpha", r, [0.1] + [0.2 + 0.01 * r] * 3) for r in (1, 2, 3)]  # plateau at 2
    records += [record("beta", r, [0.1, 0.1, 0.1, 0.3]) for r in (1, 2, 3)]  # gains at the end
    table = convergence(records)
    macros = numbers.convergence_numbers(table)
    assert macros["TuningTrials"] == "4" and macros["TuningReplicates"] == "3"
    assert macros["TuningSearched"] == "2" and macros["TuningConverged"] == "1"
    assert "1 of 2 pairs reached the plateau by 2 trials" in macros["TuningSentence"]
    sentence = macros["TuningSentence"]
    assert "the searches of the other pair (named in the Limitations) still gained up to 0.200" in sentence
    assert "validation scores alone, 1 of 2 pairs converged" in macros["TuningSentence"]
    assert numbers.convergence_numbers(None)["TuningSentence"] == ""
    written = figures.plot_tuning_curves(curves(records), table, ModelStyles(["alpha", "beta"]),
                                         tmp_path / "budget", "random")  # fmt: skip
    assert {p.suffix for p in written} == {".pdf", ".png"} and all(p.stat().st_size > 1000 for p in written)
    none = figures.plot_tuning_curves(None, None, ModelStyles([]), tmp_path / "none", "random")
    assert none[0].stat().st_size > 0


def test_log_axis_intervals_are_taken_on_the_log_scale() -> None:
    from scipy import stats

    from recrepro.report.plots.results import log_scale_interval

    rows = pd.DataFrame({"mean": [2.0, 5.0, 0.0], "std": [1.0, 0.0, 0.1], "n_seeds": [3, 1, 3]})
    out = log_scale_interval(rows)
    factor = np.exp(stats.t.ppf(0.975, 2) * 0.5 / np.sqrt(3))  # hand-computed: 3.4627
    assert out["ci_low"].iloc[0] == pytest.approx(2.0 / factor) == pytest.approx(0.57757, abs=1e-5)
    assert out["ci_high"].iloc[0] == pytest.approx(6.92554, abs=1e-5)
    assert out["ci_low"].iloc[0] > 0  # the plain t interval, 2 -+ 2.48, would cross zero
    assert out[["ci_low", "ci_high"]].iloc[1:].isna().all().all()  # one seed; a zero mean


def test_main_table_gives_the_difference_to_the_best_with_its_interval(data: ReportData, tmp_path: Path) -> None:  # noqa: E501
    table = tables.metric_table(data, CFG, ModelStyles(MODELS), name="t", caption="Cap", protocol="random",
                                settings=["faithful"], metrics=["ndcg@10", "recall@10"], effect="ndcg@10")
    assert r"$\Delta$NDCG@10" in table.to_latex()
    _, md, csv = tables.write_table(table, tmp_path)
    body = [line for line in md.read_text().splitlines() if line.startswith("| ")]
    assert body[0].endswith("| ΔNDCG@10 vs best [95% CI] |")
    tests = data.pairwise
    gamma = tests[(tests["comparison"] == "vs_best") & (tests["protocol"] == "random")
                  & (tests["model"] == "gamma") & (tests["metric"] == "ndcg@10")
                  & (tests["setting"] == "faithful")].iloc[0]
    expected = f"{gamma['diff_mean']:+.3f} [{gamma['ci_low']:+.3f}, {gamma['ci_high']:+.3f}]"
    assert body[1].endswith("| – |") and body[3].endswith(f"| {expected} |")  # alpha is the best
    twin = pd.read_csv(csv)
    row = twin[(twin["model"] == "gamma") & (twin["metric"] == "ndcg@10")].iloc[0]
    assert row["diff_vs_best"] == pytest.approx(gamma["diff_mean"])
    assert row["diff_ci_low"] < row["diff_vs_best"] < row["diff_ci_high"]
