"""Metric functions: hand-computed cases, tie-breaking, and a cross-check against ranx."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from recrepro.evaluation import metrics as M

LOG3 = math.log2(3)  # discount of rank 2 is 1/log2(3)


def _relevant(rows: list[list[int]], n_items: int) -> sp.csr_matrix:
    r = [u for u, items in enumerate(rows) for _ in items]
    c = [i for items in rows for i in items]
    return sp.csr_matrix((np.ones(len(c)), (r, c)), shape=(len(rows), n_items))


# ----------------------------------------------------------------------------- top_k


def test_top_k_orders_best_first_and_breaks_ties_by_index():
    scores = np.array([[0.1, 0.5, 0.5, 0.3], [0.5, 0.9, 0.5, 0.5]], np.float32)
    # Row 0: 0.5 (items 1, 2 tied -> 1 first), then 0.3 (item 3).
    # Row 1: 0.9 (item 1), then the tie 0.5 at items 0, 2, 3 -> lowest indices first.
    np.testing.assert_array_equal(M.top_k(scores, 2), [[1, 2], [1, 0]])
    np.testing.assert_array_equal(M.top_k(scores, 3), [[1, 2, 3], [1, 0, 2]])


def test_top_k_puts_masked_items_last_and_caps_k_at_catalogue():
    scores = np.array([[-np.inf, 0.0, -np.inf, -1.0]], np.float32)
    # finite items by score (1, 3), then the -inf ones by index (0, 2); k=10 > 4 items.
    np.testing.assert_array_equal(M.top_k(scores, 10), [[1, 3, 0, 2]])


@pytest.mark.parametrize("k", [1, 5, 29, 30])
def test_top_k_matches_stable_full_sort_with_many_ties(k):
    rng = np.random.default_rng(k)
    scores = rng.integers(0, 4, (200, 30)).astype(np.float32)  # heavy ties everywhere
    scores[rng.random(scores.shape) < 0.2] = -np.inf
    expected = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    np.testing.assert_array_equal(M.top_k(scores, k), expected)


def test_top_k_rejects_non_positive_k():
    with pytest.raises(ValueError, match="positive"):
        M.top_k(np.zeros((1, 3)), 0)


# ----------------------------------------------------------------------------- ranking metrics


def test_ranking_metrics_hand_computed():
    top = np.array([[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [0, 1, 2, 3, 4], [0, 1, 2, 3, 4]])
    # user 0: relevant {1, 3, 7} (R=3) -> relevant at ranks 2 and 4
    # user 1: relevant {5}       (R=1) -> relevant at rank 1
    # user 2: relevant {0..5}    (R=6) -> relevant at ranks 1..5 (R > k=5)
    # user 3: no relevant item   -> all zeros
    rel = _relevant([[1, 3, 7], [5], [0, 1, 2, 3, 4, 5], []], 10)
    got = M.ranking_metrics(top, rel, [1, 3, 5])
    idcg3 = 1 + 1 / LOG3 + 1 / 2  # 1/log2(2) + 1/log2(3) + 1/log2(4)
    idcg5 = idcg3 + 1 / math.log2(5) + 1 / math.log2(6)
    expected = {
        # user 0 @1: nothing at rank 1.
        # @3: one hit (rank 2): precision 1/3, recall 1/3, DCG 1/log2(3), IDCG over min(3,3)=3,
        #     AP = P@2 / min(3,3) = (1/2)/3, RR = 1/2.
        # @5: hits at ranks 2, 4: precision 2/5, recall 2/3, DCG 1/log2(3) + 1/log2(5),
        #     AP = (P@2 + P@4) / 3 = (1/2 + 2/4) / 3 = 1/3.
        # user 1: hit at rank 1 -> everything 1 except precision@k = 1/k.
        # user 2 @5: 5 hits: precision 1, recall 5/6, nDCG 1 (IDCG over min(6,5)=5 ranks),
        #     AP = (1+1+1+1+1) / min(6,5) = 1 (ranx would give 5/6).
        "hit@1": [0, 1, 1, 0],
        "hit@3": [1, 1, 1, 0],
        "hit@5": [1, 1, 1, 0],
        "precision@1": [0, 1, 1, 0],
        "precision@3": [1 / 3, 1 / 3, 1, 0],
        "precision@5": [2 / 5, 1 / 5, 1, 0],
        "recall@1": [0, 1, 1 / 6, 0],
        "recall@3": [1 / 3, 1, 3 / 6, 0],
        "recall@5": [2 / 3, 1, 5 / 6, 0],
        "ndcg@1": [0, 1, 1, 0],
        "ndcg@3": [(1 / LOG3) / idcg3, 1, 1, 0],
        "ndcg@5": [(1 / LOG3 + 1 / math.log2(5)) / idcg3, 1, idcg5 / idcg5, 0],
        "map@1": [0, 1, 1, 0],
        "map@3": [(1 / 2) / 3, 1, 1, 0],
        "map@5": [(1 / 2 + 2 / 4) / 3, 1, 1, 0],
        "mrr@1": [0, 1, 1, 0],
        "mrr@3": [1 / 2, 1, 1, 0],
        "mrr@5": [1 / 2, 1, 1, 0],
    }
    assert list(got) == [f"{m}@{k}" for m in M.RANKING_METRICS for k in (1, 3, 5)]
    for key, values in expected.items():
        np.testing.assert_allclose(got[key], values, rtol=1e-12, err_msg=key)
    # spot-check the numbers behind the formulas: nDCG@3 of user 0 = 0.63093 / 2.13093
    assert got["ndcg@3"][0] == pytest.approx(0.296082, abs=1e-6)


def test_ranking_metrics_requires_enough_ranked_items():
    with pytest.raises(ValueError, match="exceeds"):
        M.ranking_metrics(np.zeros((1, 3), int), _relevant([[0]], 5), [5])


def _ranx_check(n_users=50, n_items=200, ks=(1, 5, 10, 20), seed=0):
    """Our per-user metrics and ranx's on the same random run and relevance judgements."""
    from ranx import Qrels, Run, evaluate

    rng = np.random.default_rng(seed)
    # 1..40 relevant items per user, so |rel| is both below and above the cut-offs.
    sizes = rng.integers(1, 41, n_users)
    rel_items = [rng.choice(n_items, s, replace=False).tolist() for s in sizes]
    relevant = _relevant(rel_items, n_items)
    top = M.top_k(rng.random((n_users, n_items)), max(ks))
    qrels = Qrels({f"u{u}": {f"i{i}": 1 for i in items} for u, items in enumerate(rel_items)})
    run = Run(
        {
            f"u{u}": {f"i{i}": float(max(ks) - r) for r, i in enumerate(top[u])}
            for u in range(n_users)
        }
    )
    names = {"hit": "hit_rate", "precision": "precision", "recall": "recall", "ndcg": "ndcg",
             "map": "map", "mrr": "mrr"}  # fmt: skip
    wanted = [f"{names[m]}@{k}" for m in M.RANKING_METRICS for k in ks]
    evaluate(qrels, run, wanted, return_mean=False)
    theirs = {
        f"{m}@{k}": np.array([run.scores[f"{names[m]}@{k}"][f"u{u}"] for u in range(n_users)])
        for m in M.RANKING_METRICS
        for k in ks
    }
    return M.ranking_metrics(top, relevant, ks), theirs, sizes, ks


