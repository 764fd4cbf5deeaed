"""The TeX pre-flight check: what main.tex loads, what is missing (fake PATH and kpsewhich), the
one line the workflow stops with, and paper: {compile: false} for machines without TeX."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, run_snakemake, workflow_copy
from recrepro.tools.texcheck import (
    APT_COMMAND,
    CLASS_NEEDS,
    TEX_PACKAGES,
    TexMissing,
    check_paper,
    latex_files,
    missing_tex,
)

TEX = r"""\documentclass[11pt]{article}
\usepackage[T1]{fontenc}
% \usepackage{commented}
\usepackage{amsmath,amssymb}  % two at once
\usepackage [round] {natbib}
\begin{document}\end{document}
\bibliographystyle{plainnat}
"""


def _script(path: Path, body: str) -> None:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def fake_tex(tmp_path: Path) -> Path:
    """A bin folder with latexmk, pdflatex, bibtex and a kpsewhich that knows every file but libertine.sty
    (acmart's font: texlive-fonts-extra, a package apart from the class's)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for program in ("latexmk", "pdflatex", "bibtex"):
        _script(bin_dir / program, "exit 0\n")
    _script(bin_dir / "kpsewhich", 'for f in "$@"; do [ "$f" = libertine.sty ] || echo "/texmf/$f"; done\n')
    return bin_dir


def test_latex_files_lists_class_packages_and_bibliography_style(tmp_path: Path) -> None:
    tex = tmp_path / "main.tex"
    tex.write_text(TEX)
    assert latex_files(tex) == ["article.cls", "fontenc.sty", "amsmath.sty", "amssymb.sty", "natbib.sty",
                                "plainnat.bst"]  # fmt: skip
    # The venue's class, then what it loads from other packages, for the paper and its supplement.
    for paper in ("main.tex", "supplement.tex"):
        files, needs = latex_files(ROOT / "paper" / paper), CLASS_NEEDS["acmart.cls"]
        assert files[: 1 + len(needs)] == ["acmart.cls", *needs], paper
        assert "ACM-Reference-Format.bst" in files, paper
    assert "longtable.sty" in latex_files(ROOT / "paper" / "supplement.tex")


def test_a_missing_package_is_named_with_the_install_command(fake_tex: Path) -> None:
    for tex in (ROOT / "paper" / "main.tex", ROOT / "paper" / "supplement.tex"):
        assert missing_tex(tex, path=str(fake_tex)) == ["LaTeX file libertine.sty"]
        with pytest.raises(TexMissing) as error:
            check_paper(tex, path=str(fake_tex))
        message = str(error.value)
        assert "\n" not in message
        assert "LaTeX file libertine.sty not found" in message and APT_COMMAND in message
        assert "paper: {compile: false}" in message
    assert {"texlive-publishers", "texlive-fonts-extra", "texlive-plain-generic"} <= set(TEX_PACKAGES)


def test_missing_programs_are_named_before_files(fake_tex: Path) -> None:
    (fake_tex / "latexmk").unlink()
    (fake_tex / "bibtex").unlink()
    missing = missing_tex(ROOT / "paper" / "main.tex", path=str(fake_tex))
    assert missing == ["program latexmk", "program bibtex"]


def test_readme_and_ci_install_the_packages_the_check_names() -> None:
    """One list of Debian packages: the check's command, README's Quick start and .ci/run agree."""
    readme = (ROOT / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    ci = (ROOT / ".ci" / "run").read_text()
    for package in TEX_PACKAGES:
        assert package in quick_start, package
        assert package in ci, package
    assert "--no-install-recommends" not in quick_start


def _without_tex(fake_tex: Path, *missing: str) -> dict[str, str]:
    """PATH with the fake TeX first, its kpsewhich also missing ``missing`` (the real TeX is hidden)."""
    if missing:
        body = f'for f in "$@"; do case "$f" in {"|".join(missing)}) ;; *) echo "/t/$f";; esac; done\n'
        _script(fake_tex / "kpsewhich", body)
    return {"PATH": f"{fake_tex}{os.pathsep}{os.environ['PATH']}"}


def test_the_workflow_stops_before_any_job_without_a_latex_package(
    tmp_path: Path, fake_tex: Path, shared_data_dir: str
) -> None:
    workdir = workflow_copy(tmp_path / "work")
    proc = run_snakemake(workdir, "-n", "--configfile", "config/smoke.yaml", data_dir=shared_data_dir,
                         **_without_tex(fake_tex))  # fmt: skip
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if line.startswith("recrepro: error:")]
    assert len(errors) == 1, proc.stderr[-2000:]
    assert "LaTeX file libertine.sty not found" in errors[0] and APT_COMMAND in errors[0]
    assert not (workdir / "results").exists()
    # A target that does not need the PDF is not held up by TeX.
    proc = run_snakemake(workdir, "-n", "results/summary.csv", "--configfile", "config/smoke.yaml",
                         data_dir=shared_data_dir, **_without_tex(fake_tex))  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_compile_false_plans_everything_but_the_pdf_without_tex(
    tmp_path: Path, fake_tex: Path, shared_data_dir: str
) -> None:
    workdir = workflow_copy(tmp_path / "work")
    config = yaml.safe_load((ROOT / "config" / "smoke.yaml").read_text())
    (workdir / "config" / "notex.yaml").write_text(yaml.safe_dump({**config, "paper": {"compile": False}}))
    proc = run_snakemake(
        workdir, "-n", "--configfile", "config/notex.yaml",
        data_dir=shared_data_dir, **_without_tex(fake_tex, "acmart.cls", "libertine.sty"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    plan = proc.stdout + proc.stderr
    for rule in ("make_tables", "make_figures", "make_numbers", "compute_stats"):
        assert rule in plan, rule
    assert "compile_paper" not in plan and "compile_supplement" not in plan
