"""A parsed dataset's catalogue and a split's parts, read back as :class:`Interactions` (files at
:mod:`recrepro.core.layout`'s places). Read by the runner, the searches and the reproduction
experiments alike, so none of them reaches into another."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from recrepro.core.layout import PARTS, part_file, table_file
from recrepro.data.interactions import Catalogue, Interactions


@dataclass(frozen=True)
class SplitData:
    train: Interactions
    valid: Interactions
    test: Interactions | None = None  # not loaded for model selection

    @property
    def catalogue(self) -> Catalogue:
        return self.train.catalogue


def load_catalogue(data_dir: str | Path) -> Catalogue:
    data_dir = Path(data_dir)
    users = pd.read_parquet(table_file(data_dir, "users")).sort_values("user_id", ignore_index=True)
    items = pd.read_parquet(table_file(data_dir, "items")).sort_values("item_id", ignore_index=True)
    return Catalogue(users=users, items=items)


def load_split(
    data_dir: str | Path, split_dir: str | Path, parts: tuple[str, ...] = PARTS
) -> SplitData:
    """The ``parts`` of a split as :class:`Interactions` over the dataset's full catalogue
    (model selection asks for train and valid only, so it cannot touch the test part)."""
    catalogue = load_catalogue(data_dir)
    parts = {
        p: Interactions.from_frame(pd.read_parquet(part_file(split_dir, p)), catalogue)
        for p in parts
    }
    return SplitData(**parts)
