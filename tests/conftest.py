"""Shared fixtures: a small synthetic dataset split like the real study, a quality probe, and
copies of the workflow to run Snakemake in."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recrepro.data.interactions import Catalogue, Interactions
from recrepro.data.splits import split_ratings
from recrepro.data.synthetic import make_synthetic


@dataclass
class Split:
    train: Interactions
    valid: Interactions
    test: Interactions

    @property
    def catalogue(self) -> Catalogue:
        return self.train.catalogue


def make_split(seed: int = 0, **synthetic_kwargs) -> Split:
    tables = make_synthetic(seed=seed, **synthetic_kwargs)
    catalogue = Catalogue(users=tables["users"], items=tables["items"])
    parts = split_ratings(tables["ratings"], "random", 0.1, 0.1, np.random.default_rng(seed))
    return Split(*(Interactions.from_frame(parts[p], catalogue) for p in ("train", "valid", "test")))


@pytest.fixture(scope="session")
def synthetic_split() -> Split:
    """200 users x 150 items, 30 interactions each, split 80/10/10 at random per user."""
    return make_split()


def dense_interactions(dense: np.ndarray) -> Interactions:
    """Interactions with one rating per nonzero cell of a users x items matrix."""
    n_users, n_items = dense.shape
    users = pd.DataFrame({"user_id": np.arange(1, n_users + 1)})
    items = pd.DataFrame({
        "item_id": np.arange(1, n_items + 1), "title": [f"m{i}" for i in range(n_items)],
        "year": pd.array([2000] * n_items, dtype="Int64"), "genres": ["Drama"] * n_items,
    })  # fmt: skip
    u, i = np.nonzero(dense)
    return Interactions(u.astype(np.int32), i.astype(np.int32), np.full(len(u), 4.0, np.float32),
                        np.arange(len(u), dtype=np.int64), Catalogue(users, items))  # fmt: skip


def heldout_recall(model, split: Split, k: int = 10) -> float:
    """Mean recall@k on the test part, train and validation items masked (a simple probe)."""
    seen = split.train.concat(split.valid).matrix()
    test = split.test.matrix()
    users = np.unique(split.test.user)
    scores = np.asarray(model.score(users), dtype=np.float64)
    assert scores.shape == (len(users), split.train.n_items)
    scores[seen[users].toarray() > 0] = -np.inf
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    rel = test[users].toarray() > 0
    hits = np.take_along_axis(rel, top, axis=1).sum(axis=1)
    return float(np.mean(hits / rel.sum(axis=1)))


@pytest.fixture(scope="session")
def shared_data_dir() -> str:
    """Folder holding ``ml-100k/``: $RECREPRO_DATA_DIR, else ../shared/data beside the repo."""
    env = os.environ.get("RECREPRO_DATA_DIR")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.normpath(os.path.join(here, "..", "..", "shared", "data"))


# -- running the workflow in a scratch copy --------------------------------------------------
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def needs_tex() -> None:
    """For tests that compile the paper or read it with pdftotext: if TeX (or poppler-utils) is
    missing, say which piece and the command that installs it. In CI (CI=true), where .ci/run
    installs TeX, that is a failure; on a developer's machine the test is skipped with that reason.
    """
    from recrepro.tools.texcheck import APT_COMMAND, TexMissing, check_paper

    try:
        for tex in ("main.tex", "supplement.tex"):
            check_paper(ROOT / "paper" / tex)
        if shutil.which("pdftotext") is None:
            raise TexMissing(f"program pdftotext not found; install it with `{APT_COMMAND}`")
    except TexMissing as missing:
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(f"TeX is required in CI: {missing}", pytrace=False)
        pytest.skip(f"needs TeX: {missing}")
#: What a run needs of the repository; reported/reproduction.csv is the published reproduction
#: table the paper reads (made by `snakemake reproduce`, never by the study's own DAG).
COPY = ("Snakefile", "workflow", "config", "paper", "reported/reproduction.csv")


def workflow_copy(tmp: Path) -> Path:
    """A copy of the workflow files, so runs never touch the repository's own results/."""
    tmp.mkdir(parents=True, exist_ok=True)
    for name in COPY:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp / name, ignore=shutil.ignore_patterns("generated", "*.pdf"))
        elif source.exists():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, tmp / name)
    return tmp


def _env(**extra: str) -> dict[str, str]:
    """The test's environment with this interpreter's scripts (snakemake, recrepro) first on PATH."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return {**os.environ, "PATH": path, **extra}


def run_snakemake(workdir: Path, *args: str, data_dir: str, **env: str) -> subprocess.CompletedProcess:
    """``snakemake --cores 2 ARGS`` in ``workdir`` with the data at ``data_dir``."""
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2", *args],
        cwd=workdir, env=_env(RECREPRO_DATA_DIR=data_dir, **env), capture_output=True, text=True,
    )  # fmt: skip


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory, shared_data_dir: str, needs_tex: None) -> Path:
    """The smoke study (config/smoke.yaml) run locally once per session, through the paper."""
    workdir = workflow_copy(tmp_path_factory.mktemp("smoke"))
    proc = run_snakemake(workdir, "--configfile", "config/smoke.yaml", data_dir=shared_data_dir)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return workdir