@pytest.mark.filterwarnings("ignore:unsafe cast")  # inside ranx's numba code
def test_ranking_metrics_match_ranx():
    ours, theirs, sizes, ks = _ranx_check()
    for key in ours:
        if not key.startswith("map@"):
            np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-9, atol=1e-12, err_msg=key)
    for k in ks:
        # ranx divides AP@k by |rel|, we by min(|rel|, k): equal where |rel| <= k ...
        small = sizes <= k
        np.testing.assert_allclose(ours[f"map@{k}"][small], theirs[f"map@{k}"][small], rtol=1e-9)
        # ... and related by the factor |rel| / min(|rel|, k) everywhere.
        scaled = theirs[f"map@{k}"] * sizes / np.minimum(sizes, k)
        np.testing.assert_allclose(ours[f"map@{k}"], scaled, rtol=1e-9, atol=1e-12)
    assert (sizes > max(ks)).any() and (sizes <= min(ks) + 4).any()  # both regimes covered


# ----------------------------------------------------------------------------- factorized


def test_factorized_top_k_hand_computed():
    scores = np.array([[0.9, 0.1, 0.5, 0.5], [0.2, 0.3, 0.4, 0.1]])
    rows = np.array([0, 0, 1, 0])
    items = np.array([2, 0, 0, 1])
    # j0: row 0, true 0.5; strictly greater: 0.9 (the tied 0.5 does not count) -> 1 item
    # j1: row 0, true 0.9; greater: none -> 0
    # j2: row 1, true 0.2; greater: 0.3, 0.4 -> 2
    # j3: row 0, true 0.1; greater: 0.9, 0.5, 0.5 -> 3
    # hit@k <=> (#greater < k)
    got = M.factorized_top_k(scores, rows, items, [1, 2, 3])
    np.testing.assert_array_equal(got["factorized_top@1"], [0, 1, 0, 0])
    np.testing.assert_array_equal(got["factorized_top@2"], [1, 1, 0, 0])
    np.testing.assert_array_equal(got["factorized_top@3"], [1, 1, 1, 0])


