"""One logging setup (recrepro.core.logs): our messages in the step's log, third-party chatter
(fontTools, native libraries' start-up lines) out of it unless asked for."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from recrepro.core.logs import VERBOSE, import_quietly, log_to
from recrepro.report.pipeline import LOG, step_log


def _tiny_pdf(path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with plt.rc_context({"pdf.fonttype": 42}):  # as the paper's figures (recrepro.report.style)
        fig, ax = plt.subplots(figsize=(2, 2))
        ax.set_title("Tiny figure")
        fig.savefig(path)  # embedding a TrueType font subsets it with fontTools, which logs at INFO
        plt.close(fig)


def test_a_step_log_has_our_lines_and_no_fonttools(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(VERBOSE, raising=False)
    path = tmp_path / "make_figures.log"
    with step_log(path):
        LOG.info("wrote the figures")
        _tiny_pdf(tmp_path / "a.pdf")
    text = path.read_text()
    assert "recrepro.report: wrote the figures" in text
    assert "fontTools" not in text
    assert not logging.getLogger("recrepro").handlers  # removed with the step


def test_verbose_lets_third_party_logs_in(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(VERBOSE, "1")
    path = tmp_path / "verbose.log"
    before = list(logging.getLogger().handlers)
    with log_to(path, console=False):
        _tiny_pdf(tmp_path / "b.pdf")
    assert "fontTools" in path.read_text()
    assert logging.getLogger().handlers == before  # verbose handlers leave with the call too


def test_native_start_up_lines_are_discarded_unless_verbose(tmp_path: Path, monkeypatch, capfd) -> None:
    for name in ("noisy_a", "noisy_b"):
        (tmp_path / f"{name}.py").write_text(f"import os\nos.write(2, b'{name} native start-up line\\n')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv(VERBOSE, raising=False)
    import_quietly("noisy_a")
    monkeypatch.setenv(VERBOSE, "1")
    import_quietly("noisy_b")
    err = capfd.readouterr().err
    assert "noisy_a" not in err and "noisy_b native start-up line" in err
    print("stderr still works", file=sys.stderr)
    assert "stderr still works" in capfd.readouterr().err


@pytest.mark.parametrize(("preset", "expected"), [(None, "3"), ("1", "1")])
def test_tensorflow_cpp_log_is_silenced_by_default(preset: str | None, expected: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", VERBOSE)}
    if preset is not None:
        env["TF_CPP_MIN_LOG_LEVEL"] = preset  # a user's own setting wins
    out = subprocess.run(
        [sys.executable, "-c", "import os, recrepro; print(os.environ['TF_CPP_MIN_LOG_LEVEL'])"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert out.strip() == expected
