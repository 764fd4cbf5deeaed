"""How cost grows with data size: synthetic ML-100K-format data at 1x, 10x (and 100x) the size.

For each scale the synthetic dataset ``synth-<scale>x`` (:mod:`recrepro.data.synthetic`: ML-100K's
users, movies and ratings times the scale) is generated into the download cache, parsed and
split (``random`` protocol, seed 1) as the pipeline does. Then every case runs in its own
subprocess, one thread (``OMP_NUM_THREADS=1``), with a time limit:

* ``prepare``: generate (if not cached), parse and split the data, write the Parquet tables;
* ``evaluate``: ``evaluate()`` alone (all metrics, K = 5..100) of a model whose scores cost
  nothing (popularity), with its own peak allocation measured by ``tracemalloc``;
* one case per model: ``recrepro.study.runner.train_and_evaluate`` (the pipeline's job: fit on
  train with valid for early stopping, evaluate on test, write the run's files).

Each case reports wall time, fit and evaluation seconds, and the subprocess' peak resident
memory (``ru_maxrss``, which includes the ~0.2-0.4 GB of the interpreter and libraries). A
case expected to exceed the time limit at a scale (extrapolated from the previous scale as
users x items, i.e. the square of the scale) is skipped, and a model that refuses the data
(EASE above ``max_items``) is marked not applicable. The table is printed as Markdown and
written to ``results/benchmarks/growth.csv``.

Run: ``OMP_NUM_THREADS=1 python benchmarks/bench_growth.py [--scales 1 10 100]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

#: Fast models and their benchmark hyperparameters (few epochs: this measures cost, not quality).
MODELS: dict[str, dict[str, Any]] = {
    "popularity": {},
    "itemknn": {},
    "ease": {},
    "biased_mf": {"epochs": 3, "patience": 0},
    "lightfm_warp": {"epochs": 1},
}
KS = [5, 10, 20, 50, 100]
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RECREPRO_THREADS")
MARK = "BENCH-RESULT "
COLUMNS = ["scale", "users", "items", "ratings", "case", "status", "fit_s", "eval_s", "wall_s",
           "peak_rss_mb", "eval_peak_mb", "ndcg@10", "note"]  # fmt: skip


def peak_rss_mb() -> float:
    """This process' peak resident memory so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2**20 if sys.platform == "darwin" else 2**10)


# -- cases (run in a child process) ------------------------------------------------------------------
def case_prepare(dataset: str, work: Path, cache: Path) -> dict[str, Any]:
    from recrepro.core.io import write_parquet
    from recrepro.core.rng import make_rng
    from recrepro.data.movielens import TABLES, load_tables, locate
    from recrepro.data.splits import split_ratings

    tables = load_tables(dataset, locate(dataset, None, cache))
    for name in TABLES:
        write_parquet(work / "data" / f"{name}.parquet", tables[name])
    parts = split_ratings(tables["ratings"], "random", 0.1, 0.1, make_rng("split", dataset, 1))
    for name, frame in parts.items():
        write_parquet(work / "split" / f"{name}.parquet", frame)
    ratings = tables["ratings"]
    return {"users": len(tables["users"]), "items": len(tables["items"]), "ratings": len(ratings)}


def case_evaluate(dataset: str, work: Path) -> dict[str, Any]:
    import numpy as np

    from recrepro.evaluation.evaluate import evaluate
    from recrepro.models import build_model
    from recrepro.study.runner import load_split

    split = load_split(work / "data", work / "split")
    model = build_model("popularity").fit(split.train, split.valid, np.random.default_rng(0))
    seen = split.train.concat(split.valid)
    tracemalloc.start()
    start = time.perf_counter()
    result = evaluate(model, split.train, split.test, ks=KS, seen=seen, batch_size=1024)
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"eval_s": seconds, "eval_peak_mb": peak / 2**20, "ndcg@10": result.metrics["ndcg@10"]}


def case_model(dataset: str, work: Path, model: str) -> dict[str, Any]:
    from recrepro.core.layout import RunKey
    from recrepro.study.runner import train_and_evaluate

    key = RunKey(dataset, "random", model, "faithful", 1)
    evaluation = {"ks": KS, "relevance_threshold": None, "user_batch_size": 1024}
    record = train_and_evaluate(
        key, MODELS[model], evaluation, work / "data", work / "split", work / "runs" / model
    )
    timing = record["timing"]
    return {"fit_s": timing["fit_seconds"], "eval_s": timing["eval_seconds"],
            "ndcg@10": record["metrics"]["ndcg@10"]}  # fmt: skip