def test_factorized_top_k_chunking_does_not_change_results(monkeypatch):
    rng = np.random.default_rng(1)
    scores = rng.random((30, 50))
    rows, items = rng.integers(0, 30, 400), rng.integers(0, 50, 400)
    whole = M.factorized_top_k(scores, rows, items, [1, 10])
    monkeypatch.setattr(M, "_CHUNK_ELEMENTS", 7 * 50)  # 7 interactions per chunk
    chunked = M.factorized_top_k(scores, rows, items, [1, 10])
    for key in whole:
        np.testing.assert_array_equal(whole[key], chunked[key])
    assert 0 < whole["factorized_top@10"].mean() < 1


# ----------------------------------------------------------------------------- other metrics


def test_rating_errors_hand_computed():
    # errors -1, 0, 2: MSE = (1 + 0 + 4) / 3, MAE = (1 + 0 + 2) / 3 = 1
    got = M.rating_errors(np.array([3.0, 4.0, 5.0]), np.array([4.0, 4.0, 3.0]))
    assert got["rmse"] == pytest.approx(math.sqrt(5 / 3))
    assert got["mae"] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        M.rating_errors(np.array([]), np.array([]))


def test_coverage_popularity_novelty_hand_computed():
    top = np.array([[0, 1], [1, 2]])
    counts = np.array([10, 0, 4, 1, 1])
    # items {0, 1, 2} of 5
    assert M.coverage(top, 5) == pytest.approx(3 / 5)
    # user means (10 + 0) / 2 = 5 and (0 + 4) / 2 = 2 -> 3.5
    assert M.mean_popularity(top, counts) == pytest.approx(3.5)
    # n_users = 7: self-information -log2((c + 1) / 8): c=10 -> -log2(11/8), c=0 -> 3,
    # c=4 -> -log2(5/8); per user (-log2(11/8) + 3) / 2 and (3 - log2(5/8)) / 2, then the mean.
    u0 = (-math.log2(11 / 8) + 3) / 2
    u1 = (3 - math.log2(5 / 8)) / 2
    assert M.novelty(top, counts, 7) == pytest.approx((u0 + u1) / 2)
