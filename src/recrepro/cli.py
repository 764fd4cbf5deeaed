"""recrepro command line: the steps the Snakemake rules call, plus recommend, models and check-paper.

Errors a user can cause print one line ("recrepro: error: ...") and exit with status 1.
Thread limits are set from --threads before NumPy or TensorFlow is imported. Logging is set up
by recrepro.core.logs for the duration of one call.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from pathlib import Path

log = logging.getLogger("recrepro.cli")
#: Placeholder for the seed in train-evaluate's --split and --out.
SEED_FIELD = "{seed}"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RECREPRO_THREADS")


def _set_threads(threads: int) -> None:
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)


def cmd_prepare_data(args: argparse.Namespace) -> None:
    """Locate (or download), verify and parse a dataset into Parquet tables."""
    from recrepro.core.io import write_parquet
    from recrepro.core.layout import TABLES, table_file
    from recrepro.data.movielens import load_tables, locate

    folder = locate(args.dataset, args.data_dir or None, args.cache_dir)
    tables = load_tables(args.dataset, folder)
    for name in TABLES:
        write_parquet(table_file(args.out, name), tables[name])
    log.info("%s: %d ratings from %s", args.dataset, len(tables["ratings"]), folder)


def cmd_source(args: argparse.Namespace) -> None:
    """Write the source frame of a published split (tfrs_tutorial, grouplens_u1 ... grouplens_ub)."""
    from recrepro.core.io import write_parquet
    from recrepro.data.movielens import locate
    from recrepro.data.splits import source_frame

    folder = locate(args.dataset, args.data_dir or None, args.cache_dir)
    frame = source_frame(args.protocol, folder, Path(args.cache_dir))
    write_parquet(args.out, frame)
    log.info("%s: %d train / %d test rows", args.protocol, (frame["part"] == 0).sum(),
             (frame["part"] == 2).sum())  # fmt: skip


def cmd_split(args: argparse.Namespace) -> None:
    """Write the train/valid/test split of one (dataset, protocol, seed)."""
    import pandas as pd

    from recrepro.core.io import write_parquet
    from recrepro.core.layout import part_file, table_file
    from recrepro.core.rng import make_rng
    from recrepro.data.splits import split_ratings

    ratings = pd.read_parquet(table_file(args.data, "ratings"))
    parts = split_ratings(
        ratings, args.protocol, args.valid, args.test, make_rng("split", args.dataset, args.seed),
        test_rng=make_rng("split-test", args.dataset, args.test_seed),
        source=pd.read_parquet(args.source) if args.source else None,
    )  # fmt: skip
    for name, frame in parts.items():
        write_parquet(part_file(args.out, name), frame)
        log.info("%s: %d interactions", name, len(frame))


def cmd_train_evaluate(args: argparse.Namespace) -> None:
    """Fit one model on the split of each seed and evaluate it (one run per seed, in turn)."""
    from recrepro.core.layout import RunKey
    from recrepro.study.runner import train_and_evaluate

    base = json.loads(args.params)
    for seed, split, out in _per_seed(args):
        key = RunKey(args.dataset, args.protocol, args.model, args.setting, seed)
        params = dict(base)
        if args.params_file:  # the tuned setting: this seed's own search's winner
            chosen = Path(args.params_file.replace(SEED_FIELD, str(seed)))
            params.update(json.loads(chosen.read_text(encoding="utf-8"))["params"])
            params.update(json.loads(args.fixed))  # an ablation's removal wins over the search
        record = train_and_evaluate(
            key, params, json.loads(args.evaluation), args.data, split, out,
            validation_metric=args.validation_metric,
        )  # fmt: skip
        log.info("metrics: %s", json.dumps(record["metrics"], sort_keys=True))


def cmd_tune(args: argparse.Namespace) -> None:
    """One seeded hyperparameter search per seed, each on that seed's train/valid parts."""
    from recrepro.core.logs import import_quietly
    from recrepro.models.registry import build_model
    from recrepro.study.tuning import Pruning, tune

    seeds = _per_seed(args)
    params = json.loads(args.params)
    for library in build_model(args.model, params).libraries:  # imported once, before any trial
        import_quietly(library)
    for seed, split, out in seeds:
        record = tune(
            args.dataset, args.protocol, args.model, params, json.loads(args.space),
            trials=args.trials, metric=args.metric, seed=args.tuning_seed, data_dir=args.data,
            split_dir=split, out=out, replicate=seed,
            pruning=Pruning.from_config(json.loads(args.pruning)),
        )  # fmt: skip
        log.info("seed %d: best %s = %s with %s", seed, args.metric, record["score"], record["params"])


