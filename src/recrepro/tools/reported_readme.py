"""``reported/README.md``: what the published folder holds, written from the runs it describes.

Every fact (date, protocols, seeds, settings, models, runs, jobs, the code revisions of the runs
and of the publishing checkout) comes from the runs' ``provenance.json`` and the publishing
step; nothing is typed by hand, so the README cannot go stale when the study changes.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from recrepro.core.errors import DataError
from recrepro.core.io import read_json
from recrepro.report.findings import listing, plural


def read_provenance(paths: Iterable[str | os.PathLike]) -> list[dict[str, Any]]:
    """The runs' provenance records (one line naming the file that cannot be read)."""
    return [read_json(path, "rerun that run") for path in paths]


def _seeds(seeds: Sequence[int]) -> str:
    """``1-3`` for consecutive seeds, else a list."""
    if len(seeds) > 2 and list(seeds) == list(range(seeds[0], seeds[-1] + 1)):
        return f"seeds {seeds[0]}-{seeds[-1]}"
    return ("seed " if len(seeds) == 1 else "seeds ") + listing([str(s) for s in seeds])


def _revisions(records: Sequence[Mapping[str, Any]]) -> str:
    """Which code revisions made the runs, and whether any had uncommitted changes."""
    by_commit = Counter(str(r.get("git_commit") or "unknown")[:7] for r in records)
    dirty = sum(1 for r in records if r.get("git_dirty"))
    parts = [f"{plural(n, 'run')} by revision `{commit}`" for commit, n in by_commit.most_common()]
    state = "none with uncommitted changes" if dirty == 0 else f"{dirty} with uncommitted changes"
    return f"{listing(parts)} ({state}; each run's `provenance.json` records it)"


def study_facts(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts of the study behind ``records`` (one per run)."""
    runs = [r["config"]["run"] for r in records]

    def ordered(field: str) -> list[Any]:
        return list(dict.fromkeys(run[field] for run in runs))

    jobs = {(r["dataset"], r["protocol"], r["model"], r["setting"]) for r in runs}
    searches = {(r["dataset"], r["protocol"], r["model"]) for r in runs if r["setting"] == "tuned"}
    return {
        "datasets": ordered("dataset"),
        "protocols": ordered("protocol"),
        "seeds": sorted(set(ordered("seed"))),
        "settings": ordered("setting"),
        "models": ordered("model"),
        "runs": len(runs),
        "jobs": len(jobs),
        "tuning_jobs": len(searches),
    }


def reported_readme(
    records: Sequence[Mapping[str, Any]],
    git: Mapping[str, Any],
    *,
    exploratory: Sequence[str] = (),
    written: datetime | None = None,
) -> str:
    """The README of a published folder, from its runs' provenance ``records`` and the ``git``
    state of the checkout that publishes it (:func:`recrepro.core.provenance.git_state`)."""
    if not records:
        raise DataError("no run to describe; publish_reported needs every run's provenance.json")
    facts = study_facts(records)
    written = written or datetime.now(UTC)
    protocols = [f"{p} (exploratory)" if p in exploratory else p for p in facts["protocols"]]
    tuning = (
        f"; {plural(facts['tuning_jobs'], 'tuning job')}, each running one search per seed"
        if facts["tuning_jobs"]
        else ""
    )
    publisher = str(git.get("git_commit") or "unknown")[:7]
    publisher_state = {True: "with uncommitted changes", False: "clean", None: "state unknown"}[
        git.get("git_dirty")
    ]
    lines = [
        "# Reported results",
        "",
        f"Written by `snakemake publish_reported` on {written:%Y-%m-%d}, for `snakemake verify` and for "
        f"citing: {listing(facts['datasets'])}, {plural(len(protocols), 'protocol')} "
        f"({listing(protocols)}), {_seeds(facts['seeds'])}, "
        f"{plural(len(facts['settings']), 'setting')} ({listing(facts['settings'])}), "
        f"{plural(len(facts['models']), 'model')}: {plural(facts['runs'], 'run')} in "
        f"{plural(facts['jobs'], 'job')}{tuning}.",
        "",
        f"The runs: {_revisions(records)}. The statistics, tables, figures, paper and this folder "
        f"were regenerated from them by revision `{publisher}` ({publisher_state} outside this "
        "folder; `environment.txt`: machine, Python and every package version).",
        "",
        "```bash",
        "snakemake --cores 4           # the study",
        "snakemake verify --cores 4    # compares results/summary.csv with summary.csv here",
        "recrepro verify --stats       # recomputes stats/ and figdata/ from per_user/, figure_inputs/ "
        "and summary.csv here",
        "```",
        "",
        *_CONTENTS,
    ]
    return "\n".join(lines) + "\n"


#: What each part of the folder is (the layout publish_reported writes).
_CONTENTS = [
    "- `summary.csv`: mean, standard deviation and 95% interval across seeds of every model, setting",
    "  and metric;",
    "- `stats/*.csv`: paired tests over users and seeds (`pairwise.csv`: crossed users x seeds",
    "  t-test, with the per-user sign-flip and t-tests beside it), Friedman test, ranks and",
    "  critical-difference groups, users x seeds variance components (`seed_level.csv`), power, the",
    "  A/A control (`aa_control.csv`), the crossed test's calibration by simulation",
    "  (`calibration.csv`) and its agreement with a per-user t-test (`agreement.csv`);",
    "- `tuning/`: every search's incumbent after each trial (`curves.csv`) and per model and protocol",
    "  the plateau rule, the replicate spread and the CPU of a search (`convergence.csv`);",
    "- `per_user/`: every run's per-user values of the tested metrics (one Parquet file per dataset",
    "  and protocol) and `stats_config.json`, the `stats:` settings used;",
    "- `figdata/`, `figure_inputs/`: every figure's data table, and what those tables read of the",
    "  figures' runs;",
    "- `tables/*.md`: the Markdown twins of the paper's tables;",
    "- `main.pdf`, `supplement.pdf`: the paper and its supplement compiled from these runs;",
    "- `reproduction.{csv,md}`: the reproduction table, from its own run (`snakemake",
    "  publish_reproduction --cores 4 --configfile config/reproduce.yaml`; not rewritten by",
    "  publish_reported).",
]