def child(spec: dict[str, Any]) -> None:
    """Run one case and print its result as a marked JSON line."""
    from recrepro.core.errors import ModelNotApplicable

    work, case = Path(spec["work"]), spec["case"]
    try:
        if case == "prepare":
            out = case_prepare(spec["dataset"], work, Path(spec["cache"]))
        elif case == "evaluate":
            out = case_evaluate(spec["dataset"], work)
        else:
            out = case_model(spec["dataset"], work, case)
        out["status"] = "ok"
    except ModelNotApplicable as exc:
        out = {"status": "not applicable", "note": str(exc).split(";")[0]}
    out["peak_rss_mb"] = peak_rss_mb()
    print(MARK + json.dumps(out), flush=True)


# -- driver -------------------------------------------------------------------------------------------
def run_case(spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run one case in a fresh single-threaded interpreter; its result, or a timeout/error row."""
    env = {**os.environ, **dict.fromkeys(THREAD_VARIABLES, "1")}
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, __file__, "--child", json.dumps(spec)],
            env=env, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "note": f"stopped after {timeout:.0f} s", "wall_s": timeout}
    wall = time.perf_counter() - start
    lines = [line for line in proc.stdout.splitlines() if line.startswith(MARK)]
    if proc.returncode != 0 or not lines:
        error = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"status": "error", "note": error[:200], "wall_s": wall}
    return {**json.loads(lines[-1][len(MARK) :]), "wall_s": wall}


def predicted_wall(previous: tuple[int, float] | None, scale: int) -> float:
    """Wall time expected at ``scale`` from ``(scale, seconds)`` measured at a smaller one:
    full-catalogue scoring costs users x items, which grow with the square of the scale."""
    if previous is None:
        return 0.0
    return previous[1] * (scale / previous[0]) ** 2


def refuses_fast(case: str, n_items: int) -> bool:
    """EASE refuses catalogues above ``max_items`` before any work: run it to show that."""
    if case != "ease":
        return False
    from recrepro.models import build_model

    return n_items > int(build_model("ease", MODELS["ease"]).params["max_items"])


def markdown(rows: list[dict[str, Any]], all_columns: bool = False) -> str:
    """A Markdown table of ``rows`` (columns that are empty in every row are left out)."""
    shown = [c for c in COLUMNS if all_columns or any(r.get(c) not in (None, "") for r in rows)]

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.3f}" if abs(value) < 1 else f"{value:,.1f}"
        return f"{value:,}" if isinstance(value, int) else str(value if value is not None else "")

    lines = ["| " + " | ".join(shown) + " |", "|" + "---|" * len(shown)]
    lines += ["| " + " | ".join(cell(r.get(c)) for c in shown) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10], help="e.g. 1 10 100")
    parser.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per case")
    parser.add_argument("--cache", default="data/raw", help="where synthetic data is generated")
    parser.add_argument("--out", default="results/benchmarks/growth.csv")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(json.loads(args.child))
        return 0

    import pandas as pd

    from recrepro.core.io import write_csv

    rows: list[dict[str, Any]] = []
    last_wall: dict[str, tuple[int, float]] = {}
    for scale in sorted(args.scales):
        dataset = f"synth-{scale}x"
        with tempfile.TemporaryDirectory(prefix=f"growth-{dataset}-") as tmp:
            base = {"dataset": dataset, "work": tmp, "cache": str(Path(args.cache).resolve())}
            prepared = run_case({**base, "case": "prepare"}, timeout=max(args.timeout, 900))
            size = {k: prepared.pop(k, None) for k in ("users", "items", "ratings")}
            rows.append({"scale": f"{scale}x", **size, "case": "prepare", **prepared})
            print(markdown(rows[-1:], all_columns=True).splitlines()[-1], flush=True)
            if prepared["status"] != "ok":
                continue
            for case in ["evaluate", *args.models]:
                row = {"scale": f"{scale}x", **size, "case": case}
                expected = predicted_wall(last_wall.get(case), scale)
                if expected > args.timeout and not refuses_fast(case, size["items"]):
                    row.update(status="skipped", note=f"~{expected:,.0f} s expected (cost ~ users x "
                               f"items), over the {args.timeout:.0f} s limit")  # fmt: skip
                else:
                    row.update(run_case({**base, "case": case}, args.timeout))
                    if row["status"] in ("ok", "timeout"):
                        last_wall[case] = (scale, row["wall_s"])
                rows.append(row)
                print(markdown([row], all_columns=True).splitlines()[-1], flush=True)
    print()
    print(markdown(rows))
    frame = pd.DataFrame(rows).reindex(columns=COLUMNS)
    write_csv(args.out, frame)
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
