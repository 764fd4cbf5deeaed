"""Session-based (next-item) retrieval model of seed 001 (3).

Order of interactions: within a user, by ``(timestamp, MovieLens item id)``. MovieLens 100K has
many interactions of one user at the same second; among those, the one with the lower movie id
counts as earlier. This is a strict total order, so "before" is always well defined and an
interaction is never in its own history.
"""

from __future__ import annotations

import weakref
from typing import Any, ClassVar

import numpy as np

from recrepro.core.errors import ConfigError
from recrepro.data.interactions import Interactions
from recrepro.models.registry import register
from recrepro.models.tf.bases import RETRIEVAL_SPACE, IndexRetrieval


def _preceding(order: np.ndarray, ends: np.ndarray, counts: np.ndarray, length: int) -> np.ndarray:
    """Rows ``order[e - length .. e - 1]`` for each end ``e``, keeping only the last ``count``
    (same user); oldest first, left-padded with -1."""
    back = np.arange(length, 0, -1)
    positions = ends[:, None] - back[None, :]
    valid = back[None, :] <= np.minimum(counts, length)[:, None]
    return np.where(valid, order[np.clip(positions, 0, None)], -1)


def _group_starts(*keys: np.ndarray) -> np.ndarray:
    """Index of the first row of each row's run of equal ``keys`` (rows already sorted)."""
    first = np.ones(len(keys[0]), bool)
    for key in keys:
        first[1:] &= key[1:] == key[:-1]
    first = ~first
    first[0] = True
    return np.maximum.accumulate(np.where(first, np.arange(len(first)), 0))


def history_rows(
    user: np.ndarray,
    timestamp: np.ndarray,
    tiebreak: np.ndarray,
    max_length: int,
    same_time: bool = True,
) -> np.ndarray:
    """For each interaction ``i``, the rows of the (at most) ``max_length`` interactions of the
    same user that come strictly before it in ``(timestamp, tiebreak)`` order; with
    ``same_time=False`` only those with a strictly earlier timestamp (interactions at the same
    second are then treated as simultaneous and never see each other).

    Returns ``[n, max_length]`` row indices, oldest first, left-padded with -1. Row ``i``
    depends only on interactions of its user that precede it.
    """
    if len(user) == 0:
        return np.zeros((0, max_length), np.int64)
    order = np.lexsort((tiebreak, timestamp, user))
    user_start = _group_starts(user[order])
    end = np.arange(len(order)) if same_time else _group_starts(user[order], timestamp[order])
    out = np.empty((len(user), max_length), np.int64)
    out[order] = _preceding(order, end, end - user_start, max_length)
    return out


def last_rows(
    user: np.ndarray, timestamp: np.ndarray, tiebreak: np.ndarray, n_users: int, max_length: int
) -> np.ndarray:
    """``[n_users, max_length]`` rows of each user's last ``max_length`` interactions (oldest
    first, left-padded with -1; all -1 for users without interactions)."""
    counts = np.bincount(user, minlength=n_users)
    if len(user) == 0:
        return np.full((n_users, max_length), -1, np.int64)
    order = np.lexsort((tiebreak, timestamp, user))
    return _preceding(order, np.cumsum(counts), counts, max_length)


def rows_to_items(rows: np.ndarray, item: np.ndarray) -> np.ndarray:
    """History rows to model input: item index + 1, with 0 as padding (int32)."""
    return np.where(rows >= 0, item[np.clip(rows, 0, None)] + 1, 0).astype(np.int32)


def _tiebreak(train: Interactions) -> np.ndarray:
    """MovieLens movie id of each interaction: orders interactions at the same second."""
    return train.catalogue.items["item_id"].to_numpy()[train.item]


#: Per training part (weak keys: an entry goes with its data; Interactions are never modified),
#: the (training histories, last histories) of each (max_length, same_time).
_HISTORIES: weakref.WeakKeyDictionary[
    Interactions, dict[tuple[int, bool], tuple[np.ndarray, np.ndarray]]
] = weakref.WeakKeyDictionary()