def _per_seed(args: argparse.Namespace) -> list[tuple[int, str, str]]:
    """``(seed, split, out)`` of each ``--seed``, its ``{seed}`` filled into ``--split`` and
    ``--out`` (which must hold it when there are several seeds)."""
    from recrepro.core.errors import ConfigError

    if len(args.seed) > 1 and not all(SEED_FIELD in path for path in (args.split, args.out)):
        raise ConfigError(f"with several --seed values, --split and --out must contain {SEED_FIELD}")
    return [(seed, *(path.replace(SEED_FIELD, str(seed)) for path in (args.split, args.out)))
            for seed in args.seed]  # fmt: skip


def cmd_tuning_curves(args: argparse.Namespace) -> None:
    """The incumbent's validation score after 1, 2, 4, ... trials of every search, and each
    model's convergence (trials to plateau, replicate spread, search CPU)."""
    from recrepro.study.tuning_curves import write_curves

    write_curves(
        args.records, curves_out=args.curves, convergence_out=args.convergence,
        tuned_runs=args.tuned_runs, main_metric=args.main_metric,
    )  # fmt: skip


def cmd_experiment(args: argparse.Namespace) -> None:
    """Run a source's own evaluation code for one seed (a reproduction-table experiment): on a
    split, or on the folds the source makes from the data (then give no --split)."""
    from recrepro.core.io import write_json
    from recrepro.experiments import run_experiment

    split = Path(args.split) if args.split else None
    metrics = run_experiment(args.name, Path(args.data), split, args.seed)
    write_json(args.out, {"experiment": args.name, "seed": args.seed, "metrics": metrics})
    log.info("%s: %s", args.name, json.dumps(metrics, sort_keys=True))


def cmd_reproduction(args: argparse.Namespace) -> None:
    """The reproduction table: every published number beside ours, with the verdict."""
    from recrepro.core.io import write_csv, write_text
    from recrepro.report.reproduction import (
        load_references,
        readme_section,
        replace_readme_section,
        reproduction_markdown,
        reproduction_table,
    )

    table = reproduction_table(
        load_references(args.references), args.dataset, args.seeds, args.results
    )
    write_csv(args.out, table)
    write_text(args.markdown, reproduction_markdown(table))
    if args.readme:
        readme = Path(args.readme)
        write_text(readme, replace_readme_section(readme.read_text(encoding="utf-8"),
                                                  readme_section(table)))  # fmt: skip
    log.info("verdicts: %s", table["verdict"].value_counts().to_dict())


def cmd_ablation(args: argparse.Namespace) -> None:
    """The ablation table: each seed model's addition removed, faithful and tuned."""
    from recrepro.core.io import write_csv, write_text
    from recrepro.stats.ablation import ablation_markdown, ablation_table

    table = ablation_table(args.per_user, json.loads(args.ablations), args.metrics)
    write_csv(args.out, table)
    write_text(args.markdown, ablation_markdown(table))
    log.info("ablation table: %d rows", len(table))


