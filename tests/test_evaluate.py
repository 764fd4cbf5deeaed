"""The batched evaluator, end to end with fake models whose scores are fixed."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from conftest import heldout_recall
from recrepro.core.errors import ConfigError, RecreproError
from recrepro.data.interactions import Catalogue, Interactions
from recrepro.evaluation import evaluate, validation_score
from recrepro.models.base import Recommender


class FixedScores(Recommender):
    """Returns rows of a fixed score matrix (and of a fixed rating matrix for ``predict``)."""

    name = "fixed"

    def __init__(self, scores: np.ndarray, ratings: np.ndarray | None = None) -> None:
        super().__init__()
        self.table = np.asarray(scores)
        self.ratings = ratings
        self.calls: list[int] = []

    def fit(self, train, valid, rng):
        return self

    def score(self, users):
        self.calls.append(len(users))
        return self.table[np.asarray(users)]

    def predict(self, users, items):
        return self.ratings[users, items]


class FixedRatings(FixedScores):
    predicts_ratings = True


def _catalogue(n_users: int, n_items: int) -> Catalogue:
    users = pd.DataFrame({"user_id": np.arange(1, n_users + 1)})
    items = pd.DataFrame(
        {
            "item_id": np.arange(1, n_items + 1),
            "title": [f"m{i}" for i in range(n_items)],
            "year": 2000,
            "genres": "Drama",
        }
    )
    return Catalogue(users=users, items=items)


def _interactions(catalogue, pairs, ratings=None) -> Interactions:
    pairs = np.asarray(pairs, np.int32).reshape(-1, 2)
    rating = np.full(len(pairs), 5.0, np.float32) if ratings is None else np.float32(ratings)
    return Interactions(
        pairs[:, 0], pairs[:, 1], rating, np.arange(len(pairs), dtype=np.int64), catalogue
    )


CAT = _catalogue(4, 6)
# train: user 0 saw items 0, 1; user 1 saw item 2; user 2 saw item 0; user 3 saw nothing.
TRAIN = _interactions(CAT, [[0, 0], [0, 1], [1, 2], [2, 0]])
# test: user 0 -> items 3 (rated 5) and 4 (rated 2); user 1 -> item 0 (rated 4);
# user 2 -> nothing; user 3 -> item 1 (no training data, so never evaluated).
TEST = _interactions(CAT, [[0, 3], [0, 4], [1, 0], [3, 1]], ratings=[5, 2, 4, 5])
SCORES = np.array(
    [
        [0.9, 0.8, 0.1, 0.7, 0.2, 0.3],  # user 0, items 0, 1 masked -> ranking 3, 5, 4, 2
        [0.5, 0.1, 0.9, 0.2, 0.4, 0.3],  # user 1, item 2 masked -> ranking 0, 4, 5, 3, 1
        [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
        [0.6, 0.5, 0.4, 0.3, 0.2, 0.1],
    ],
    np.float32,
)


def test_evaluate_hand_computed():
    model = FixedScores(SCORES)
    res = evaluate(model, TRAIN, TEST, ks=[3, 1])
    assert res.n_users_evaluated == 2  # users 0 and 1 (user 3 has no train, user 2 no test)
    assert "n_users_evaluated" not in res.metrics
    assert res.per_user["user"].tolist() == [0, 1]
    assert res.per_user["n_relevant"].tolist() == [2, 1]
    # user 0: relevant {3, 4}, top-3 = [3, 5, 4] -> hits at ranks 1 and 3.
    #   @1: hit 1, precision 1, recall 1/2, nDCG 1 (IDCG over min(2,1)=1), AP 1/1, RR 1
    #   @3: precision 2/3, recall 1, DCG 1 + 1/log2(4) = 1.5, IDCG 1 + 1/log2(3),
    #       AP (1/1 + 2/3) / min(2,3) = 5/6, RR 1
    # user 1: relevant {0}, top-3 = [0, 4, 5] -> hit at rank 1: all 1, precision@3 = 1/3.
    idcg2 = 1 + 1 / math.log2(3)
    expected = {
        "hit@1": 1.0,
        "precision@1": 1.0,
        "recall@1": (0.5 + 1) / 2,
        "ndcg@1": 1.0,
        "map@1": 1.0,
        "mrr@1": 1.0,
        "hit@3": 1.0,
        "precision@3": (2 / 3 + 1 / 3) / 2,
        "recall@3": 1.0,
        "ndcg@3": (1.5 / idcg2 + 1) / 2,
        "map@3": (5 / 6 + 1) / 2,
        "mrr@3": 1.0,
        # unmasked: user 0 item 3 (0.7) has 0.9, 0.8 above -> 2; item 4 (0.2) has 4 above;
        # user 1 item 0 (0.5) has 0.9 above -> 1.  @1: none; @3: 2 of 3 interactions.
        "factorized_top@1": 0.0,
        "factorized_top@3": 2 / 3,
        # top-1 items {3, 0}; top-3 items {3, 5, 4, 0}; of 6 items.
        "coverage@1": 2 / 6,
        "coverage@3": 4 / 6,
        # train counts [2, 1, 1, 0, 0, 0]: @1 user 0 -> item 3 (0), user 1 -> item 0 (2);
        # @3 user 0 -> 0, user 1 -> (2 + 0 + 0) / 3.
        "popularity@1": 1.0,
        "popularity@3": (0 + 2 / 3) / 2,
        # 4 users: -log2((c + 1) / 5): item 3 -> log2 5, item 0 -> log2(5/3)
        "novelty@1": (math.log2(5) + math.log2(5 / 3)) / 2,
        "novelty@3": (math.log2(5) + (2 * math.log2(5) + math.log2(5 / 3)) / 3) / 2,
    }
    assert set(res.metrics) == set(expected)
    for key, value in expected.items():
        assert res.metrics[key] == pytest.approx(value), key
    assert res.per_user["ndcg@3"].tolist() == pytest.approx([1.5 / idcg2, 1.0])
    # top-K lists: user index, rank 1..3, item index, masked score
    assert res.topk["user"].tolist() == [0, 0, 0, 1, 1, 1]
    assert res.topk["rank"].tolist() == [1, 2, 3, 1, 2, 3]
    assert res.topk["item"].tolist() == [3, 5, 4, 0, 4, 5]
    assert res.topk["score"].tolist() == pytest.approx([0.7, 0.3, 0.2, 0.5, 0.4, 0.3])
    np.testing.assert_array_equal(model.table, SCORES)  # the model's array is not modified


def test_relevance_threshold_filters_relevant_but_not_factorized():
    res = evaluate(FixedScores(SCORES), TRAIN, TEST, ks=[3], relevance_threshold=4)
    # user 0 keeps only item 3 (rated 5): hit at rank 1 -> precision 1/3, recall 1, AP 1.
    assert res.per_user["n_relevant"].tolist() == [1, 1]
    assert res.metrics["recall@3"] == pytest.approx(1.0)
    assert res.metrics["map@3"] == pytest.approx(1.0)
    # factorized accuracy still counts user 0's item 4 (rated 2): 2 of 3 interactions.
    assert res.metrics["factorized_top@3"] == pytest.approx(2 / 3)


def test_sensitivity_threshold_scores_the_same_lists_in_one_pass():
    model = FixedScores(SCORES)
    res = evaluate(model, TRAIN, TEST, ks=[3], sensitivity_threshold=4)
    strict = evaluate(FixedScores(SCORES), TRAIN, TEST, ks=[3], relevance_threshold=4)
    assert model.calls == [2]  # scored once
    assert res.metrics["recall@3"] == pytest.approx(1.0)  # the main definition is unchanged
    for name in ("recall", "map", "ndcg", "precision"):
        assert res.metrics[f"{name}_r4@3"] == pytest.approx(strict.metrics[f"{name}@3"]), name
        assert res.per_user[f"{name}_r4@3"].tolist() == pytest.approx(
            strict.per_user[f"{name}@3"].tolist()
        )
    # a user without a rating >= 5 gets NaN, and the mean skips it
    res5 = evaluate(FixedScores(SCORES), TRAIN, TEST, ks=[3], sensitivity_threshold=5)
    assert math.isnan(res5.per_user["recall_r5@3"].iloc[1])
    assert res5.metrics["recall_r5@3"] == pytest.approx(1.0)


def test_users_without_relevant_items_are_excluded():
    res = evaluate(FixedScores(SCORES), TRAIN, TEST, ks=[1], relevance_threshold=5)
    # only user 0's item 3 is rated >= 5 (user 3's item has no training user) -> one user.
    assert res.n_users_evaluated == 1
    assert res.per_user["user"].tolist() == [0]


def test_seen_items_are_masked():
    extra = _interactions(CAT, [[0, 3], [1, 0]])  # e.g. validation interactions
    res = evaluate(FixedScores(SCORES), TRAIN, TEST, ks=[3], seen=TRAIN.concat(extra))
    seen = {(0, 0), (0, 1), (0, 3), (1, 2), (1, 0)}
    assert not seen & set(zip(res.topk["user"], res.topk["item"], strict=True))
    assert res.topk["item"].tolist() == [5, 4, 2, 4, 5, 3]


def test_rating_errors_for_rating_models():
    ratings = np.full((4, 6), 4.0)
    ratings[0, 3] = 3.0  # user 0: errors 3-5 = -2 (item 3) and 4-2 = 2 (item 4)
    res = evaluate(FixedRatings(SCORES, ratings), TRAIN, TEST, ks=[1])
    # evaluated users 0 and 1: errors -2, 2, 0 -> the users the paired tests compare
    assert res.metrics["rmse"] == pytest.approx(math.sqrt((4 + 4 + 0) / 3))
    assert res.metrics["mae"] == pytest.approx((2 + 2 + 0) / 3)
    # all 4 test ratings (cold user 3 too): errors -2, 2, 0 (user 1), -1 (user 3)
    assert res.metrics["rmse_all"] == pytest.approx(math.sqrt((4 + 4 + 0 + 1) / 4))
    assert res.metrics["mae_all"] == pytest.approx((2 + 2 + 0 + 1) / 4)
    assert res.per_user["rmse"].tolist() == pytest.approx([2.0, 0.0])
    assert res.per_user["mae"].tolist() == pytest.approx([2.0, 0.0])
    assert res.per_user["n_ratings"].tolist() == [2, 1]
    # the pooled aggregate is recovered from the per-user columns
    per = res.per_user
    pooled = math.sqrt((per["rmse"] ** 2 * per["n_ratings"]).sum() / per["n_ratings"].sum())
    assert res.metrics["rmse"] == pytest.approx(pooled)
    assert "rmse" not in evaluate(FixedScores(SCORES), TRAIN, TEST, ks=[1]).metrics


def test_bad_scores_and_unevaluable_data_raise():
    with pytest.raises(RecreproError, match="shape"):
        evaluate(FixedScores(SCORES[:, :5]), TRAIN, TEST, ks=[1])
    nan = SCORES.copy()
    nan[1, 4] = np.nan
    with pytest.raises(RecreproError, match="NaN"):
        evaluate(FixedScores(nan), TRAIN, TEST, ks=[1])
    no_test = _interactions(CAT, [[3, 1]])  # only a user without training data
    with pytest.raises(RecreproError, match="no user can be evaluated"):
        evaluate(FixedScores(SCORES), TRAIN, no_test, ks=[1])
    with pytest.raises(ConfigError, match="catalogue size"):
        evaluate(FixedScores(SCORES), TRAIN, TEST, ks=[7])


def _random_model(split, seed=0) -> FixedScores:
    rng = np.random.default_rng(seed)
    scores = rng.random((split.train.n_users, split.train.n_items)).astype(np.float32)
    scores = np.round(scores, 2)  # plenty of ties, so tie-breaking matters too
    return FixedScores(scores)


def test_batching_does_not_change_results(synthetic_split):
    s = synthetic_split
    model = _random_model(s)
    one = evaluate(model, s.train, s.test, ks=[5, 10, 20], batch_size=1)
    assert max(model.calls) == 1
    model.calls.clear()
    many = evaluate(model, s.train, s.test, ks=[5, 10, 20], batch_size=1000)
    assert model.calls == [one.n_users_evaluated]
    assert one.metrics == pytest.approx(many.metrics, rel=1e-12)
    pd.testing.assert_frame_equal(one.per_user, many.per_user)
    pd.testing.assert_frame_equal(one.topk, many.topk)


def test_recall_agrees_with_independent_probe(synthetic_split):
    s = synthetic_split
    model = _random_model(s, seed=1)
    seen = s.train.concat(s.valid)
    res = evaluate(model, s.train, s.test, ks=[10], seen=seen, batch_size=64)
    assert res.metrics["recall@10"] == pytest.approx(heldout_recall(model, s, 10))


def test_validation_score(synthetic_split):
    s = synthetic_split
    model = _random_model(s)
    expected = evaluate(model, s.train, s.valid, ks=[10]).metrics["ndcg@10"]
    assert validation_score(model, s.train, s.valid) == pytest.approx(expected)
    assert validation_score(model, s.train, s.valid, "recall@5") > 0
    with pytest.raises(ConfigError, match="validation metric"):
        validation_score(model, s.train, s.valid, "auc")


def test_validation_score_is_the_evaluation_metric_and_its_cache_is_keyed_by_the_data():
    """The per-epoch validation (prepared once per (train, valid) pair and cached) gives exactly
    the full evaluation's value, whatever other split was scored in between."""
    from conftest import make_split
    from recrepro.evaluation.evaluate import RankingValidation, _ranking_validation

    first, second = make_split(0), make_split(1, n_users=120)
    tied = FixedScores(np.round(_random_model(first).table, 1))  # many ties at the cut-off
    metrics = ("ndcg@10", "recall@5", "hit@3", "precision@10", "map@20", "mrr@10")
    for split in (first, second, first):  # the cache must not leak from one split to the other
        for model in (_random_model(split), FixedScores(tied.table[: split.train.n_users])):
            for metric in metrics:
                full = evaluate(model, split.train, split.valid, ks=[int(metric.split("@")[1])])
                assert validation_score(model, split.train, split.valid, metric) == (
                    full.metrics[metric]
                )
                fresh = RankingValidation(split.train, split.valid)
                assert fresh.score(model, metric, int(metric.split("@")[1])) == (
                    full.metrics[metric]
                )
    assert _ranking_validation(first.train, first.valid) is _ranking_validation(
        first.train, first.valid
    )
    assert _ranking_validation(first.train, first.valid) is not _ranking_validation(
        first.train, first.test
    )
    # The same data in new objects is prepared again (keys are identities), with the same value.
    model = _random_model(first)
    copy = first.train.subset(np.ones(len(first.train), bool))
    assert validation_score(model, copy, first.valid) == validation_score(
        model, first.train, first.valid
    )
    with pytest.raises(ConfigError, match="exceeds the catalogue"):
        validation_score(model, first.train, first.valid, f"ndcg@{first.train.n_items + 1}")
