"""reported/README.md is written from the runs it describes: counts, plurals, revisions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from recrepro.core.errors import DataError
from recrepro.tools.reported_readme import reported_readme, study_facts

WHEN = datetime(2026, 12, 4, tzinfo=UTC)


def record(
    protocol: str, model: str, setting: str, seed: int, commit: str = "1234567abc", dirty: bool = False
) -> dict:
    run = {"dataset": "ml-100k", "protocol": protocol, "model": model, "setting": setting, "seed": seed}
    return {"config": {"run": run}, "git_commit": commit, "git_dirty": dirty}


def test_facts_count_runs_jobs_and_searches() -> None:
    records = [record(p, m, s, seed) for p in ("random", "temporal") for m in ("ease", "ials")
               for s in ("faithful", "tuned") for seed in (1, 2, 3)]  # fmt: skip
    facts = study_facts(records)
    assert facts["runs"] == 24 and facts["jobs"] == 8 and facts["tuning_jobs"] == 4
    assert facts["protocols"] == ["random", "temporal"] and facts["seeds"] == [1, 2, 3]
    text = reported_readme(records, {"git_commit": "fedcba9876", "git_dirty": False},
                           exploratory=["temporal"], written=WHEN)  # fmt: skip
    assert "on 2026-12-04" in text
    assert "2 protocols (random and temporal (exploratory)), seeds 1-3" in text
    assert "2 models: 24 runs in 8 jobs; 4 tuning jobs" in text
    assert "24 runs by revision `1234567` (none with uncommitted changes" in text
    assert "by revision `fedcba9` (clean outside this folder" in text


def test_one_of_each_reads_in_the_singular_and_dirty_runs_are_counted() -> None:
    records = [record("random", "ease", "faithful", 1, commit="aaaaaaa1", dirty=True)]
    text = reported_readme(records, {"git_commit": None, "git_dirty": None}, written=WHEN)
    assert "1 protocol (random), seed 1, 1 setting (faithful), 1 model: 1 run in 1 job." in text
    assert "tuning job" not in text
    assert "1 with uncommitted changes" in text and "state unknown" in text


def test_no_run_stops_with_one_line() -> None:
    with pytest.raises(DataError, match="no run to describe"):
        reported_readme([], {"git_commit": "x", "git_dirty": False})