def cmd_summarize(args: argparse.Namespace) -> None:
    """Mean and standard deviation across seeds of every metric (and the skipped runs)."""
    from recrepro.core.io import write_csv
    from recrepro.study.summarize import collect_metrics, collect_skipped, summarize

    write_csv(args.out, summarize(collect_metrics(args.metrics)))
    if args.skipped:
        write_csv(args.skipped, collect_skipped(args.metrics))


def cmd_verify(args: argparse.Namespace) -> None:
    """Check results/summary.csv against reported/ (numbers by each model's rule, and the best-model
    conclusions), or with --stats recompute reported/stats/*.csv and reported/figdata/* from
    reported/ alone (and the dataset's own files); exit 1 if verify fails."""
    from dataclasses import replace

    from recrepro.report.config import PaperConfig
    from recrepro.tools.verify import Tolerances, verify, verify_figures, verify_stats

    tolerances = Tolerances.from_config(json.loads(args.tolerances), atol=args.atol, rtol=args.rtol)
    if args.stats:
        verify_stats(Path(args.reported).parent, tolerances)
        verify_figures(Path(args.reported).parent, tolerances, args.data_dir, args.cache_dir)
        return
    tolerances = replace(tolerances, all_exact=args.all_exact)
    pairwise = args.pairwise or Path(args.reported).parent / "stats" / "pairwise.csv"
    metric = args.metric or PaperConfig.from_config({}).main_metric
    verify(args.current, args.reported, tolerances, args.out, pairwise=pairwise, metric=metric,
           conclusions_out=args.conclusions_out)  # fmt: skip


def cmd_publish_reported(args: argparse.Namespace) -> None:
    """Copy a finished run's summary, statistics, per-user values and paper into reported/."""
    from recrepro.tools.verify import publish

    written = publish(args.summary, args.stats, args.paper, args.out, args.tables, args.tuning,
                      args.per_user, json.loads(args.stats_config), args.figure_metrics, args.figure_data,
                      args.history, args.topk, json.loads(args.figure_settings), args.provenance,
                      args.exploratory)  # fmt: skip
    for path in written:
        log.info("wrote %s", path)


def cmd_bench(args: argparse.Namespace) -> None:
    """Collect Snakemake benchmark files into per-job and per-(rule, model) tables and a figure."""
    from recrepro.tools.bench import LAYOUTS, collect, write_all

    layouts = json.loads(args.layouts) if args.layouts else LAYOUTS
    table = collect(args.benchmarks, args.files or None, layouts)
    for path in write_all(table, args.out):
        log.info("wrote %s", path)
    log.info("%d benchmarked jobs, %.0f s wall time in total", len(table), table["wall_s"].sum())


def cmd_recommend(args: argparse.Namespace) -> None:
    """Print a user's top-k titles from a finished run (or a movie's most similar movies)."""
    from recrepro.core.layout import parse_run_path
    from recrepro.tools.recommend import recommendations, similar_movies

    run = parse_run_path(args.run)
    print(f"run: {run.model}, dataset {run.dataset}, protocol {run.protocol}, setting {run.setting}, "
          f"seed {run.seed} ({args.run})")  # fmt: skip
    if args.similar_to is not None:
        frame = similar_movies(args.run, args.data, args.similar_to, args.k)
    else:
        frame = recommendations(args.run, args.data, args.user, args.k)
    print(frame.to_string(index=False))


def cmd_models(args: argparse.Namespace) -> None:
    """List registered models: name, what it is (its docstring's first line) and its source."""
    from recrepro.models.registry import available_models, get_model_class

    for name in available_models():
        cls = get_model_class(name)
        print(f"{name:20s} {_plain(_summary(cls.__doc__))}")
        print(f"{'':20s} source: {cls.source or 'not stated'}")


def cmd_check_paper(args: argparse.Namespace) -> None:
    """Check that TeX can compile the paper and its supplement (latexmk, pdflatex, every LaTeX
    package they load)."""
    from recrepro.tools.texcheck import check_paper

    for tex in args.tex:
        check_paper(tex)
        print(f"TeX can compile {tex}")


