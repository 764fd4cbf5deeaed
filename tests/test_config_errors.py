"""Malformed YAML configs: one line naming the file, the line and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_snakemake, workflow_copy
from recrepro.cli import main
from recrepro.core.config import load_yaml
from recrepro.core.errors import ConfigError

BAD = "datasets: [ml-100k]\nseeds: [1, 2\nmodels: {popularity: {}}\n"  # the list is never closed
PROBLEM = "is not valid YAML at line 3, column 7: expected ',' or ']', but got ':'; fix that line"


def test_malformed_yaml_names_file_line_and_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD)
    with pytest.raises(ConfigError) as error:
        load_yaml(bad)
    assert str(error.value) == f"config {bad} {PROBLEM}"


def test_check_config_reports_the_line_of_a_config_file(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD)
    assert main(["check-config", str(bad)]) == 1
    assert capsys.readouterr().err == f"recrepro: error: config {bad} {PROBLEM}\n"
    good = Path(__file__).resolve().parents[1] / "config" / "smoke.yaml"
    assert main(["check-config", str(good)]) == 0
    assert capsys.readouterr().out == f"{good} is a valid study config\n"


def test_a_malformed_default_config_stops_the_workflow_with_one_line(
    tmp_path: Path, shared_data_dir: str
) -> None:
    workdir = workflow_copy(tmp_path)
    (workdir / "config" / "config.yaml").write_text(BAD)
    proc = run_snakemake(workdir, "-n", data_dir=shared_data_dir)
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == [f"recrepro: config error: config config/config.yaml {PROBLEM}"]
