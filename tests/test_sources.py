"""Published splits: GroupLens' fold files and the TFRS tutorials' TFDS split, built offline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recrepro.core.errors import DataError
from recrepro.data.movielens import get_spec, locate, parse_ml100k
from recrepro.data.splits import source_frame, split_ratings

COLUMNS = ["user", "item", "rating", "timestamp"]


@pytest.fixture(scope="module")
def folder(shared_data_dir: str) -> Path:
    return locate("ml-100k", shared_data_dir, "data/raw")


@pytest.fixture(scope="module")
def u_data(folder: Path) -> pd.DataFrame:
    return parse_ml100k(folder)["ratings"]


def _rows(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[COLUMNS].sort_values(COLUMNS, ignore_index=True)


@pytest.mark.parametrize("fold", ["u1", "u2", "u3", "u4", "u5", "ua", "ub"])
def test_grouplens_folds_equal_the_files(folder: Path, u_data: pd.DataFrame, fold: str) -> None:
    source = source_frame(f"grouplens_{fold}", folder, Path("unused"))
    parts = split_ratings(u_data, f"grouplens_{fold}", 0.1, 0.1, np.random.default_rng(0),
                          source=source)  # fmt: skip
    for suffix, part in (("base", "train"), ("test", "test")):
        raw = pd.read_csv(folder / f"{fold}.{suffix}", sep="\t", names=COLUMNS)
        assert parts[part][COLUMNS].astype(raw.dtypes).equals(raw), (fold, part)  # file order too
    assert parts["valid"].empty
    # base + test is the whole of u.data
    pd.testing.assert_frame_equal(_rows(pd.concat([parts["train"], parts["test"]])), _rows(u_data))
    if fold == "ua":  # "exactly 10 ratings per user in the test set" (GroupLens README)
        assert (parts["test"].groupby("user").size() == 10).all()


def test_the_five_test_folds_partition_the_data(folder: Path, u_data: pd.DataFrame) -> None:
    tests = [source_frame(f"grouplens_u{i}", folder, Path("unused")).query("part == 2")
             for i in range(1, 6)]  # fmt: skip
    assert [len(t) for t in tests] == [20_000] * 5
    pd.testing.assert_frame_equal(_rows(pd.concat(tests)), _rows(u_data))


def test_a_corrupt_fold_file_stops_with_one_line(folder: Path, tmp_path: Path) -> None:
    for name in ("u1.base", "u1.test"):
        (tmp_path / name).write_bytes((folder / name).read_bytes())
    with open(tmp_path / "u1.test", "a") as handle:
        handle.write("1\t1\t5\t0\n")
    with pytest.raises(DataError, match=r"u1.test is missing or corrupt") as info:
        source_frame("grouplens_u1", tmp_path, tmp_path)
    assert "\n" not in str(info.value)
    assert "u1.base" in get_spec("ml-100k").checksums


@pytest.fixture(scope="module")
def tfds_builds(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> list[pd.DataFrame]:
    """Two independent offline TFDS builds of the tutorial split (about a minute each)."""
    return [
        source_frame("tfrs_tutorial", folder, tmp_path_factory.mktemp(f"tfds{i}")) for i in (0, 1)
    ]


def test_tfds_tutorial_split_offline(tfds_builds: list[pd.DataFrame], u_data: pd.DataFrame) -> None:
    first, second = tfds_builds
    assert (first["part"] == 0).sum() == 80_000 and (first["part"] == 2).sum() == 20_000
    assert first["part"].is_monotonic_increasing  # the first 80,000 shuffled records train
    pd.testing.assert_frame_equal(first, second)  # the same records in the same order
    # TFDS's parsed records are exactly GroupLens' u.data rows
    pd.testing.assert_frame_equal(_rows(first), _rows(u_data))
    # a shuffle, not the file order: the first 80,000 differ from u.data's first 80,000
    assert not _rows(first.head(80_000)).equals(_rows(u_data.head(80_000)))