def cmd_check_config(args: argparse.Namespace) -> None:
    """Check a study config file (YAML syntax, with its line, then every key) without running anything."""
    from recrepro.core.config import load_yaml
    from recrepro.study.config_check import check_config

    check_config(load_yaml(args.config))
    print(f"{args.config} is a valid study config")


def cmd_show(args: argparse.Namespace) -> None:
    """Show a finished run: model, setting, seed, hyperparameters, data checksums, revision, metrics."""
    from recrepro.tools.show import describe_run

    print(describe_run(args.run))


def _summary(doc: str | None) -> str:
    """The first sentence-line of a docstring ('' if none)."""
    return (doc or "").strip().splitlines()[0].strip() if (doc or "").strip() else ""


def _plain(text: str) -> str:
    """reST markup as plain text: ``code`` -> code, :func:`x` -> x."""
    return re.sub(r":[a-z]+:`~?([^`]+)`", r"\1", text).replace("``", "")


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def _command(sub: argparse._SubParsersAction, name: str, func) -> argparse.ArgumentParser:
    """A subcommand whose help is its function's docstring, as plain text."""
    p = sub.add_parser(name, help=_plain(_summary(func.__doc__)), description=_plain(func.__doc__ or ""))
    p.set_defaults(func=func)
    return p


