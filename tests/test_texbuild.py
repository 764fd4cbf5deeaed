"""The paper compiles in a fresh folder: stale or broken auxiliary files never break a build."""

from __future__ import annotations

from pathlib import Path

import pytest

from recrepro.core.errors import RecreproError
from recrepro.tools.texbuild import build_pdf

TEX = r"""\documentclass{article}
\usepackage{natbib}
\begin{document}
As \citet{k} wrote, \input{generated/n.tex} and \input{../figures/f.tex}.
\bibliographystyle{plainnat}
\bibliography{references}
\end{document}
"""
BIB = "@article{k, author = {A. Author}, title = {T}, journal = {J}, year = {2020}}\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """paper/main.tex reading generated/ and ../figures/, with broken leftovers of an old build."""
    paper = tmp_path / "paper"
    (paper / "generated").mkdir(parents=True)
    (paper / "main.tex").write_text(TEX)
    (paper / "references.bib").write_text(BIB)
    (paper / "generated" / "n.tex").write_text("forty-two")
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "f.tex").write_text("a figure")
    (paper / "main.aux").write_text("\\relax\n\\bibcite{k\n")  # truncated by a killed run
    (paper / "main.bbl").write_text("\\begin{thebibliography}{")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_build_ignores_stale_aux_files_and_is_reproducible(project: Path, needs_tex: None) -> None:
    before = sorted(p.name for p in (project / "paper").iterdir())
    build_pdf("paper/main.tex", "paper/main.pdf", ("figures",), "build.log")
    first = (project / "paper" / "main.pdf").read_bytes()
    assert first[:5] == b"%PDF-"
    assert sorted(p.name for p in (project / "paper").iterdir()) == sorted([*before, "main.pdf"])
    build_pdf("paper/main.tex", "paper/main.pdf", ("figures",), "build.log")
    assert (project / "paper" / "main.pdf").read_bytes() == first  # fixed dates and ids


def test_a_failed_build_keeps_the_old_pdf_and_leaves_nothing_behind(project: Path, needs_tex: None) -> None:
    (project / "paper" / "main.pdf").write_bytes(b"%PDF- old")
    (project / "paper" / "generated" / "n.tex").write_text(r"\undefinedmacro")
    with pytest.raises(RecreproError, match=r"latexmk could not compile .*main.tex .*; see build.log"):
        build_pdf("paper/main.tex", "paper/main.pdf", ("figures",), "build.log")
    assert (project / "paper" / "main.pdf").read_bytes() == b"%PDF- old"
    assert not [p for p in (project / "paper").iterdir() if p.name.startswith(".build")]
    assert "Undefined control sequence" in (project / "build.log").read_text()
