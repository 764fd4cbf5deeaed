"""recrepro.core.layout: every path of the results layout, and the run key read back from a path."""

from __future__ import annotations

from pathlib import Path

import pytest

from recrepro.core import layout
from recrepro.core.layout import RunKey


def test_a_run_key_and_its_folder_round_trip() -> None:
    key = RunKey("ml-100k", "random", "ease", "tuned", 3)
    assert key.path() == Path("results/runs/ml-100k/random/ease/tuned/seed3")
    assert key.path("/x/results") == Path("/x/results/runs/ml-100k/random/ease/tuned/seed3")
    assert layout.parse_run_path(key.path() / "metrics.json") == key
    assert layout.RUN_KEY == tuple(key.as_dict()) and layout.GROUP_KEY == layout.RUN_KEY[:-1]
    assert layout.results_root(Path("/x/results/runs/ml-100k/random/ease/tuned/seed3/topk.parquet")) == Path(
        "/x/results"
    )
    with pytest.raises(ValueError, match="not a run path"):
        layout.parse_run_path("results/runs/ml-100k/random/ease")


def test_wildcards_give_the_rules_patterns() -> None:
    assert layout.data_files("{dataset}") == [
        f"results/data/{{dataset}}/{table}.parquet" for table in ("ratings", "items", "users")
    ]
    assert layout.split_files("{dataset}", "{protocol}", [1, 2], parts=("train",)) == [
        "results/splits/{dataset}/{protocol}/seed1/train.parquet",
        "results/splits/{dataset}/{protocol}/seed2/train.parquet",
    ]
    assert layout.run_dir("{dataset}", "{protocol}", "{model}", "{setting}", "{seed}") == (
        "results/runs/{dataset}/{protocol}/{model}/{setting}/seed{seed}"
    )
    assert layout.tuning_record("d", "p", "m", 2) == "results/tuning/d/p/m/seed2.json"
    assert layout.job_log("tune_model", "d/p/m") == "results/logs/tune_model/d/p/m.log"
    assert layout.benchmark_file("compute_stats") == "results/benchmarks/compute_stats.tsv"


def test_the_benchmark_of_a_runs_or_a_searchs_output_drops_the_seed() -> None:
    run = RunKey("d", "p", "m", "faithful", 1).path("/w/results") / "metrics.json"
    assert layout.benchmark_of(run) == Path("/w/results/benchmarks/train_and_evaluate/d/p/m/faithful.tsv")
    search = layout.tuning_record("d", "p", "m", 2, "/w/results")
    assert layout.benchmark_of(search) == Path("/w/results/benchmarks/tune_model/d/p/m.tsv")
    assert layout.seed_of("seed12") == 12 and layout.seed_of("seedx") is None


def test_package_code_lists_a_subpackages_modules() -> None:
    files = [Path(f) for f in layout.package_code("report", "core/layout")]
    assert Path(layout.__file__).resolve() in files
    assert any(f.name == "figures.py" and f.parent.name == "report" for f in files)
    assert all(f.suffix == ".py" and f.is_file() for f in files)
