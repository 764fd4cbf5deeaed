"""Can this machine compile the paper? latexmk, pdflatex and bibtex on PATH, and every LaTeX file
``paper/main.tex`` (or ``paper/supplement.tex``) loads (document class, packages, bibliography
style, and the files its class needs from other packages) found by ``kpsewhich``.

The workflow runs :func:`check_paper` before any job, so a missing TeX piece stops the study at
the start with one line, not after an hour of training.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from recrepro.core.errors import RecreproError

#: The one command that installs everything the paper and its tests need (Debian/Ubuntu).
#: README.md's Quick start and .ci/run list the same packages (tests/test_texcheck.py checks it).
TEX_PACKAGES = (
    "latexmk", "texlive-latex-recommended", "texlive-latex-extra", "texlive-fonts-recommended",
    "texlive-publishers", "texlive-fonts-extra", "texlive-plain-generic", "poppler-utils",
)  # fmt: skip
APT_COMMAND = "sudo apt-get install " + " ".join(TEX_PACKAGES)
WITHOUT_TEX = "or set paper: {compile: false} in the config to make everything but the PDFs"

_SUFFIX = {
    "documentclass": ".cls", "usepackage": ".sty", "RequirePackage": ".sty", "bibliographystyle": ".bst",
}  # fmt: skip
#: Files a document class loads that its own Debian package does not hold, so a machine with the
#: class but not them fails only mid-compile: acmart (texlive-publishers) sets its text in
#: Libertine, Inconsolata and newtx (texlive-fonts-extra) and reads binhex.tex
#: (texlive-plain-generic, only a Recommends of texlive-latex-extra).
CLASS_NEEDS = {"acmart.cls": ("libertine.sty", "zi4.sty", "newtxmath.sty", "binhex.tex")}
_LOADS = re.compile(r"\\(" + "|".join(_SUFFIX) + r")\s*(?:\[[^\]]*\])?\s*\{([^}]*)\}")


class TexMissing(RecreproError):
    """A program or LaTeX file the paper needs is not installed."""


def latex_files(tex: str | Path) -> list[str]:
    """Files ``tex`` loads directly, in order, each class followed by what it needs of other
    packages (:data:`CLASS_NEEDS`): ``acmart.cls``, ``libertine.sty``, ..., ``adjustbox.sty``..."""
    text = "\n".join(line.split("%", 1)[0] for line in Path(tex).read_text(encoding="utf-8").splitlines())
    files: list[str] = []
    for command, names in _LOADS.findall(text):
        for name in filter(None, (n.strip() for n in names.split(","))):
            loaded = name + _SUFFIX[command]
            files += [f for f in (loaded, *CLASS_NEEDS.get(loaded, ())) if f not in files]
    return files


def missing_tex(tex: str | Path, path: str | None = None) -> list[str]:
    """What is missing to compile ``tex`` (empty if nothing): programs first, then LaTeX files.

    ``path`` replaces the PATH used to find the programs (tests pass a fake one).
    """
    programs = ["latexmk", "pdflatex", "kpsewhich"]
    files = latex_files(tex)
    if any(name.endswith(".bst") for name in files):
        programs.append("bibtex")
    missing = [f"program {name}" for name in programs if shutil.which(name, path=path) is None]
    if missing:
        return missing
    kpsewhich = shutil.which("kpsewhich", path=path)
    found = subprocess.run([kpsewhich, *files], capture_output=True, text=True, check=False).stdout
    located = {Path(line.strip()).name for line in found.splitlines() if line.strip()}
    return [f"LaTeX file {name}" for name in files if name not in located]


def check_paper(tex: str | Path = "paper/main.tex", path: str | None = None) -> None:
    """Raise :class:`TexMissing` naming the missing pieces and the command that installs them."""
    missing = missing_tex(tex, path)
    if missing:
        raise TexMissing(
            f"cannot compile {tex}: {', '.join(missing)} not found; install TeX Live with "
            f"`{APT_COMMAND}`, {WITHOUT_TEX}"
        )
