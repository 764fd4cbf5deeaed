"""``recrepro`` command line: the steps the Snakemake rules call, plus ``recommend`` and ``models``.

Errors a user can cause print one line (``recrepro: error: ...``) and exit with status 1.
Thread limits are set from ``--threads`` before NumPy or TensorFlow is imported.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RECREPRO_THREADS")


def _set_threads(threads: int) -> None:
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)


def cmd_prepare_data(args: argparse.Namespace) -> None:
    """Locate (or download), verify and parse a dataset into Parquet tables."""
    from recrepro.data.movielens import TABLES, load_tables, locate
    from recrepro.io import write_parquet

    folder = locate(args.dataset, args.data_dir or None, args.cache_dir)
    tables = load_tables(args.dataset, folder)
    for name in TABLES:
        write_parquet(Path(args.out) / f"{name}.parquet", tables[name])
    logging.info("%s: %d ratings from %s", args.dataset, len(tables["ratings"]), folder)


def cmd_source(args: argparse.Namespace) -> None:
    """Write the source frame of a published split (tfrs_tutorial, grouplens_u1 ... grouplens_ub)."""
    from recrepro.data.movielens import locate
    from recrepro.data.splits import source_frame
    from recrepro.io import write_parquet

    folder = locate(args.dataset, args.data_dir or None, args.cache_dir)
    frame = source_frame(args.protocol, folder, Path(args.cache_dir))
    write_parquet(args.out, frame)
    logging.info("%s: %d train / %d test rows", args.protocol, (frame["part"] == 0).sum(),
                 (frame["part"] == 2).sum())  # fmt: skip


def cmd_split(args: argparse.Namespace) -> None:
    """Write the train/valid/test split of one (dataset, protocol, seed)."""
    import pandas as pd

    from recrepro.data.splits import split_ratings
    from recrepro.io import write_parquet
    from recrepro.rng import make_rng

    ratings = pd.read_parquet(Path(args.data) / "ratings.parquet")
    parts = split_ratings(
        ratings, args.protocol, args.valid, args.test, make_rng("split", args.dataset, args.seed),
        test_rng=make_rng("split-test", args.dataset, args.test_seed),
        source=pd.read_parquet(args.source) if args.source else None,
    )  # fmt: skip
    for name, frame in parts.items():
        write_parquet(Path(args.out) / f"{name}.parquet", frame)
        logging.info("%s: %d interactions", name, len(frame))


def cmd_train_evaluate(args: argparse.Namespace) -> None:
    """Fit one model on one split and evaluate it."""
    from recrepro.runner import train_and_evaluate
    from recrepro.runs import RunKey

    key = RunKey(args.dataset, args.protocol, args.model, args.setting, args.seed)
    params = json.loads(args.params)
    if args.params_file:
        params = {**params, **json.loads(Path(args.params_file).read_text())["params"]}
    record = train_and_evaluate(
        key, params, json.loads(args.evaluation), args.data, args.split, args.out
    )
    logging.info("metrics: %s", json.dumps(record["metrics"], sort_keys=True))


def cmd_tune(args: argparse.Namespace) -> None:
    """Choose a model's hyperparameters on the validation split (shared seeded search)."""
    from recrepro.tuning import tune

    record = tune(
        args.dataset, args.protocol, args.model, json.loads(args.params), json.loads(args.space),
        trials=args.trials, metric=args.metric, seed=args.seed, data_dir=args.data,
        split_dir=args.split, out=args.out,
    )  # fmt: skip
    logging.info("best %s = %s with %s", args.metric, record["score"], record["params"])


def cmd_tuning_budget(args: argparse.Namespace) -> None:
    """Test score of the tuning incumbent after 1, 2, 4, ... trials (after tuning, first seed's split)."""
    from recrepro.tuning_budget import write_budget

    table = write_budget(
        args.out, args.record, json.loads(args.budgets), first_seed=args.first_seed,
        data_dir=args.data, split_dir=args.split, final_run=args.final_run,
    )  # fmt: skip
    logging.info("wrote %d budget rows to %s", len(table), args.out)


def cmd_collect_budgets(args: argparse.Namespace) -> None:
    """Concatenate the per-model tuning-budget tables."""
    from recrepro.io import write_csv
    from recrepro.tuning_budget import collect_budgets

    write_csv(args.out, collect_budgets(args.tables))


def cmd_experiment(args: argparse.Namespace) -> None:
    """Run a source's own evaluation code on one split (a reproduction-table experiment)."""
    from recrepro.experiments import run_experiment
    from recrepro.io import write_json

    metrics = run_experiment(args.name, Path(args.data), Path(args.split), args.seed)
    write_json(args.out, {"experiment": args.name, "seed": args.seed, "metrics": metrics})
    logging.info("%s: %s", args.name, json.dumps(metrics, sort_keys=True))


def cmd_reproduction(args: argparse.Namespace) -> None:
    """The reproduction table: every published number beside ours, with the verdict."""
    from recrepro.io import write_csv, write_text
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
    logging.info("verdicts: %s", table["verdict"].value_counts().to_dict())


