"""ML-1M, ML-10M, ML-20M and ML-25M: tiny fixture folders in each GroupLens format."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from recrepro.core.errors import DataError
from recrepro.core.io import write_parquet
from recrepro.data.interactions import Catalogue, Interactions
from recrepro.data.movielens import DATA_DIR_ENV, DATASETS, TABLES, load_tables, locate
from recrepro.study.runner import load_catalogue

ML1M = {
    "ratings.dat": "1::10::5::978300760\n1::20::3::978302109\n2::10::4::978301968\n2::30::1::978300275\n",
    # latin-1 "é" (0xe9), a title without a year, a title with "::"-free colons
    "movies.dat": (
        "10::Toy Story (1995)::Animation|Children's|Comedy\n"
        "20::Cit\xe9 des enfants perdus, La (1995)::Adventure|Sci-Fi\n"
        "30::Star Wars: Untitled::Drama\n"
    ).encode("latin-1"),
    "users.dat": "1::F::1::10::48067\n2::M::56::16::70072\n",
}
ML10M = {
    "ratings.dat": "1::122::5::838985046\n1::185::4.5::838983525\n7::122::0.5::838983392\n",
    "movies.dat": "122::Boomerang (1992)::Comedy|Romance\n185::Net, The (1995)::Action|Crime|Thriller\n",
}
CSV = {
    "ratings.csv": (
        "userId,movieId,rating,timestamp\n1,1,3.5,1112486027\n1,2,4.0,1112484676\n"
        "3,3,0.5,1112484819\n3,4,5.0,1112484820\n"
    ),
    "movies.csv": (
        "movieId,title,genres\n"
        "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n"
        '2,"American President, The (1995)",Comedy|Drama|Romance\n'
        '3,"""Great Performances"" Cats (1998)",Musical\n'
        "4,Hyena Road,(no genres listed)\n"
    ),
}
FOLDERS = {"ml-1m": ("ml-1m", ML1M), "ml-10m": ("ml-10M100K", ML10M), "ml-20m": ("ml-20m", CSV),
           "ml-25m": ("ml-25m", CSV)}  # fmt: skip


def write_fixture(root: Path, dataset: str, **overrides: str | bytes | None) -> Path:
    """The fixture folder of ``dataset`` under ``root``; ``overrides`` replace (None: delete)
    files, e.g. ``write_fixture(root, "ml-20m", **{"ratings.csv": "..."})``."""
    folder_name, files = FOLDERS[dataset]
    folder = root / folder_name
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in {**files, **overrides}.items():
        if content is None:
            continue
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        (folder / name).write_bytes(data)
    return folder


def load(root: Path, dataset: str, monkeypatch) -> dict[str, pd.DataFrame]:
    monkeypatch.setenv(DATA_DIR_ENV, str(root))
    return load_tables(dataset, locate(dataset, None, root / "cache-unused"))


@pytest.mark.parametrize("dataset", list(FOLDERS))
def test_tidy_tables_have_ml100k_columns(dataset, tmp_path, monkeypatch) -> None:
    write_fixture(tmp_path, dataset)
    tables = load(tmp_path, dataset, monkeypatch)
    assert list(tables["ratings"].columns) == ["user", "item", "rating", "timestamp"]
    assert tables["ratings"].dtypes.astype(str).tolist() == ["int64", "int64", "float32", "int64"]
    assert list(tables["items"].columns) == ["item_id", "title", "year", "genres"]
    assert str(tables["items"]["year"].dtype) == "Int64"
    assert list(tables["users"].columns) == ["user_id", "age", "gender", "occupation", "zip_code"]
    assert sorted(tables["users"]["user_id"]) == sorted(tables["ratings"]["user"].unique())


