"""In-memory containers handed to models: a catalogue and a set of interactions.

Users and items are contiguous integer indices (0..n-1) into the :class:`Catalogue`, which keeps
the original MovieLens ids and metadata. The catalogue holds every item of the dataset, so top-K
evaluation ranks the full catalogue, not only items seen in training.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sp


@dataclass(frozen=True, eq=False)
class Catalogue:
    """Users and items of a dataset; row ``i`` of ``items`` describes item index ``i``.

    ``items`` columns: ``item_id`` (MovieLens id), ``title``, ``year`` (release year, may be NA),
    ``genres`` (``|``-joined names). ``users`` columns: ``user_id`` and whatever demographics the
    dataset has. Titles are not unique in MovieLens 100K, so items are always keyed by id.
    """

    users: pd.DataFrame
    items: pd.DataFrame

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_items(self) -> int:
        return len(self.items)

    @cached_property
    def user_index(self) -> dict[int, int]:
        """MovieLens user id -> user index."""
        return {int(u): i for i, u in enumerate(self.users["user_id"].to_numpy())}

    @cached_property
    def item_index(self) -> dict[int, int]:
        """MovieLens item id -> item index."""
        return {int(m): i for i, m in enumerate(self.items["item_id"].to_numpy())}

    @cached_property
    def genre_matrix(self) -> np.ndarray:
        """Binary item x genre matrix (float32), genres in sorted order."""
        genres = self.items["genres"].fillna("").str.get_dummies(sep="|")
        return genres.reindex(sorted(genres.columns), axis=1).to_numpy(np.float32)


@dataclass(frozen=True, eq=False)
class Interactions:
    """User-item interactions as parallel arrays of indices into ``catalogue``."""

    user: np.ndarray
    item: np.ndarray
    rating: np.ndarray
    timestamp: np.ndarray
    catalogue: Catalogue = field(repr=False)

    def __post_init__(self) -> None:
        n = len(self.user)
        if not (len(self.item) == len(self.rating) == len(self.timestamp) == n):
            raise ValueError("interaction arrays differ in length")

    def __len__(self) -> int:
        return len(self.user)

    @property
    def n_users(self) -> int:
        return self.catalogue.n_users

    @property
    def n_items(self) -> int:
        return self.catalogue.n_items

    def matrix(self, values: str = "binary") -> sp.csr_matrix:
        """Users x items CSR matrix of ``binary`` ones or ``rating`` values (duplicates summed)."""
        data = np.ones(len(self), np.float32) if values == "binary" else self.rating.astype(np.float32)
        m = sp.csr_matrix((data, (self.user, self.item)), shape=(self.n_users, self.n_items))
        m.sum_duplicates()
        if values == "binary":
            m.data[:] = 1.0
        return m

    def item_counts(self) -> np.ndarray:
        """Number of interactions per item (length ``n_items``)."""
        return np.bincount(self.item, minlength=self.n_items)

    def users_present(self) -> np.ndarray:
        """Sorted unique user indices that have at least one interaction."""
        return np.unique(self.user)

    def subset(self, mask: np.ndarray) -> Interactions:
        """The interactions selected by a boolean mask."""
        return Interactions(
            self.user[mask], self.item[mask], self.rating[mask], self.timestamp[mask], self.catalogue
        )

    def concat(self, other: Interactions) -> Interactions:
        """These interactions followed by ``other`` (same catalogue)."""
        return Interactions(
            np.concatenate([self.user, other.user]),
            np.concatenate([self.item, other.item]),
            np.concatenate([self.rating, other.rating]),
            np.concatenate([self.timestamp, other.timestamp]),
            self.catalogue,
        )

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, catalogue: Catalogue) -> Interactions:
        """Build from a frame with MovieLens ids (``user``, ``item``, ``rating``, ``timestamp``)."""
        users = frame["user"].map(catalogue.user_index)
        items = frame["item"].map(catalogue.item_index)
        if users.isna().any() or items.isna().any():
            raise ValueError("interactions refer to users or items missing from the catalogue")
        return cls(
            users.to_numpy(np.int32),
            items.to_numpy(np.int32),
            frame["rating"].to_numpy(np.float32),
            frame["timestamp"].to_numpy(np.int64),
            catalogue,
        )

    def to_frame(self) -> pd.DataFrame:
        """Back to MovieLens ids (``user``, ``item``, ``rating``, ``timestamp``)."""
        return pd.DataFrame(
            {
                "user": self.catalogue.users["user_id"].to_numpy()[self.user],
                "item": self.catalogue.items["item_id"].to_numpy()[self.item],
                "rating": self.rating,
                "timestamp": self.timestamp,
            }
        )