def session_histories(
    train: Interactions, length: int, same_time: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The session model's inputs (:func:`rows_to_items`): ``[len(train), length]`` history of
    every training interaction (:func:`history_rows`) and ``[n_users, length]`` last training
    interactions of every user (:func:`last_rows`).

    They depend only on the data, so the trials of a search share them: computed once per
    (``train`` object, ``length``, ``same_time``) and returned read-only.
    """
    key = (int(length), bool(same_time))
    cached = _HISTORIES.setdefault(train, {})
    if key not in cached:
        tiebreak = _tiebreak(train)
        rows = history_rows(train.user, train.timestamp, tiebreak, length, same_time)
        last = last_rows(train.user, train.timestamp, tiebreak, train.n_users, length)
        arrays = rows_to_items(rows, train.item), rows_to_items(last, train.item)
        for array in arrays:
            array.setflags(write=False)
        cached[key] = arrays
    return cached[key]


@register("session")
class Session(IndexRetrieval):
    """Session-based retrieval model of seed 001 (3): the user is their recent movies.

    The query tower runs a GRU over the embeddings of the user's last ``max_length`` movies
    (oldest first) and, with ``user_embedding``, adds the user's id embedding. Training is
    next-item retrieval: every training interaction ``t`` is one example whose history is the
    user's training interactions strictly before ``t`` in ``(timestamp, movie id)`` order (the
    first interaction has an empty history) and whose target is the movie at ``t``; the TFRS
    retrieval task (in-batch softmax) scores it against the batch's movies. No example sees an
    interaction at or after its target. For ranking, the query is the user's last ``max_length``
    training interactions (everything the model was given) and brute-force search scores all
    movies. As in the TFRS sequential-retrieval tutorial, the history embedding is separate from
    the candidate movie tower. ``max_length: 0`` (an ablation for the reproduction's cause
    experiments) drops the history: the query is the user's id embedding alone.

    Faithful: user and movie embeddings, recent interactions of the user as the session, the
    retrieval task, brute-force search. Differs: the seed defines no session (MovieLens has none),
    no sequence encoder and no hyperparameter, so the session is the last 10 interactions encoded
    by a GRU (TFRS sequential tutorial), and training uses the TFRS tutorial values shared by the
    seed family (embedding 32, Adagrad lr 0.1, batch 8192, 3 epochs); movies keyed by id.
    """

    #: TensorFlow float32 kernels and their reduction order differ by CPU (oneDNN build)
    exact_across_cpus = False
    source = "Seed 001 (3); TFRS sequential retrieval tutorial (GRU over recent movies)"
    citation = r"""
@misc{tfrsSequential,
  author       = {{TensorFlow Recommenders Authors}},
  title        = {Recommending movies: retrieval using a sequential model},
  howpublished = {\url{https://www.tensorflow.org/recommenders/examples/sequential_retrieval}},
  year         = {2021},
  note         = {TensorFlow Recommenders tutorial}
}

@inproceedings{hidasi2016session,
  author    = {Hidasi, Bal{\'a}zs and Karatzoglou, Alexandros and Baltrunas, Linas and
               Tikk, Domonkos},
  title     = {Session-based Recommendations with Recurrent Neural Networks},
  booktitle = {4th International Conference on Learning Representations (ICLR)},
  year      = {2016}
}
"""
    colour, marker, hatch = "#9467BD", "D", ""
    #: Embeddings up to 64 and histories up to 10 movies (faithful: 32 and 10). An epoch at
    #: 128 x 20 costs 9.7 CPU-s against 1.0 at 32 x 10 (benchmarks/bench_search_trial.py); the
    #: wider space alone would take half of the study's CPU budget.
    search_space = {**RETRIEVAL_SPACE, "embedding_dim": [32, 64], "max_length": [5, 10]}
    defaults: ClassVar[dict[str, Any]] = {
        **IndexRetrieval.defaults,
        "max_length": 10,
        "user_embedding": True,
        "same_time": True,
    }

    def _tiebreak(self, train: Interactions) -> np.ndarray:
        """MovieLens movie id of each interaction: orders interactions at the same second."""
        return _tiebreak(train)

    def _history_length(self) -> int:
        """``max_length``; 0 (an ablation: the query is the user embedding alone) needs
        ``user_embedding``."""
        length = self.positive("max_length", minimum=0)
        if length == 0 and not self.params["user_embedding"]:
            raise ConfigError(
                f"model '{self.name}': max_length 0 leaves no query without user_embedding; "
                "set max_length >= 1 or user_embedding: true"
            )
        return length

    def train_features(self, train: Interactions) -> dict[str, np.ndarray]:
        length = self._history_length()
        if length == 0:
            return super().train_features(train)
        features = super().train_features(train)
        features["history"], self._last_items = session_histories(
            train, length, bool(self.params["same_time"])
        )
        return features

    def query_features(self, users: np.ndarray) -> dict[str, np.ndarray]:
        features = super().query_features(users)
        if self._history_length():
            features["history"] = self._last_items[np.asarray(users)]
        return features

    def build_query_tower(self, tf: Any, train: Interactions) -> Any:
        from recrepro.models.tf.towers import SessionTower

        n_users = train.n_users if self.params["user_embedding"] else None
        history = self._history_length() > 0
        return SessionTower(train.n_items, self.params["embedding_dim"], n_users, history)