def test_ml1m_latin1_titles_years_and_demographics(tmp_path, monkeypatch) -> None:
    write_fixture(tmp_path, "ml-1m")
    tables = load(tmp_path, "ml-1m", monkeypatch)
    items = tables["items"].set_index("item_id")
    assert items.loc[20, "title"] == "Cité des enfants perdus, La (1995)"
    assert items.loc[10, "year"] == 1995 and pd.isna(items.loc[30, "year"])
    assert items.loc[10, "genres"] == "Animation|Children's|Comedy"
    assert items.loc[30, "title"] == "Star Wars: Untitled"  # a colon inside a "::" file
    users = tables["users"].set_index("user_id")
    assert users.loc[1].tolist() == [1, "F", "K-12 student", "48067"]
    assert users.loc[2].tolist() == [56, "M", "self-employed", "70072"]


def test_ml10m_half_stars_and_users_without_demographics(tmp_path, monkeypatch) -> None:
    write_fixture(tmp_path, "ml-10m")
    tables = load(tmp_path, "ml-10m", monkeypatch)
    assert tables["ratings"]["rating"].tolist() == [5.0, 4.5, 0.5]
    users = tables["users"]
    assert users["user_id"].tolist() == [1, 7]
    assert users.drop(columns="user_id").isna().all().all()


@pytest.mark.parametrize("dataset", ["ml-20m", "ml-25m"])
def test_csv_quoted_titles_and_missing_years(dataset, tmp_path, monkeypatch) -> None:
    write_fixture(tmp_path, dataset)
    items = load(tmp_path, dataset, monkeypatch)["items"].set_index("item_id")
    assert items.loc[2, "title"] == "American President, The (1995)"
    assert items.loc[3, "title"] == '"Great Performances" Cats (1998)' and items.loc[3, "year"] == 1998
    assert pd.isna(items.loc[4, "year"]) and items.loc[4, "genres"] == "(no genres listed)"


def test_parsed_tables_feed_the_catalogue_through_parquet(tmp_path, monkeypatch) -> None:
    write_fixture(tmp_path, "ml-20m")
    tables = load(tmp_path, "ml-20m", monkeypatch)
    for name in TABLES:
        write_parquet(tmp_path / "parsed" / f"{name}.parquet", tables[name])
    catalogue = load_catalogue(tmp_path / "parsed")
    assert isinstance(catalogue, Catalogue) and (catalogue.n_users, catalogue.n_items) == (2, 4)
    assert catalogue.genre_matrix.shape[0] == 4
    train = Interactions.from_frame(tables["ratings"], catalogue)
    assert train.matrix().sum() == 4


def test_folder_named_after_the_dataset_is_found(tmp_path, monkeypatch) -> None:
    folder = write_fixture(tmp_path, "ml-10m")
    folder.rename(tmp_path / "ml-10m")
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    assert locate("ml-10m", None, "unused") == tmp_path / "ml-10m"
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "ml-10m"))  # or the folder itself
    assert locate("ml-10m", None, "unused") == tmp_path / "ml-10m"


@pytest.mark.parametrize(
    ("dataset", "file"),
    [("ml-1m", "users.dat"), ("ml-10m", "movies.dat"), ("ml-20m", "ratings.csv"), ("ml-25m", "movies.csv")],
)
def test_missing_required_file_is_a_one_line_error(dataset, file, tmp_path, monkeypatch) -> None:
    write_fixture(tmp_path, dataset, **{file: None})
    pattern = rf"{dataset}: .*{re.escape(file)} is missing; .*checked structurally"
    with pytest.raises(DataError, match=pattern) as err:
        load(tmp_path, dataset, monkeypatch)
    assert "\n" not in str(err.value)