def cmd_summarize(args: argparse.Namespace) -> None:
    """Mean and standard deviation across seeds of every metric (and the skipped runs)."""
    from recrepro.io import write_csv
    from recrepro.summarize import collect_metrics, collect_skipped, summarize

    write_csv(args.out, summarize(collect_metrics(args.metrics)))
    if args.skipped:
        write_csv(args.skipped, collect_skipped(args.metrics))


def cmd_verify(args: argparse.Namespace) -> None:
    """Compare results/summary.csv with reported/summary.csv; exit 1 if numbers differ."""
    from recrepro.verify import Tolerances, verify

    tolerances = Tolerances.from_config(json.loads(args.tolerances), atol=args.atol, rtol=args.rtol)
    verify(args.current, args.reported, tolerances, args.out)


def cmd_publish_reported(args: argparse.Namespace) -> None:
    """Copy a finished run's summary, statistics and paper into reported/, with an environment snapshot."""
    from recrepro.verify import publish

    for path in publish(args.summary, args.stats, args.paper, args.out):
        logging.info("wrote %s", path)


def cmd_bench(args: argparse.Namespace) -> None:
    """Collect Snakemake benchmark files into per-job and per-(rule, model) tables and a figure."""
    from recrepro.bench import LAYOUTS, collect, write_all

    layouts = json.loads(args.layouts) if args.layouts else LAYOUTS
    table = collect(args.benchmarks, args.files or None, layouts)
    for path in write_all(table, args.out):
        logging.info("wrote %s", path)
    logging.info("%d benchmarked jobs, %.0f s wall time in total", len(table), table["wall_s"].sum())


def cmd_recommend(args: argparse.Namespace) -> None:
    """Print a user's top-k titles from a finished run (or a movie's most similar movies)."""
    from recrepro.recommend import recommendations, similar_movies

    if args.similar_to is not None:
        frame = similar_movies(args.run, args.data, args.similar_to, args.k)
    else:
        frame = recommendations(args.run, args.data, args.user, args.k)
    print(frame.to_string(index=False))


