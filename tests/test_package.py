"""The package stands alone: installed without the checkout (a wheel), it finds its config schema
and runs its light commands (no TensorFlow)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "src" / "recrepro"

#: Run in a copy of the package, outside the checkout: the CLI's commands and the modules that read
#: the schema's defaults at import; TensorFlow must stay unimported.
STANDALONE = """
import sys
from pathlib import Path

import recrepro
import recrepro.report.config
import recrepro.stats.config
import recrepro.tools.verify
from recrepro.cli import main

assert Path(recrepro.__file__).resolve().parent.parent == Path(sys.argv[1]).resolve(), recrepro.__file__
assert main(["models"]) == 0
assert main(["check-config", "study.yaml"]) == 0
assert main(["check-config", "bad.yaml"]) == 1
assert "tensorflow" not in sys.modules, "a light command imported TensorFlow"
"""


def test_a_copy_of_the_package_outside_the_checkout_checks_configs_and_lists_models(tmp_path: Path) -> None:
    site, work = tmp_path / "site", tmp_path / "work"
    shutil.copytree(PACKAGE, site / "recrepro", ignore=shutil.ignore_patterns("__pycache__"))
    work.mkdir()
    study = "datasets: [ml-100k]\nprotocols: [random]\nseeds: [1]\nsettings: [faithful]\nmodels: {ease: {}}\n"
    (work / "study.yaml").write_text(study)
    (work / "bad.yaml").write_text(study.replace("ease", "nope"))
    env = {**os.environ, "PYTHONPATH": str(site)}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, *args], cwd=work, env=env, capture_output=True, text=True)

    help_ = run("-m", "recrepro.cli", "--help")
    assert help_.returncode == 0 and "check-config" in help_.stdout, help_.stderr
    proc = run("-c", STANDALONE, str(site))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "study.yaml is a valid study config" in proc.stdout
    assert "ease" in proc.stdout and "two_tower" in proc.stdout  # the model list
    assert "recrepro: error: unknown model 'nope'" in proc.stderr


def test_every_data_file_of_the_package_ships_in_the_wheel() -> None:
    """``[tool.setuptools.package-data]`` covers every non-Python file of the package (the
    config schema among them), so a wheel or sdist holds what the checkout holds."""
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    data = [
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts
    ]
    shipped = {p.relative_to(PACKAGE).as_posix() for g in globs["recrepro"] for p in PACKAGE.glob(g)}
    assert "schemas/config.schema.yaml" in data
    assert sorted(set(data) - shipped) == []