CORRUPT = [
    ("ml-20m", "ratings.csv", "userId,movieId,rating,timestamp\n1,1,abc,1112486027\n",
     r"ratings.csv line 2: rating 'abc' is not a number"),
    ("ml-25m", "ratings.csv", "userId,movieId,rating,timestamp\n1,1,3.5\n",
     r"ratings.csv line 2: timestamp is missing"),
    ("ml-25m", "ratings.csv", "userId,movieId,rating,timestamp\n1,1,3.5,5,6\n",
     r"ratings.csv: line 2 has more than 4 fields"),
    ("ml-20m", "ratings.csv", "user,movie,rating,time\n1,1,3.5,5\n",
     r"ratings.csv: header is 'user,movie,rating,time', expected 'userId,movieId,rating,timestamp'"),
    ("ml-20m", "ratings.csv", "userId,movieId,rating,timestamp\n1,1,3.5,5\n1,2,7,5\n",
     r"ratings.csv line 3: rating 7 is not in 0.5-5 in half steps"),
    ("ml-20m", "ratings.csv", "userId,movieId,rating,timestamp\n", r"ratings.csv has no data rows"),
    ("ml-20m", "movies.csv", 'movieId,title,genres\n1,"unclosed,Drama\n', r"movies.csv: EOF inside string"),
    ("ml-1m", "ratings.dat", "1::10::5::978300760\n1::20::x::978302109\n",
     r"ratings.dat line 2: rating 'x' is not a number"),
    ("ml-1m", "ratings.dat", "1::10::5::978300760\n1::20::3::978302109::9\n",
     r"ratings.dat: Expected 4 fields in line 2, saw 5"),
    ("ml-1m", "users.dat", "1::F::1::10::48067\n2::M::57::16::70072\n",
     r"users.dat line 2: unknown age code '57'"),
    ("ml-10m", "ratings.dat", "1.5::122::5::838985046\n",
     r"ratings.dat line 1: user '1.5' is not an integer"),
    ("ml-10m", "movies.dat", "122::A (1992)::Comedy\n122::B (1992)::Drama\n185::C::Drama\n",
     r"movies.dat line 2: item_id 122 appears twice"),
]  # fmt: skip


@pytest.mark.parametrize(("dataset", "file", "content", "message"), CORRUPT)
def test_corrupt_content_is_a_one_line_error(dataset, file, content, message, tmp_path, monkeypatch) -> None:
    write_fixture(tmp_path, dataset, **{file: content})
    pattern = rf"^{dataset}: cannot parse .*{message}.*official {dataset}\.zip"
    with pytest.raises(DataError, match=pattern) as err:
        load(tmp_path, dataset, monkeypatch)
    assert "\n" not in str(err.value)


def test_ratings_of_unknown_movies_are_an_error(tmp_path, monkeypatch) -> None:
    write_fixture(tmp_path, "ml-20m", **{"ratings.csv": "userId,movieId,rating,timestamp\n1,99,3,5\n"})
    with pytest.raises(DataError, match=r"unknown users or items .*ratings.csv line 2: user 1, movie 99"):
        load(tmp_path, "ml-20m", monkeypatch)


def test_empty_file_is_an_error(tmp_path, monkeypatch) -> None:
    write_fixture(tmp_path, "ml-25m", **{"movies.csv": ""})
    with pytest.raises(DataError, match=r"movies.csv is empty; .*official ml-25m.zip"):
        load(tmp_path, "ml-25m", monkeypatch)


def test_specs_carry_published_archive_checksums() -> None:
    for name in ("ml-100k", "ml-1m", "ml-10m", "ml-20m", "ml-25m"):
        spec = DATASETS[name]
        assert re.fullmatch(r"[0-9a-f]{64}", spec.archive_sha256), name
        assert spec.url == f"https://files.grouplens.org/datasets/movielens/{name}.zip"
    assert DATASETS["ml-100k"].checksums and not DATASETS["ml-20m"].checksums
    assert len({DATASETS[n].archive_sha256 for n in ("ml-100k", "ml-1m", "ml-10m", "ml-20m", "ml-25m")}) == 5


def test_ml100k_strict_checksums_still_apply(tmp_path, shared_data_dir, monkeypatch) -> None:
    folder = tmp_path / "ml-100k"
    shutil.copytree(Path(shared_data_dir) / "ml-100k", folder)
    with open(folder / "u.user", "a") as handle:
        handle.write("944|30|M|other|00000\n")  # well-formed but not the official file
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    with pytest.raises(DataError, match=r"u\.user is corrupt or truncated \(SHA-256 mismatch\)"):
        locate("ml-100k", tmp_path, "unused")
