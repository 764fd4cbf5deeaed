"""The one home of the results layout: where every file of a study lives, and the run key.

Every path under ``results/`` is spelled here and nowhere else; the rules (``workflow/rules``),
the command line, the runner, the statistics and the report ask this module::

    results/
      data/{dataset}/{ratings,items,users}.parquet               prepare_data     (data_file)
      data/{dataset}/sources/{protocol}.parquet                  protocol_source  (source_file)
      splits/{dataset}/{protocol}/seed{seed}/{train,valid,test}.parquet  split_data (split_file)
      runs/{dataset}/{protocol}/{model}/{setting}/seed{seed}/{RUN_FILES}  train_and_evaluate
      tuning/{dataset}/{protocol}/{model}/seed{seed}.json        tune_model       (tuning_record)
      logs/{rule}/{key}.log, benchmarks/{rule}/{key}.tsv (+ .cpu.json beside it)

One run is a :class:`RunKey` (dataset, protocol, model, setting, seed). One ``train_and_evaluate``
job runs every seed of a *run group* (the key without the seed), one ``tune_model`` job every
seed's search of a (dataset, protocol, model); their logs and benchmark files are named by those
keys (:func:`group_key`, :func:`search_key`).

Each function takes plain values and returns a ``/``-separated string, so that passing
Snakemake wildcards (``"{dataset}"``) gives the rule's pattern; ``results`` is the results
folder (default ``results``, relative to the project root).
"""

from __future__ import annotations

import re
from dataclasses import asdict, astuple, dataclass, fields
from pathlib import Path

RESULTS = "results"
#: The tables of a parsed dataset (``data/{dataset}/{table}.parquet``).
TABLES = ("ratings", "items", "users")
#: The parts of a split, in the order of their codes (0, 1, 2).
PARTS = ("train", "valid", "test")
#: The files of one run, ``metrics.json`` written last (its presence means done).
RUN_FILES = ("metrics.json", "per_user.parquet", "topk.parquet", "history.csv", "provenance.json")
#: Written beside :data:`RUN_FILES` by models that compute item similarities (multitask).
SIMILAR_ITEMS = "similar_items.parquet"


@dataclass(frozen=True, order=True)
class RunKey:
    """One run: its folder is :func:`run_dir` of these fields."""

    dataset: str
    protocol: str
    model: str
    setting: str
    seed: int

    def path(self, results: str | Path = RESULTS) -> Path:
        """The run's folder under ``results``."""
        return Path(run_dir(*astuple(self), results=str(results)))

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


#: The run key's fields, in order: every table of runs is keyed by these.
RUN_KEY = tuple(f.name for f in fields(RunKey))
#: A run group's key (one ``train_and_evaluate`` job, every seed): the run key without the seed.
GROUP_KEY = RUN_KEY[:-1]


# --------------------------------------------------------------------------- data and splits


def data_dir(dataset: str, results: str = RESULTS) -> str:
    """The parsed dataset's folder (``{table}.parquet`` of every table in :data:`TABLES`)."""
    return f"{results}/data/{dataset}"


def table_file(folder: str | Path, table: str) -> str:
    """A table's file in a parsed dataset's folder (:func:`data_dir`, or any other)."""
    return f"{Path(folder).as_posix()}/{table}.parquet"


def data_file(dataset: str, table: str, results: str = RESULTS) -> str:
    return table_file(data_dir(dataset, results), table)


def data_files(dataset: str, results: str = RESULTS) -> list[str]:
    """Every table of the parsed dataset, in :data:`TABLES` order."""
    return [data_file(dataset, table, results) for table in TABLES]


def source_file(dataset: str, protocol: str, results: str = RESULTS) -> str:
    """The rows of a published split (``recrepro.data.splits``), shared by every seed's split."""
    return f"{data_dir(dataset, results)}/sources/{protocol}.parquet"


def split_key(dataset: str, protocol: str, seed: int | str) -> str:
    return f"{dataset}/{protocol}/seed{seed}"


def split_dir(dataset: str, protocol: str, seed: int | str, results: str = RESULTS) -> str:
    """The folder of one seed's split (``{part}.parquet`` of every part in :data:`PARTS`)."""
    return f"{results}/splits/{split_key(dataset, protocol, seed)}"


def part_file(folder: str | Path, part: str) -> str:
    """A part's file in a split's folder (:func:`split_dir`, or any other)."""
    return f"{Path(folder).as_posix()}/{part}.parquet"


def split_file(dataset: str, protocol: str, seed: int | str, part: str, results: str = RESULTS) -> str:
    return part_file(split_dir(dataset, protocol, seed, results), part)


def split_files(
    dataset: str, protocol: str, seeds: int | str | list | tuple, parts: tuple[str, ...] = PARTS,
    results: str = RESULTS,
) -> list[str]:
    """The ``parts`` of each seed's split (``seeds``: one seed or several)."""
    seeds = seeds if isinstance(seeds, list | tuple) else [seeds]
    return [split_file(dataset, protocol, seed, part, results) for seed in seeds for part in parts]


# --------------------------------------------------------------------------- runs and searches


