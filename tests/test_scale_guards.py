"""Scale: evaluation scores users in batches, EASE refuses catalogues it cannot hold, item kNN
keeps a sparse top-k model."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recrepro.core.errors import ConfigError, ModelNotApplicable
from recrepro.evaluation.evaluate import evaluate
from recrepro.models import _sparse, build_model
from recrepro.models.base import Recommender
from recrepro.models.ease import ease_memory_bytes, ease_weights


class Spy(Recommender):
    """Delegates to a fitted model and records the batch sizes ``score`` is called with."""

    name = "spy"

    def __init__(self, inner: Recommender) -> None:
        super().__init__()
        self.inner, self.calls = inner, []

    def fit(self, train, valid, rng):
        return self

    def score(self, users: np.ndarray) -> np.ndarray:
        self.calls.append(len(users))
        return self.inner.score(users)


def test_evaluation_scores_users_in_batches(synthetic_split) -> None:
    model = build_model("itemknn").fit(synthetic_split.train, None, np.random.default_rng(0))
    small, large = Spy(model), Spy(model)
    args = (synthetic_split.train, synthetic_split.test)
    batched = evaluate(small, *args, ks=[5, 10], batch_size=16)
    whole = evaluate(large, *args, ks=[5, 10], batch_size=10_000)
    assert max(small.calls) <= 16 and len(small.calls) > 1
    assert sum(small.calls) == batched.n_users_evaluated <= synthetic_split.train.n_users
    assert batched.metrics == pytest.approx(whole.metrics)  # batching changes nothing


def test_ease_refuses_a_catalogue_above_max_items(synthetic_split) -> None:
    model = build_model("ease", {"max_items": 100})
    with pytest.raises(ModelNotApplicable) as err:
        model.fit(synthetic_split.train, None, np.random.default_rng(0))
    message = str(err.value)
    assert "catalogue has 150 items, more than max_items=100" in message
    assert "0.0 GiB" in message and "raise max_items" in message and "\n" not in message
    assert isinstance(err.value, ConfigError)  # existing handlers still stop cleanly


def test_ease_default_limit_and_memory_estimate() -> None:
    assert build_model("ease").params["max_items"] == 30_000
    assert ease_memory_bytes(30_000) / 2**30 == pytest.approx(10.06, abs=0.01)
    with pytest.raises(ModelNotApplicable, match=r"62423 items.*about 43\.5 GiB"):
        build_model("ease").item_weights(sp.csr_matrix((5, 62_423), dtype=np.float32))


@pytest.mark.parametrize("block_bytes", [64 * 2**20, 8 * 50 * 7])  # one block; blocks of 7 columns
def test_blockwise_ease_matches_the_closed_form(block_bytes, monkeypatch) -> None:
    rng = np.random.default_rng(0)
    x = (rng.random((40, 50)) < 0.2).astype(np.float32)
    monkeypatch.setattr(_sparse, "BLOCK_BYTES", block_bytes)
    weights = ease_weights(sp.csr_matrix(x), l2=3.0)
    p = np.linalg.inv(x.T.astype(np.float64) @ x + 3.0 * np.eye(50))
    expected = -p / np.diag(p)[None, :]
    np.fill_diagonal(expected, 0.0)
    assert weights.dtype == np.float32 and weights.flags.c_contiguous
    np.testing.assert_allclose(weights, expected, rtol=1e-5, atol=1e-7)


def test_itemknn_keeps_a_sparse_top_k_model(synthetic_split) -> None:
    model = build_model("itemknn", {"neighbors": 5})
    model.fit(synthetic_split.train, None, np.random.default_rng(0))
    assert sp.issparse(model.weights_)
    assert np.diff(model.weights_.tocsr().indptr).max() <= 5


def test_partition_top_k_per_row_orders_like_a_stable_sort() -> None:
    rng = np.random.default_rng(1)
    for _ in range(200):
        block = rng.integers(-2, 4, (int(rng.integers(1, 20)), int(rng.integers(1, 40)))) / 2.0
        k = int(rng.integers(1, 50))
        rows, cols, values = _sparse.top_k_per_row(block, k)
        order = np.argsort(-block, axis=1, kind="stable")[:, :k]  # ties: lower column first
        top = np.take_along_axis(block, order, axis=1)
        keep = top > 0
        np.testing.assert_array_equal(cols, order[keep])
        np.testing.assert_array_equal(values, top[keep])
        np.testing.assert_array_equal(rows, np.nonzero(keep)[0])


def test_biased_mf_solves_users_in_blocks_with_the_same_result(synthetic_split, monkeypatch) -> None:
    whole = build_model("biased_mf", {"factors": 4, "epochs": 2})
    whole.fit(synthetic_split.train, None, np.random.default_rng(5))
    monkeypatch.setattr(_sparse, "BLOCK_BYTES", 8 * 5 * 6 * 7)  # 7 rows of (k+1)(k+2) per block
    blocked = build_model("biased_mf", {"factors": 4, "epochs": 2})
    blocked.fit(synthetic_split.train, None, np.random.default_rng(5))
    users = np.arange(synthetic_split.train.n_users)
    np.testing.assert_array_equal(blocked.score(users), whole.score(users))


def test_multitask_item_similarities_are_computed_in_blocks(monkeypatch) -> None:
    """Blocked top-k of cosine similarities equals a stable sort of the full matrix."""
    from recrepro.models.multitask import Multitask

    rng = np.random.default_rng(2)
    embeddings = rng.normal(size=(23, 4)).astype(np.float32)
    embeddings[5] = embeddings[3] * 2.0  # a tie in cosine: lower index first
    model = Multitask()
    model.n_items = 23
    model._item_ids = np.arange(101, 124)
    monkeypatch.setattr(model, "item_embeddings", lambda: embeddings, raising=False)
    unit = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    full = unit.astype(np.float64) @ unit.T.astype(np.float64)
    np.fill_diagonal(full, -np.inf)
    expected = np.argsort(-full, axis=1, kind="stable")[:, :4]
    monkeypatch.setattr(_sparse, "BLOCK_BYTES", 8 * 23 * 5)  # blocks of 5 movies
    frame = model.item_similarities(k=4)
    np.testing.assert_array_equal(frame["similar_item"].to_numpy().reshape(23, 4), expected + 101)
    np.testing.assert_allclose(
        frame["similarity"].to_numpy().reshape(23, 4), np.take_along_axis(full, expected, 1), rtol=1e-6
    )
    assert frame["item"].tolist() == np.repeat(np.arange(101, 124), 4).tolist()
