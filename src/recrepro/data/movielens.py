"""MovieLens datasets: locate (local folder or GroupLens download), verify, parse to tidy tables.

Where the raw files come from, in order:

1. ``RECREPRO_DATA_DIR`` (environment) or ``data_dir`` (config): a folder holding ``ml-100k/``;
   nothing is downloaded, and a missing or corrupt file is an error.
2. Otherwise the project's download cache ``data/raw/<dataset>/``; if empty, the official
   GroupLens archive is downloaded, its SHA-256 checked, and unpacked there.

The GroupLens licence forbids redistribution, so the data is never committed; the parsed tables
live under ``results/data/<dataset>/`` as Parquet.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from recrepro.errors import DataError

DATA_DIR_ENV = "RECREPRO_DATA_DIR"
TABLES = ("ratings", "items", "users")


@dataclass(frozen=True)
class DatasetSpec:
    """How to fetch, verify and parse one GroupLens dataset."""

    name: str
    url: str
    archive_sha256: str
    archive_folder: str
    checksums: dict[str, str]
    parse: Callable[[Path], dict[str, pd.DataFrame]] = field(repr=False)
    citation: str = "Harper and Konstan (2015), ACM TiiS 5(4):19"


ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
    "Thriller", "War", "Western",
)  # fmt: skip


def parse_ml100k(folder: Path) -> dict[str, pd.DataFrame]:
    """Parse ``u.data``, ``u.item`` and ``u.user`` of MovieLens 100K into tidy frames."""
    ratings = pd.read_csv(
        folder / "u.data", sep="\t", names=["user", "item", "rating", "timestamp"],
        dtype={"user": "int64", "item": "int64", "rating": "float32", "timestamp": "int64"},
    )  # fmt: skip
    raw_items = pd.read_csv(
        folder / "u.item", sep="|", header=None, encoding="latin-1",
        names=["item_id", "title", "release_date", "video_release", "url", *ML100K_GENRES],
    )  # fmt: skip
    flags = raw_items[list(ML100K_GENRES)].to_numpy(bool)
    items = pd.DataFrame(
        {
            "item_id": raw_items["item_id"].astype("int64"),
            "title": raw_items["title"].astype(str),
            "year": pd.to_datetime(raw_items["release_date"], format="%d-%b-%Y", errors="coerce")
            .dt.year.astype("Int64"),
            "genres": ["|".join(g for g, f in zip(ML100K_GENRES, r, strict=True) if f)
                       for r in flags],
        }
    )
    users = pd.read_csv(
        folder / "u.user", sep="|", header=None,
        names=["user_id", "age", "gender", "occupation", "zip_code"], dtype={"zip_code": str},
    )  # fmt: skip
    return {"ratings": ratings, "items": items, "users": users}


DATASETS: dict[str, DatasetSpec] = {
    "ml-100k": DatasetSpec(
        name="ml-100k",
        url="https://files.grouplens.org/datasets/movielens/ml-100k.zip",
        archive_sha256="50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229",
        archive_folder="ml-100k",
        checksums={
            "u.data": "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490",
            "u.item": "553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701",
            "u.user": "f120e114da2e8cf314fd28f99417c94ae9ddf1cb6db8ce0e4b5995d40e90e62c",
        },
        parse=parse_ml100k,
    ),
}


def get_spec(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        raise DataError(f"unknown dataset '{name}'; known: {', '.join(DATASETS)}") from None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(spec: DatasetSpec, folder: Path) -> None:
    """Check every checksummed file of ``spec`` in ``folder``; a clear DataError otherwise."""
    for name, expected in spec.checksums.items():
        path = folder / name
        if not path.is_file():
            raise DataError(
                f"{spec.name}: {path} is missing; point {DATA_DIR_ENV} (or config data_dir) at a "
                f"folder holding an intact {spec.name}/, or unset it to download from GroupLens"
            )
        if sha256_of(path) != expected:
            raise DataError(
                f"{spec.name}: {path} is corrupt or truncated (SHA-256 mismatch); replace it with "
                f"the file from the official {spec.archive_folder}.zip"
            )


def locate(name: str, data_dir: str | os.PathLike | None, cache_dir: str | os.PathLike) -> Path:
    """The verified folder of raw files for dataset ``name`` (downloading it if allowed)."""
    spec = get_spec(name)
    data_dir = os.environ.get(DATA_DIR_ENV) or data_dir
    if data_dir:
        root = Path(data_dir)
        if not root.is_dir():
            raise DataError(
                f"data folder {root} does not exist; fix {DATA_DIR_ENV} or config data_dir"
            )
        folder = root / spec.archive_folder
        if not folder.is_dir() and (root / next(iter(spec.checksums))).is_file():
            folder = root  # the variable names the dataset folder itself
        verify(spec, folder)
        return folder
    folder = Path(cache_dir) / spec.archive_folder
    if not all((folder / f).is_file() for f in spec.checksums):
        download(spec, Path(cache_dir))
    verify(spec, folder)
    return folder


def download(spec: DatasetSpec, cache_dir: Path) -> None:
    """Download the official archive, check its SHA-256 and unpack it into ``cache_dir``."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
        archive = Path(tmp) / f"{spec.name}.zip"
        try:
            with urllib.request.urlopen(spec.url, timeout=60) as response:
                with open(archive, "wb") as out:
                    shutil.copyfileobj(response, out)
        except OSError as exc:
            raise DataError(
                f"{spec.name}: download from {spec.url} failed ({exc}); download it by hand and "
                f"set {DATA_DIR_ENV} to the folder that holds {spec.archive_folder}/"
            ) from None
        if sha256_of(archive) != spec.archive_sha256:
            raise DataError(f"{spec.name}: downloaded archive has the wrong SHA-256; try again")
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(tmp)
        target = cache_dir / spec.archive_folder
        shutil.rmtree(target, ignore_errors=True)
        os.replace(Path(tmp) / spec.archive_folder, target)


def load_tables(name: str, folder: Path) -> dict[str, pd.DataFrame]:
    """Parse the raw files and check their basic consistency."""
    spec = get_spec(name)
    try:
        tables = spec.parse(folder)
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{name}: cannot parse the files in {folder}: {exc}") from None
    ratings, items, users = (tables[t] for t in TABLES)
    known = ratings["item"].isin(items["item_id"]) & ratings["user"].isin(users["user_id"])
    if not known.all():
        raise DataError(f"{name}: ratings refer to unknown users or items in {folder}")
    return tables
