"""A run stopped on request is told apart from a failed one by Snakemake's log."""

from __future__ import annotations

from pathlib import Path

import pytest

from recrepro.core.stop import stopped_on_request


@pytest.mark.parametrize(
    ("text", "stopped"),
    [
        ("localrule a:\nTerminating processes on user request, this might take some time.\n", True),  # Ctrl-C
        ("Will exit after finishing currently running jobs (scheduler).\nShutting down\n", True),  # SIGTERM
        ("Error in rule prepare_data:\n    message: None\n", False),  # a job that failed
    ],
)
def test_stop_markers(tmp_path: Path, text: str, stopped: bool) -> None:
    log = tmp_path / "snakemake.log"
    log.write_text(text)
    assert stopped_on_request(str(log)) is stopped
    assert stopped_on_request([tmp_path / "missing.log", log]) is stopped


def test_no_log_is_no_stop() -> None:
    assert stopped_on_request(None) is False
