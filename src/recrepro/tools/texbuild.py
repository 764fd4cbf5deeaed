"""Compile the paper in a fresh folder, so stale or missing auxiliary files never break a build.

``python -m recrepro.tools.texbuild paper/main.tex paper/main.pdf --with figures`` copies the TeX
file's folder (without the job's own by-products: ``main.aux``, ``main.bbl``, ...) and, beside
it, the ``--with`` folders (the paper reads ``../figures/``) into a new temporary folder next to
the PDF, runs latexmk there with fixed dates (a reproducible PDF), moves the PDF onto the target
in one rename and removes the folder, also on failure. latexmk's output goes to ``--log``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from recrepro.core.errors import RecreproError

#: Files a LaTeX run writes beside its source (``<job>.<suffix>``); never copied into a build.
BYPRODUCTS = ("aux", "bbl", "blg", "fdb_latexmk", "fls", "log", "out", "pdf", "toc", "synctex.gz")
LATEXMK = ("latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error")


def _ignore_byproducts(stem: str, top: Path) -> Callable[[str, list[str]], set[str]]:
    """A copytree ``ignore``: the job's by-products in the top folder, and old build folders."""

    def ignore(folder: str, names: list[str]) -> set[str]:
        if Path(folder) != top:
            return set()
        return {n for n in names if n in {f"{stem}.{s}" for s in BYPRODUCTS} or n.startswith(".build")}

    return ignore


def build_pdf(
    tex: str | Path, pdf: str | Path, with_dirs: tuple[str, ...] = (), log: str | Path | None = None
) -> None:
    """Compile ``tex`` in a fresh copy of its folder (``with_dirs`` copied beside it) and move the
    PDF to ``pdf``; a one-line RecreproError if latexmk fails."""
    tex, pdf = Path(tex).resolve(), Path(pdf)
    pdf.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=pdf.parent, prefix=".build.") as tmp:
        root = Path(tmp)
        source = root / tex.parent.name
        shutil.copytree(tex.parent, source, ignore=_ignore_byproducts(tex.stem, tex.parent))
        for folder in map(Path, with_dirs):
            if folder.is_dir():
                shutil.copytree(folder, root / folder.resolve().name)
        env = {**os.environ, "SOURCE_DATE_EPOCH": "0", "FORCE_SOURCE_DATE": "1"}
        with open(log or os.devnull, "w", encoding="utf-8") as out:
            done = subprocess.run(
                [*LATEXMK, tex.name], cwd=source, env=env, stdout=out, stderr=subprocess.STDOUT, check=False
            )
        built = source / f"{tex.stem}.pdf"
        if done.returncode != 0 or not built.is_file():
            raise RecreproError(
                f"latexmk could not compile {tex} (exit status {done.returncode}); see "
                f"{log or 'its output'} for the first LaTeX error"
            )
        os.replace(built, pdf)


def main(argv: list[str] | None = None) -> int:
    summary = (__doc__ or "").splitlines()[0]
    parser = argparse.ArgumentParser(prog="python -m recrepro.tools.texbuild", description=summary)
    parser.add_argument("tex", help="the LaTeX file, e.g. paper/main.tex")
    parser.add_argument("pdf", help="where the PDF goes, e.g. paper/main.pdf")
    parser.add_argument("--with", dest="with_dirs", nargs="*", default=[], help="folders the paper reads")
    parser.add_argument("--log", help="latexmk's output")
    args = parser.parse_args(argv)
    try:
        build_pdf(args.tex, args.pdf, tuple(args.with_dirs), args.log)
    except RecreproError as exc:
        print(f"recrepro: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