def build_parser() -> argparse.ArgumentParser:
    from recrepro.core.config import block_defaults
    from recrepro.core.layout import GROUP_KEY, RUN_DIR_HELP

    split, tuning = block_defaults("split"), block_defaults("tuning")  # the schema's defaults
    evaluation = json.dumps(block_defaults("evaluation"))
    parser = argparse.ArgumentParser(prog="recrepro", description=_summary(__doc__))
    parser.add_argument("--threads", type=_positive, default=1, help="threads for NumPy and TensorFlow")
    parser.add_argument("--log", help="also append log messages to this file")
    parser.add_argument("--cpu-record", help="write the command's CPU and wall seconds to this JSON file")
    parser.add_argument(
        "--verbose", action="store_true", help="also log third-party libraries (TensorFlow, fontTools)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = _command(sub, "prepare-data", cmd_prepare_data)
    p.add_argument("--dataset", required=True, help="dataset name, e.g. ml-100k")
    p.add_argument("--data-dir", default="", help="folder holding the raw dataset folder")
    p.add_argument("--cache-dir", default="data/raw", help="download cache")
    p.add_argument("--out", required=True, help="folder for ratings/items/users.parquet")

    p = _command(sub, "source", cmd_source)
    p.add_argument("--dataset", required=True, help="dataset name, e.g. ml-100k")
    p.add_argument("--protocol", required=True, help="a published-split protocol, e.g. grouplens_u1")
    p.add_argument("--data-dir", default="", help="folder holding the raw dataset folder")
    p.add_argument("--cache-dir", default="data/raw", help="download cache (and TFDS's build)")
    p.add_argument("--out", required=True, help="the source frame (Parquet)")

    p = _command(sub, "split", cmd_split)
    p.add_argument("--dataset", required=True, help="dataset name (seeds the split)")
    p.add_argument("--protocol", required=True, help="split protocol, e.g. random or temporal_user")
    p.add_argument("--seed", type=int, required=True, help="run seed")
    p.add_argument("--valid", type=float, default=split["valid_fraction"], help="validation fraction")
    p.add_argument("--test", type=float, default=split["test_fraction"], help="test fraction")
    p.add_argument("--test-seed", type=int, default=split["test_seed"], help="seed of the random test part")
    p.add_argument("--source", default="", help="source frame of a published split (Parquet)")
    p.add_argument("--data", required=True, help="folder of the parsed dataset")
    p.add_argument("--out", required=True, help="folder for train/valid/test.parquet")

    p = _command(sub, "train-evaluate", cmd_train_evaluate)
    for name in GROUP_KEY:
        p.add_argument(f"--{name}", required=True, help=f"the run's {name}")
    p.add_argument("--seed", type=int, nargs="+", required=True,
                   help="the runs' seeds (one process: TensorFlow is imported once)")  # fmt: skip
    p.add_argument("--params", default="{}", help="hyperparameter overrides as JSON")
    p.add_argument("--fixed", default="{}",
                   help="hyperparameters fixed over the --params-file winner (an ablation's removal), JSON")
    p.add_argument("--params-file",
                   help="JSON file with tuned hyperparameters under 'params' ({seed}: the seed)")  # fmt: skip
    p.add_argument("--evaluation", default=evaluation, help="the config's evaluation block as JSON")
    p.add_argument("--validation-metric", default=None,
                   help="the model's tuning metric: per-epoch validation and early stopping follow it "
                        "(default: the model's own)")  # fmt: skip
    p.add_argument("--data", required=True, help="folder of the parsed dataset")
    p.add_argument("--split", required=True, help="folder of the split ({seed}: the seed)")
    p.add_argument("--out", required=True, help="run folder to write ({seed}: the seed)")

    p = _command(sub, "tune", cmd_tune)
    for name in ("dataset", "protocol", "model"):
        p.add_argument(f"--{name}", required=True, help=f"the {name} to tune for")
    p.add_argument("--seed", type=int, nargs="+", required=True,
                   help="the seeds: one search on each seed's split (one process)")  # fmt: skip
    p.add_argument("--params", default="{}", help="base hyperparameters as JSON")
    p.add_argument("--space", default="{}", help="search space as JSON (see recrepro.study.tuning)")
    p.add_argument("--trials", type=_positive, default=tuning["trials"], help="number of trials")
    p.add_argument("--metric", default=tuning["metric"], help="validation metric to optimise")
    p.add_argument("--tuning-seed", type=int, default=tuning["seed"], help="seed of the searches")
    p.add_argument("--pruning", default=json.dumps(tuning["pruning"]),
                   help="successive halving over epochs as JSON: min_epochs, reduction_factor")  # fmt: skip
    p.add_argument("--data", required=True, help="folder of the parsed dataset")
    p.add_argument("--split", required=True,
                   help="folder of the split, train and valid only ({seed}: the seed)")  # fmt: skip
    p.add_argument("--out", required=True, help="JSON file of the trials and the winner ({seed}: the seed)")

    p = _command(sub, "tuning-curves", cmd_tuning_curves)
    p.add_argument("--main-metric", default=None,
                   help="test metric of the tuned runs to report (default: the search's own)")  # fmt: skip
    p.add_argument("--tuned-runs", nargs="*", default=[], help="metrics.json of the tuned runs")
    p.add_argument("--curves", required=True, help="incumbent per budget and search (CSV)")
    p.add_argument("--convergence", required=True, help="per model: plateau, spread, CPU (CSV)")
    p.add_argument("--records", nargs="+", required=True, help="the tuning records (JSON)")

    p = _command(sub, "experiment", cmd_experiment)
    p.add_argument("--name", required=True, help="experiment name, e.g. lightfm_example")
    p.add_argument("--seed", type=int, required=True, help="the run's seed")
    p.add_argument("--data", required=True, help="folder of the parsed dataset")
    p.add_argument("--split", help="folder of the split (only for experiments that run on one)")
    p.add_argument("--out", required=True, help="JSON file of the source's own metrics")

    p = _command(sub, "reproduction", cmd_reproduction)
    p.add_argument("--references", default="config/reference_numbers.csv", help="published numbers (CSV)")
    p.add_argument("--dataset", default="ml-100k", help="dataset of the runs")
    p.add_argument("--seeds", type=int, nargs="+", required=True, help="seeds of the runs")
    p.add_argument("--results", default="results", help="results folder of the runs")
    p.add_argument("--out", required=True, help="the table (CSV)")
    p.add_argument("--markdown", required=True, help="the table as Markdown")
    p.add_argument("--readme", help="also refresh the README's generated reproduction block")

    p = _command(sub, "ablation", cmd_ablation)
    p.add_argument("--ablations", required=True, help="the config's ablations: block, JSON")
    p.add_argument("--metrics", nargs="+", required=True, help="per-user metrics, e.g. ndcg@10")
    p.add_argument("--out", required=True, help="the table (CSV)")
    p.add_argument("--markdown", required=True, help="the table as Markdown")
    p.add_argument("per_user", nargs="+", help="per_user.parquet files of the ablations and their models")

    p = _command(sub, "summarize", cmd_summarize)
    p.add_argument("--out", required=True, help="summary table (CSV)")
    p.add_argument("--skipped", help="also list runs whose model was not applicable (CSV)")
    p.add_argument("metrics", nargs="+", help="metrics.json files")

    p = _command(sub, "verify", cmd_verify)
    p.add_argument("--current", default="results/summary.csv", help="summary of this run")
    p.add_argument("--reported", default="reported/summary.csv", help="summary to compare with")
    p.add_argument("--pairwise", help="reported statistics (default: stats/pairwise.csv beside --reported)")
    p.add_argument("--metric", help="primary metric of the conclusions (default: paper.main_metric's)")
    p.add_argument("--atol", type=float, default=None, help="exact rule, absolute (default: verify.atol)")
    p.add_argument("--rtol", type=float, default=None, help="exact rule, relative (default: verify.rtol)")
    p.add_argument("--all-exact", action="store_true",
                   help="every model under the exact rule (two runs on one machine)")  # fmt: skip
    p.add_argument("--tolerances", default="{}", help="the config's verify: block as JSON")
    p.add_argument("--out", help="write the comparison table (CSV) here")
    p.add_argument("--conclusions-out", help="write the conclusions table (CSV) here")
    p.add_argument("--stats", action="store_true",
                   help="recompute the statistics tables and the figure data from reported/ alone (the "
                   "folder of --reported; the ratings and titles from the dataset's own files) and "
                   "compare them with its stats/*.csv and figdata/*")  # fmt: skip
    p.add_argument("--data-dir", default="",
                   help="with --stats: folder of the raw dataset (RECREPRO_DATA_DIR wins)")  # fmt: skip
    p.add_argument("--cache-dir", default="data/raw", help="with --stats: download cache of the dataset")

    p = _command(sub, "publish-reported", cmd_publish_reported)
    p.add_argument("--summary", default="results/summary.csv", help="summary table to publish")
    p.add_argument("--stats", nargs="*", default=[], help="statistics tables (CSV)")
    p.add_argument("--tables", nargs="*", default=[], help="the paper's tables (Markdown)")
    p.add_argument("--tuning", nargs="*", default=[], help="the searches' convergence tables (CSV)")
    p.add_argument("--per-user", nargs="*", default=[], help="every run's per_user.parquet")
    p.add_argument("--stats-config", default="{}", help="the config's stats: block as JSON")
    p.add_argument("--figure-metrics", nargs="*", default=[],
                   help="per-user metrics the figures read, kept beside the tested ones")  # fmt: skip
    p.add_argument("--figure-data", nargs="*", default=[], help="the figure-data tables (results/report/*)")
    p.add_argument("--history", nargs="*", default=[], help="the figures' runs' history.csv, in order")
    p.add_argument("--topk", nargs="*", default=[], help="the figures' runs' topk.parquet, in order")
    p.add_argument("--figure-settings", default="{}",
                   help="the figure data's settings as JSON (figdata.figure_settings)")  # fmt: skip
    p.add_argument("--paper", nargs="+", default=["paper/main.pdf", "paper/supplement.pdf"],
                   help="the compiled paper and supplement")
    p.add_argument("--provenance", nargs="*", default=[],
                   help="every run's provenance.json: README.md describes these runs")  # fmt: skip
    p.add_argument("--exploratory", nargs="*", default=[], help="protocols reported as exploratory")
    p.add_argument("--out", default="reported", help="folder to publish into")

    p = _command(sub, "bench", cmd_bench)
    p.add_argument("--benchmarks", default="results/benchmarks", help="folder of the benchmark files")
    p.add_argument("--out", default="results/benchmarks/summary.csv",
                   help="per-job table; by_rule_model.csv and <stem>.png/.pdf go beside it")  # fmt: skip
    p.add_argument("--layouts", default=None, help="rule -> benchmark path pattern (JSON)")
    p.add_argument("files", nargs="*", help="benchmark files (default: every *.tsv under --benchmarks)")

    p = _command(sub, "recommend", cmd_recommend)
    p.add_argument("--model", default=None, help="model name (with --dataset etc.) instead of --run")
    p.add_argument("--run", default=None, help=f"a run folder ({RUN_DIR_HELP})")
    p.add_argument("--user", type=int, default=42, help="MovieLens user id (default 42, as in the seeds)")
    p.add_argument("--similar-to", type=int, default=None, help="MovieLens movie id (multitask)")
    p.add_argument("-k", type=_positive, default=5, help="number of movies to show (default 5)")
    p.add_argument("--dataset", default="ml-100k", help="dataset of the run (default ml-100k)")
    p.add_argument("--protocol", default="random", help="protocol of the run (default random)")
    p.add_argument("--setting", default="faithful", help="faithful or tuned (default faithful)")
    p.add_argument("--seed", type=int, default=None, help="seed of the run (default: the lowest seed run)")
    p.add_argument("--results", default="results", help="results folder of the study (default results)")

    _command(sub, "models", cmd_models)

    p = _command(sub, "check-paper", cmd_check_paper)
    p.add_argument("--tex", nargs="+", default=["paper/main.tex", "paper/supplement.tex"],
                   help="LaTeX files to check (default paper/main.tex paper/supplement.tex)")

    p = _command(sub, "check-config", cmd_check_config)
    p.add_argument("config", help="a config file, e.g. config/smoke.yaml")

    p = _command(sub, "show", cmd_show)
    p.add_argument("run", help=f"a run folder ({RUN_DIR_HELP})")
    return parser


def _resolve_run(args: argparse.Namespace) -> None:
    """For recommend: turn --model/--dataset/... into --run, and find the data folder."""
    from recrepro.core.errors import RecreproError
    from recrepro.core.layout import RUN_DIR_HELP, data_dir, parse_run_path, results_root
    from recrepro.tools.recommend import find_run

    if args.run is None:
        if args.model is None:
            raise RecreproError("recommend needs --model NAME or --run FOLDER")
        where = (args.dataset, args.protocol, args.model, args.setting)
        args.run = str(find_run(args.results, *where, args.seed))
        results = Path(args.results)
    else:
        try:
            parse_run_path(args.run)
        except ValueError:
            raise RecreproError(f"--run {args.run} is not a run folder ({RUN_DIR_HELP})") from None
        results = results_root(args.run)
    args.data = data_dir(parse_run_path(args.run).dataset, str(results))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _set_threads(args.threads)
    from recrepro.core.cputime import cpu_recorded
    from recrepro.core.logs import VERBOSE, log_to

    if args.verbose:
        os.environ[VERBOSE] = "1"
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
    from recrepro.core.errors import RecreproError

    with log_to(args.log), cpu_recorded(args.cpu_record):
        try:
            if args.command == "recommend":
                _resolve_run(args)
            args.func(args)
        except RecreproError as exc:
            message = f"recrepro: error: {exc}"
            print(message, file=sys.stderr)
            if args.log:
                with open(args.log, "a", encoding="utf-8") as handle:
                    handle.write(message + "\n")
            return 1
        except BrokenPipeError:  # e.g. `recrepro models | head`: the reader left, nothing is wrong
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