def cmd_models(args: argparse.Namespace) -> None:
    """List registered models with their source."""
    from recrepro.models.registry import available_models, get_model_class

    for name in available_models():
        cls = get_model_class(name)
        print(f"{name:20s} {cls.source}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recrepro", description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="threads for NumPy and TensorFlow")
    parser.add_argument("--log", help="also append log messages to this file")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("prepare-data", help=cmd_prepare_data.__doc__)
    p.add_argument("--dataset", required=True)
    p.add_argument("--data-dir", default="", help="folder holding the raw dataset folder")
    p.add_argument("--cache-dir", default="data/raw", help="download cache")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_prepare_data)

    p = sub.add_parser("source", help=cmd_source.__doc__)
    p.add_argument("--dataset", required=True)
    p.add_argument("--protocol", required=True)
    p.add_argument("--data-dir", default="", help="folder holding the raw dataset folder")
    p.add_argument("--cache-dir", default="data/raw", help="download cache (and TFDS's build)")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_source)

    p = sub.add_parser("split", help=cmd_split.__doc__)
    p.add_argument("--dataset", required=True)
    p.add_argument("--protocol", required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--valid", type=float, default=0.1)
    p.add_argument("--test", type=float, default=0.1)
    p.add_argument("--test-seed", type=int, default=0, help="fixed seed of the random test part")
    p.add_argument("--source", default="", help="source frame of a published split (Parquet)")
    p.add_argument("--data", required=True, help="folder of the parsed dataset")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_split)

    p = sub.add_parser("train-evaluate", help=cmd_train_evaluate.__doc__)
    for name in ("dataset", "protocol", "model", "setting"):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--params", default="{}", help="hyperparameter overrides as JSON")
    p.add_argument("--params-file", help="JSON file with tuned hyperparameters under 'params'")
    p.add_argument("--evaluation", default='{"ks": [5, 10, 20, 50, 100]}', help="as JSON")
    p.add_argument("--data", required=True)
    p.add_argument("--split", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_train_evaluate)

    p = sub.add_parser("tune", help=cmd_tune.__doc__)
    for name in ("dataset", "protocol", "model"):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--params", default="{}", help="base hyperparameters as JSON")
    p.add_argument("--space", default="{}", help="search space as JSON (see recrepro.tuning)")
    p.add_argument("--trials", type=int, default=16)
    p.add_argument("--metric", default="ndcg@10")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", required=True)
    p.add_argument("--split", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_tune)

    p = sub.add_parser("tuning-budget", help=cmd_tuning_budget.__doc__)
    p.add_argument("--record", required=True, help="the tuning record (JSON)")
    p.add_argument("--budgets", default="[1, 2, 4, 8, 16]", help="trial counts as JSON")
    p.add_argument("--first-seed", type=int, required=True, help="the seed whose split tuning used")
    p.add_argument("--final-run", default=None, help="metrics.json of that seed's tuned run (reused)")
    p.add_argument("--data", required=True)
    p.add_argument("--split", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_tuning_budget)

    p = sub.add_parser("collect-budgets", help=cmd_collect_budgets.__doc__)
    p.add_argument("--out", required=True)
    p.add_argument("tables", nargs="+", help="per-model budget tables (CSV)")
    p.set_defaults(func=cmd_collect_budgets)

    p = sub.add_parser("experiment", help=cmd_experiment.__doc__)
    p.add_argument("--name", required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--split", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_experiment)

    p = sub.add_parser("reproduction", help=cmd_reproduction.__doc__)
    p.add_argument("--references", default="config/reference_numbers.csv")
    p.add_argument("--dataset", default="ml-100k")
    p.add_argument("--seeds", type=int, nargs="+", required=True)
    p.add_argument("--results", default="results")
    p.add_argument("--out", required=True, help="the table (CSV)")
    p.add_argument("--markdown", required=True, help="the table as Markdown")
    p.add_argument("--readme", help="also refresh the README's generated reproduction block")
    p.set_defaults(func=cmd_reproduction)

    p = sub.add_parser("summarize", help=cmd_summarize.__doc__)
    p.add_argument("--out", required=True)
    p.add_argument("--skipped", help="also list runs whose model was not applicable (CSV)")
    p.add_argument("metrics", nargs="+", help="metrics.json files")
    p.set_defaults(func=cmd_summarize)

    p = sub.add_parser("verify", help=cmd_verify.__doc__)
    p.add_argument("--current", default="results/summary.csv")
    p.add_argument("--reported", default="reported/summary.csv")
    p.add_argument("--atol", type=float, default=None, help="absolute tolerance (default 1e-6)")
    p.add_argument("--rtol", type=float, default=None, help="relative tolerance (default 1e-3)")
    p.add_argument("--tolerances", default="{}", help="the config's verify: block as JSON")
    p.add_argument("--out", help="write the comparison table (CSV) here")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("publish-reported", help=cmd_publish_reported.__doc__)
    p.add_argument("--summary", default="results/summary.csv")
    p.add_argument("--stats", nargs="*", default=[], help="statistics tables (CSV)")
    p.add_argument("--paper", default="paper/main.pdf")
    p.add_argument("--out", default="reported")
    p.set_defaults(func=cmd_publish_reported)

    p = sub.add_parser("bench", help=cmd_bench.__doc__)
    p.add_argument("--benchmarks", default="results/benchmarks", help="folder of the benchmark files")
    p.add_argument("--out", default="results/benchmarks/summary.csv",
                   help="per-job table; by_rule_model.csv and <stem>.png/.pdf go beside it")  # fmt: skip
    p.add_argument("--layouts", default=None, help="rule -> benchmark path pattern (JSON)")
    p.add_argument("files", nargs="*", help="benchmark files (default: every *.tsv under --benchmarks)")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("recommend", help=cmd_recommend.__doc__)
    p.add_argument("--model", default=None, help="model name (with --dataset etc.) instead of --run")
    p.add_argument("--run", default=None, help="a run folder under results/runs/")
    p.add_argument("--user", type=int, default=42, help="MovieLens user id")
    p.add_argument("--similar-to", type=int, default=None, help="MovieLens movie id (multitask)")
    p.add_argument("-k", type=int, default=5)
    p.add_argument("--dataset", default="ml-100k")
    p.add_argument("--protocol", default="random")
    p.add_argument("--setting", default="faithful")
    p.add_argument("--seed", type=int, default=None, help="default: the first seed run")
    p.add_argument("--results", default="results")
    p.set_defaults(func=cmd_recommend)

    p = sub.add_parser("models", help=cmd_models.__doc__)
    p.set_defaults(func=cmd_models)
    return parser


def _resolve_run(args: argparse.Namespace) -> None:
    """For ``recommend``: turn --model/--dataset/... into --run, and find the data folder."""
    from recrepro.errors import RecreproError

    if args.run is None:
        if args.model is None:
            raise RecreproError("recommend needs --model NAME or --run FOLDER")
        base = Path(args.results) / "runs" / args.dataset / args.protocol / args.model / args.setting
        seeds = sorted(base.glob("seed*"), key=lambda p: int(p.name[4:])) if base.is_dir() else []
        if args.seed is not None:
            seeds = [base / f"seed{args.seed}"]
        if not seeds or not (seeds[0] / "topk.parquet").is_file():
            raise RecreproError(f"no finished run in {base}; run the study first (snakemake)")
        args.run = str(seeds[0])
    from recrepro.runs import parse_run_path

    args.data = str(Path(args.results) / "data" / parse_run_path(args.run).dataset)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _set_threads(args.threads)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if args.log:
        Path(args.log).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(args.log))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", handlers=handlers, force=True)

    from recrepro.errors import RecreproError

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
    return 0


if __name__ == "__main__":
    sys.exit(main())
