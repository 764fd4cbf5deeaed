"""The TFRS "Efficient serving" tutorial's evaluation of ScaNN, on the ``tfrs_tutorial`` split.

The tutorial (https://www.tensorflow.org/recommenders/examples/efficient_serving) trains the
basic retrieval tutorial's two-tower model (the study's ``two_tower``: 32-dimensional id
embeddings, Adagrad 0.1, 3 epochs on batches of 8192) on the TFDS seed-42 80,000 / 20,000 split,
then enlarges the candidate set 1,000-fold: beside the 1,682 movie embeddings, 1,000 copies of
each, every copy multiplied element-wise by ``Uniform(0, 1)`` noise (1,683,682 candidates; the
copies' titles are empty strings). It prints

* the top-100 accuracy of the 20,000 test ratings (``FactorizedTopK``, id-based: the rating's
  movie among the 100 retrieved) with brute-force search and with ScaNN over that set;
* the recall@10 of three ScaNN configurations against brute force over the 20,000 test queries
  (user embeddings): ``len(np.intersect1d(truth, approx)) / len(truth)`` per query, averaged, on
  titles, so all copies count as one title (here: one identifier, -1).

Its ScaNN configurations (TFRS's ``ScaNN`` layer: a k-means tree of ``num_leaves`` leaves
searched in ``num_leaves_to_search``, 12 training iterations, asymmetric hashing with 2
dimensions per block, then exact re-scoring of ``num_reordering_candidates``), as
:data:`SEARCHERS`: ``scann`` (the accuracy cell: 100 leaves, 30 searched, 500 re-scored),
``scann1`` (the recall cell's baseline: 100, 10, 1,000), ``scann2`` (1,000, 100, 1,000) and
``scann3`` (1,000, 70, 400).

Metrics, ``<algorithm>.<metric>``: ``factorized_top@100`` and ``recall@10`` (the tutorial's
recall, below 1 even for ``brute_force`` against itself when its top-10 holds several copies)
of ``brute_force`` and of each ScaNN searcher, plus ``recall@10_candidates`` (each copy its own
identifier: the usual ANN recall, 1 for brute force);
``two_tower.factorized_top@100`` over the 1,682 movies alone (the basic retrieval tutorial's
number, a check of the model); nulls: ``popularity.factorized_top@100`` (movies by training
count, the copies below them) and ``random_subset.recall@10`` (the exact top-10 of a random tenth
of the candidates: a search of 10 of 100 leaves drawn at random instead of learned). Queries are
computed once per distinct test user and weighted by the user's test ratings, which gives the
tutorial's mean over the 20,000 rows. Timings are logged, not returned (they depend on the CPU).
Not deterministic: ScaNN seeds its k-means tree training itself (not from the run's seed), so the
1,000-leaf searchers' recalls vary by about 0.002 between runs of one seed.

ScaNN is used through its NumPy API (``scann.scann_ops_pybind``), never its TensorFlow ops:
scann 1.4.2's TF op library is built against an older TensorFlow and does not load in this
project's TensorFlow 2.21 (undefined ``absl`` symbol), and ``scann/__init__`` then raises TF's
``NotFoundError``, which TFRS's ``try: from scann import scann_ops except ImportError`` does not
catch: with scann importable, ``import tensorflow_recommenders`` fails in every process.
:func:`import_scann` imports scann with TensorFlow hidden (scann then skips its TF ops), before
TFRS is imported, so this experiment works; scann must not be installed in the environment the
other runs use (see the function).
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

log = logging.getLogger(__name__)

DESCRIPTION = (
    "TFRS efficient-serving tutorial: two-tower model, candidates enlarged 1,000-fold by noisy "
    "copies; brute-force vs ScaNN top-100 accuracy and ScaNN recall@10 of three configurations"
)
COPIES = 1_000  # noisy copies of each movie embedding
TOP_K = 100  # FactorizedTopK's largest k
RECALL_K = 10  # the tutorial's recall@10
DUMMY_ID = -1  # the copies' identifier (the tutorial's empty title)
_USERS_PER_BLOCK = 16  # brute-force score rows computed at once ([16, 1.68M] float32: 108 MB)
_THRESHOLD_COLUMNS = 2048  # candidates whose k-th best score bounds the brute-force threshold


@dataclass(frozen=True)
class Searcher:
    """A ScaNN configuration of the tutorial (TFRS ``ScaNN`` layer arguments)."""

    num_leaves: int
    num_leaves_to_search: int
    num_reordering_candidates: int | None
    training_iterations: int = 12
    dimensions_per_block: int = 2


SEARCHERS = {
    "scann": Searcher(100, 30, 500),
    "scann1": Searcher(100, 10, 1000),
    "scann2": Searcher(1000, 100, 1000),
    "scann3": Searcher(1000, 70, 400),
}


def import_scann() -> ModuleType:
    """``scann.scann_ops_pybind`` (ScaNN's NumPy API), imported with TensorFlow hidden.

    ``scann/__init__`` imports TensorFlow and loads scann's TF op library unless importing
    TensorFlow raises ``ModuleNotFoundError``; the library (scann 1.4.2) does not load in
    TF 2.21, so TensorFlow is hidden (``sys.modules["tensorflow"] = None``) while scann is
    imported, whether or not TensorFlow is already imported, and restored after. Once scann is
    imported this way, TFRS's own ``from scann import scann_ops`` no longer fails in this process.
    Raises ImportError with the install hint if scann is missing.
    """
    if sys.modules.get("scann", None) is None:
        sys.modules.pop("scann", None)  # recrepro/__init__ hides scann from TFRS; lift it here
        saved = sys.modules.get("tensorflow")
        sys.modules["tensorflow"] = None  # type: ignore[assignment]
        try:
            import scann  # noqa: F401
        except ImportError as exc:
            raise ImportError(
                "the scann_serving experiment needs scann (pip install scann==1.4.2, in an "
                "environment whose other runs do not import tensorflow_recommenders; see "
                "recrepro.experiments.scann_serving)"
            ) from exc
        finally:
            if saved is None:
                del sys.modules["tensorflow"]
            else:
                sys.modules["tensorflow"] = saved
    from scann.scann_ops.py import scann_ops_pybind

    return scann_ops_pybind


def build_searcher(scann_ops_pybind: ModuleType, candidates: np.ndarray, config: Searcher, k: int):
    """A ScaNN searcher over ``candidates`` built as TFRS's ``ScaNN`` layer builds it."""
    builder = scann_ops_pybind.builder(candidates, k, "dot_product")
    builder = builder.tree(
        num_leaves=config.num_leaves,
        num_leaves_to_search=config.num_leaves_to_search,
        training_iterations=config.training_iterations,
    )
    builder = builder.score_ah(dimensions_per_block=config.dimensions_per_block)
    if config.num_reordering_candidates is not None:
        builder = builder.reorder(config.num_reordering_candidates)
    return builder.build()


def enlarged_candidates(movies: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The tutorial's candidate set: ``movies`` ``[N, d]`` then ``COPIES`` copies of them (in
    dataset order, copy after copy), each multiplied element-wise by ``Uniform(0, 1)`` noise;
    and the identifiers (movie index, :data:`DUMMY_ID` for the copies)."""
    n, d = movies.shape
    noisy = np.empty(((COPIES + 1) * n, d), np.float32)
    noisy[:n] = movies
    for c in range(COPIES):
        noisy[(c + 1) * n : (c + 2) * n] = movies * rng.random((n, d), dtype=np.float32)
    ids = np.concatenate([np.arange(n), np.full(COPIES * n, DUMMY_ID)])
    return noisy, ids


def brute_force_top_k(queries: np.ndarray, candidates: np.ndarray, k: int) -> np.ndarray:
    """Row indices of each query's ``k`` highest dot products, best first, ties to the lower
    index (as ``tf.math.top_k``): ``[Q, k]``.

    Exact, without sorting every score: the ``k``-th best score among the first
    :data:`_THRESHOLD_COLUMNS` candidates (the real movies come first) bounds the final ``k``-th
    best from below, so only the candidates scoring at least that much are sorted.
    """
    if k > len(candidates):
        raise ValueError(f"k={k} exceeds the {len(candidates)} candidates")
    out = np.empty((len(queries), k), np.int64)
    m = min(len(candidates), max(k, _THRESHOLD_COLUMNS))
    for lo in range(0, len(queries), _USERS_PER_BLOCK):
        scores = queries[lo : lo + _USERS_PER_BLOCK] @ candidates.T
        bound = np.partition(scores[:, :m], m - k, axis=1)[:, m - k]
        for row, (s, t) in enumerate(zip(scores, bound, strict=True)):
            kept = np.flatnonzero(s >= t)
            out[lo + row] = kept[np.argsort(-s[kept], kind="stable")[:k]]
    return out


def recall(truth: np.ndarray, approx: np.ndarray) -> np.ndarray:
    """The tutorial's recall per query: ``len(np.intersect1d(t, a)) / len(t)`` (``[Q]``)."""
    return np.array([len(np.intersect1d(t, a)) / len(t) for t, a in zip(truth, approx, strict=True)])


def accuracy(retrieved_ids: np.ndarray, users: np.ndarray, true_items: np.ndarray, k: int) -> float:
    """Id-based ``FactorizedTopK`` top-``k`` accuracy of test rows (``users[j]`` indexes the row
    of ``retrieved_ids`` of the row's user, ``true_items[j]`` its movie)."""
    hits = (retrieved_ids[users, :k] == true_items[:, None]).any(axis=1)
    return float(hits.mean())


def run(data_dir: Path, split_dir: Path | None, seed: int) -> dict[str, float]:
    """The tutorial's model, candidate set, brute-force and ScaNN evaluations for one seed."""
    scann_ops_pybind = import_scann()  # before TFRS is imported (see import_scann)
    from recrepro.data.loading import load_split
    from recrepro.models.registry import build_model

    split = load_split(data_dir, split_dir)
    fit_rng, noise_rng, subset_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    model = build_model("two_tower").fit(split.train, None, fit_rng)

    users, user_of_row = np.unique(split.test.user, return_inverse=True)
    weights = np.bincount(user_of_row).astype(np.float64)  # test rows per distinct user
    queries, movies = (np.ascontiguousarray(x, np.float32) for x in model.embeddings(users))
    candidates, ids = enlarged_candidates(movies, noise_rng)
    true_items = np.asarray(split.test.item)
    metrics: dict[str, float] = {}

    def weighted(per_user: np.ndarray) -> float:
        return float(np.average(per_user, weights=weights))

    own = brute_force_top_k(queries, movies, TOP_K)
    metrics["two_tower.factorized_top@100"] = accuracy(own, user_of_row, true_items, TOP_K)
    counts = np.bincount(split.train.item, minlength=split.train.n_items)
    popular = np.argsort(-counts, kind="stable")[:TOP_K]
    metrics["popularity.factorized_top@100"] = float(np.isin(true_items, popular).mean())

    t0 = time.process_time()
    exact = brute_force_top_k(queries, candidates, TOP_K)
    log.info("brute force: %d queries x %d candidates in %.1f CPU-s", len(queries), len(candidates),
             time.process_time() - t0)  # fmt: skip
    truth_ids, truth_rows = ids[exact[:, :RECALL_K]], exact[:, :RECALL_K]
    metrics["brute_force.factorized_top@100"] = accuracy(ids[exact], user_of_row, true_items, TOP_K)
    metrics["brute_force.recall@10"] = weighted(recall(truth_ids, truth_ids))
    metrics["brute_force.recall@10_candidates"] = weighted(recall(truth_rows, truth_rows))

    subset = np.flatnonzero(subset_rng.random(len(candidates)) < 0.1)
    sub_top = subset[brute_force_top_k(queries, candidates[subset], RECALL_K)]
    metrics["random_subset.recall@10"] = weighted(recall(truth_ids, ids[sub_top]))
    metrics["random_subset.recall@10_candidates"] = weighted(recall(truth_rows, sub_top))

    for name, config in SEARCHERS.items():
        t0 = time.process_time()
        searcher = build_searcher(scann_ops_pybind, candidates, config, TOP_K)
        built = time.process_time() - t0
        found, _ = searcher.search_batched(queries, final_num_neighbors=TOP_K)
        found = np.asarray(found, np.int64)
        log.info("%s %s: built in %.1f CPU-s, %d queries in %.2f CPU-s", name, config, built,
                 len(queries), time.process_time() - t0 - built)  # fmt: skip
        metrics[f"{name}.factorized_top@100"] = accuracy(ids[found], user_of_row, true_items, TOP_K)
        top10, _ = searcher.search_batched(queries, final_num_neighbors=RECALL_K)
        top10 = np.asarray(top10, np.int64)
        metrics[f"{name}.recall@10"] = weighted(recall(truth_ids, ids[top10]))
        metrics[f"{name}.recall@10_candidates"] = weighted(recall(truth_rows, top10))
    return metrics


def scann_serving(data_dir: Path, split_dir: Path | None, seed: int) -> dict[str, float]:
    """The experiment under the name the registry asks for (same as :func:`run`)."""
    return run(data_dir, split_dir, seed)
