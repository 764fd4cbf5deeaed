"""MovieLens 100K through TensorFlow Datasets, exactly as the TFRS tutorials load it.

The tutorials call ``tfds.load("movielens/100k-ratings", split="train")`` (and
``"movielens/100k-movies"``), then ``tf.random.set_seed(42)`` and
``shuffle(100_000, seed=42, reshuffle_each_iteration=False)``, and take the first 80,000
ratings as training data and the next 20,000 as test data. :func:`tutorial_split` does the same
and maps the records back to the project's tidy ``user, item, rating, timestamp`` rows, in the
tutorial's order, so every model can run on that split.

Offline, TFDS's own builder prepares both datasets from the verified local GroupLens folder,
without patching TFDS: the folder is placed in TFDS's download cache where TFDS would have
extracted its download (``<downloads>/extracted/ZIP.<name>/ml-100k/``, ``<name>`` from
``tensorflow_datasets.core.download.resource.get_dl_fname(url, sha256)``), beside a cache entry
of that name and its ``.INFO`` file written with TFDS's own ``write_info_file``. TFDS then finds
the archive "already downloaded and extracted" and parses the files itself. The cache entry is
an empty stand-in for the archive (TFDS never reads it once the extraction exists); the files
TFDS parses are the ones whose SHA-256 this project checked. With a cache that was not seeded
(:func:`tutorial_split` with ``seed_cache=False``), TFDS downloads the archive as usual.

TensorFlow and TFDS are imported inside the functions only (they cost seconds per process).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from recrepro.core.errors import DataError
from recrepro.data.movielens import DATASETS

log = logging.getLogger(__name__)

RATINGS = "movielens/100k-ratings"
MOVIES = "movielens/100k-movies"
SHUFFLE_SEED = 42
BUFFER_SIZE = 100_000
N_TRAIN = 80_000
N_TEST = 20_000


def seed_download_cache(folder: Path, download_dir: Path) -> Path:
    """Put the verified ``ml-100k`` ``folder`` where TFDS looks for its extracted download.

    Returns the extraction folder. Idempotent: an existing extraction is left as it is.
    """
    from tensorflow_datasets.core.download import checksums, resource

    spec = DATASETS["ml-100k"]
    name = resource.get_dl_fname(spec.url, spec.archive_sha256)
    download_dir = Path(download_dir)
    extracted = download_dir / "extracted" / f"ZIP.{name}"
    target = extracted / spec.archive_folder
    if not target.is_dir():
        tmp = extracted.with_name(extracted.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(folder, tmp / spec.archive_folder)
        tmp.replace(extracted)
    entry = download_dir / name
    if not resource.is_locally_cached(entry):
        entry.touch()
        size = sum(p.stat().st_size for p in Path(folder).iterdir() if p.is_file())
        info = checksums.UrlInfo(size=size, checksum=spec.archive_sha256, filename="ml-100k.zip")
        resource.write_info_file(spec.url, entry, "movielens", "ml-100k.zip", info)
    return extracted


def load_tfds(
    folder: Path | None, cache_dir: Path, seed_cache: bool = True
) -> tuple[object, object]:
    """``(ratings, movies)`` as ``tf.data.Dataset``s, built by TFDS under ``cache_dir``
    (``cache_dir/data`` for the prepared datasets, ``cache_dir/downloads`` for the download cache)."""
    import tensorflow_datasets as tfds

    cache_dir = Path(cache_dir)
    download_dir = cache_dir / "downloads"
    if seed_cache:
        if folder is None:
            raise DataError("the TFDS source needs the verified ml-100k folder to seed its cache")
        seed_download_cache(Path(folder), download_dir)
    out = []
    for name in (RATINGS, MOVIES):
        builder = tfds.builder(name, data_dir=str(cache_dir / "data"))
        builder.download_and_prepare(download_dir=str(download_dir))
        out.append(builder.as_dataset(split="train"))
    return out[0], out[1]


def records_frame(ratings: object) -> pd.DataFrame:
    """TFDS rating records (in dataset order) as tidy ``user, item, rating, timestamp`` rows."""
    rows = {"user": [], "item": [], "rating": [], "timestamp": []}
    for record in ratings.as_numpy_iterator():
        rows["user"].append(int(record["user_id"]))
        rows["item"].append(int(record["movie_id"]))
        rows["rating"].append(float(record["user_rating"]))
        rows["timestamp"].append(int(record["timestamp"]))
    return pd.DataFrame(
        {
            "user": np.asarray(rows["user"], np.int64),
            "item": np.asarray(rows["item"], np.int64),
            "rating": np.asarray(rows["rating"], np.float32),
            "timestamp": np.asarray(rows["timestamp"], np.int64),
        }
    )


def tutorial_split(
    folder: Path | None, cache_dir: Path, seed_cache: bool = True
) -> pd.DataFrame:
    """The TFRS tutorials' 80,000 / 20,000 split, in the tutorials' order.

    Returns tidy rows with ``part`` 0 (train, the first 80,000 shuffled ratings) or 2 (test, the
    next 20,000). The movies dataset is checked to list exactly the rated movies' catalogue.
    """
    import tensorflow as tf

    ratings, movies = load_tfds(folder, cache_dir, seed_cache)
    movie_ids = sorted(int(m["movie_id"]) for m in movies.as_numpy_iterator())
    tf.random.set_seed(SHUFFLE_SEED)
    shuffled = ratings.shuffle(BUFFER_SIZE, seed=SHUFFLE_SEED, reshuffle_each_iteration=False)
    train = records_frame(shuffled.take(N_TRAIN))
    test = records_frame(shuffled.skip(N_TRAIN).take(N_TEST))
    if len(train) != N_TRAIN or len(test) != N_TEST:
        raise DataError(
            f"{RATINGS} gave {len(train)} + {len(test)} ratings, expected {N_TRAIN} + {N_TEST}; "
            "delete the TFDS cache and rerun"
        )
    rated = set(train["item"]) | set(test["item"])
    if not rated <= set(movie_ids):
        raise DataError(f"{MOVIES} lacks rated movies; delete the TFDS cache and rerun")
    log.info("%s: %d movies, %d train / %d test ratings", MOVIES, len(movie_ids), N_TRAIN, N_TEST)
    return pd.concat(
        [train.assign(part=np.int8(0)), test.assign(part=np.int8(2))], ignore_index=True
    )