def group_key(dataset: str, protocol: str, model: str, setting: str) -> str:
    return f"{dataset}/{protocol}/{model}/{setting}"


def run_group(dataset: str, protocol: str, model: str, setting: str, results: str = RESULTS) -> str:
    """The folder of every seed's run of one (dataset, protocol, model, setting)."""
    return f"{results}/runs/{group_key(dataset, protocol, model, setting)}"


def run_dir(
    dataset: str, protocol: str, model: str, setting: str, seed: int | str, results: str = RESULTS
) -> str:
    """One run's folder (its :data:`RUN_FILES`)."""
    return f"{run_group(dataset, protocol, model, setting, results)}/{seed_dir(seed)}"


def seed_dir(seed: int | str) -> str:
    """A seed's folder name inside a run group (and of a split)."""
    return f"seed{seed}"


def seed_of(name: str) -> int | None:
    """The seed of a :func:`seed_dir` name; None for any other name."""
    match = re.fullmatch(r"seed(\d+)", name)
    return int(match.group(1)) if match else None


def search_key(dataset: str, protocol: str, model: str) -> str:
    return f"{dataset}/{protocol}/{model}"


def tuning_record(dataset: str, protocol: str, model: str, seed: int | str, results: str = RESULTS) -> str:
    """One seed's search of one model (its winner is that seed's tuned setting)."""
    return f"{results}/tuning/{search_key(dataset, protocol, model)}/{seed_dir(seed)}.json"


def tuning_table(name: str, results: str = RESULTS) -> str:
    """A table made from every tuning record (``curves``, ``convergence``)."""
    return f"{results}/tuning/{name}.csv"


_RUN_DIR = re.compile(
    "runs/" + "/".join(f"(?P<{name}>[^/]+)" for name in GROUP_KEY) + r"/seed(?P<seed>\d+)(?:/|$)"
)
_TUNING_RECORD = re.compile(
    r"(?:^|/)tuning/(?P<dataset>[^/]+)/(?P<protocol>[^/]+)/(?P<model>[^/]+)/seed\d+\.json$"
)
RUN_DIR_HELP = f"{RESULTS}/runs/{group_key('DATASET', 'PROTOCOL', 'MODEL', 'SETTING')}/seedN"


def parse_run_path(path: str | Path) -> RunKey:
    """The :class:`RunKey` of a run folder or of any file inside one."""
    match = _RUN_DIR.search(Path(path).as_posix())
    if match is None:
        raise ValueError(f"not a run path: {path}")
    parts = match.groupdict()
    return RunKey(parts["dataset"], parts["protocol"], parts["model"], parts["setting"], int(parts["seed"]))


def results_root(run: str | Path) -> Path:
    """The results folder a run folder (or a file inside one) lies in."""
    path = Path(run).resolve().as_posix()
    match = _RUN_DIR.search(path)
    if match is None:
        raise ValueError(f"not a run path: {run}")
    return Path(path[: match.start()].rstrip("/") or "/")


# --------------------------------------------------------------------------- code


def package_code(*parts: str) -> list[str]:
    """The ``.py`` files of the recrepro subpackages or modules ``parts`` (e.g. ``"report"``,
    ``"stats"``), where the interpreter imports them from. A rule that lists them as inputs reruns
    when that code is edited (Snakemake reruns a job whose input changed since its outputs were
    written, and once when the list itself changes)."""
    package = Path(__file__).resolve().parents[1]
    files = []
    for part in parts:
        path = package / part
        files += sorted(str(f) for f in path.rglob("*.py")) if path.is_dir() else [f"{path}.py"]
    return files


# --------------------------------------------------------------------------- logs and benchmarks


def job_log(rule: str, key: str = "", results: str = RESULTS) -> str:
    """A job's log: ``logs/{rule}/{key}.log`` (``logs/{rule}.log`` for a one-job rule)."""
    return f"{results}/logs/{rule}/{key}.log" if key else f"{results}/logs/{rule}.log"


def benchmark_file(rule: str, key: str = "", results: str = RESULTS) -> str:
    """A job's Snakemake benchmark file: ``benchmarks/{rule}/{key}.tsv``."""
    return f"{results}/benchmarks/{rule}/{key}.tsv" if key else f"{results}/benchmarks/{rule}.tsv"


def benchmark_of(output: str | Path) -> Path:
    """The benchmark file of the job that wrote ``output`` (a run's file or a tuning record): one
    job writes every seed's runs of a run group, and one every seed's searches of a (dataset,
    protocol, model), so both keys drop the seed."""
    path = Path(output).as_posix()
    run = _RUN_DIR.search(path)
    if run is not None:
        key = parse_run_path(path)
        root = path[: run.start()].rstrip("/") or "."
        return Path(benchmark_file("train_and_evaluate", group_key(*astuple(key)[:-1]), root))
    search = _TUNING_RECORD.search(path)
    if search is None:
        raise ValueError(f"neither a run's file nor a tuning record: {output}")
    root = path[: search.start()].rstrip("/") or "."
    return Path(benchmark_file("tune_model", search_key(**search.groupdict()), root))
