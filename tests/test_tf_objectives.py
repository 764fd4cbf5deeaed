"""Retrieval objectives of the TF models: hand-computed cases, and TFRS as the oracle."""

from __future__ import annotations

import numpy as np
import pytest

from recrepro.core.errors import ConfigError, ModelNotApplicable
from recrepro.models import build_model

#: A batch of 5 rows whose items repeat (movie 7 three times, movie 2 twice).
ITEMS = np.array([7, 2, 7, 7, 2], np.int32)


@pytest.fixture(scope="module")
def tf():
    from recrepro.models.tf.runtime import import_tensorflow

    return import_tensorflow(0)


def logsumexp(x: np.ndarray) -> np.ndarray:
    top = x.max(axis=1, keepdims=True)
    return (top + np.log(np.exp(x - top).sum(axis=1, keepdims=True)))[:, 0]


def embeddings(rows: int, n_items: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(rows, 3)), rng.normal(size=(n_items, 3))


def in_batch_loss(tf, query, table, items, log_q=None):
    """The objective on the batch's distinct candidates (float64)."""
    from recrepro.models.tf import objectives

    unique, positive, multiplicity = objectives.distinct_candidates(tf.constant(items))
    shift = None if log_q is None else tf.gather(tf.constant(log_q), unique)
    candidates = tf.gather(table, unique)
    return objectives.in_batch_softmax(query, candidates, positive, multiplicity, shift)


@pytest.mark.parametrize("logq", [False, True])
def test_in_batch_softmax_by_hand(tf, logq):
    """-s_ii + log sum_j exp(s_ij) over all B columns (duplicates included), with every column
    j shifted by -log p_j for the logQ correction."""
    query, table = embeddings(5, 10, seed=1)
    p = np.linspace(0.05, 0.5, 10)
    s = query @ table[ITEMS].T  # [B, B], columns = the batch's rows
    if logq:
        s = s - np.log(p[ITEMS])[None, :]
    expected = float(np.sum(logsumexp(s) - np.diag(s)))
    log_q = np.log(p) if logq else None
    got = in_batch_loss(tf, tf.constant(query), tf.constant(table), ITEMS, log_q)
    assert float(got) == pytest.approx(expected, rel=1e-12)


def test_full_softmax_by_hand(tf):
    from recrepro.models.tf import objectives

    query, table = embeddings(5, 10, seed=2)
    s = query @ table.T  # [B, N]
    expected = float(np.sum(logsumexp(s) - s[np.arange(5), ITEMS]))
    got = objectives.full_softmax(tf.constant(query), tf.constant(table), tf.constant(ITEMS))
    assert float(got) == pytest.approx(expected, rel=1e-12)


def test_squared_norms_by_hand(tf):
    from recrepro.models.tf import objectives

    a, b = np.array([[1.0, 2.0]]), np.array([[3.0], [-1.0]])
    assert float(objectives.squared_norms([tf.constant(a), tf.constant(b)])) == 15.0


@pytest.mark.parametrize("logq", [False, True])
@pytest.mark.parametrize("rows, n_items", [(64, 9), (300, 400), (173, 1)])
def test_in_batch_softmax_loss_and_gradients_equal_tfrs(tf, logq, rows, n_items):
    """Against tfrs.tasks.Retrieval on the [B, B] scores (float64): loss and gradients of the
    query and of the item table, with repeated items in the batch."""
    import tensorflow_recommenders as tfrs

    rng = np.random.default_rng(rows)
    items = rng.integers(0, n_items, rows).astype(np.int32)
    query = tf.Variable(rng.normal(size=(rows, 8)) * 2)  # float64 (a Variable: Keras would cast
    # a float64 tensor given to the task to float32)
    table = tf.Variable(rng.normal(size=(n_items, 8)) * 2)
    p = rng.uniform(1e-7, 1.0, n_items)  # some below TFRS's 1e-6 clip
    task = tfrs.tasks.Retrieval()
    results = []
    for ours in (False, True):
        with tf.GradientTape() as tape:
            if ours:
                log_q = np.log(np.clip(p, 1e-6, 1)) if logq else None
                loss = in_batch_loss(tf, query, table, items, log_q)
            else:
                loss = task(
                    query,
                    tf.gather(table, items),
                    compute_metrics=False,
                    candidate_sampling_probability=tf.constant(p[items]) if logq else None,
                )
        gradients = tape.gradient(loss, [query, table])
        results.append([loss.numpy(), *(tf.convert_to_tensor(g).numpy() for g in gradients)])
    for got, expected in zip(results[1], results[0], strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-12)


def test_tfrs_counts_duplicates_of_the_positive_as_negatives(tf):
    """The property the distinct-candidate form relies on: with every row the same movie, each
    row's softmax is uniform over B identical columns, so TFRS's loss is B log B."""
    import tensorflow_recommenders as tfrs

    query, table = embeddings(4, 1, seed=3)
    items = np.zeros(4, np.int32)
    query = tf.Variable(query)  # a Variable: Keras would cast a float64 tensor to float32
    tfrs_loss = tfrs.tasks.Retrieval()(query, tf.constant(table[items]), compute_metrics=False)
    ours = in_batch_loss(tf, query, tf.constant(table), items)
    assert float(tfrs_loss) == pytest.approx(4 * np.log(4), rel=1e-12)
    assert float(ours) == pytest.approx(4 * np.log(4), rel=1e-12)


def test_model_l2_penalty_is_the_embedding_tables_squared_norms(tf):
    from recrepro.models.tf.keras_models import RetrievalModel
    from recrepro.models.tf.layers import FeatureTower

    users = tf.keras.layers.Embedding(3, 2)
    candidate = tf.keras.layers.Embedding(4, 2)
    query = FeatureTower({"user": users}, [])
    features = {"user": tf.constant([0, 2]), "item": tf.constant([1, 3])}
    losses, penalties = [], []
    for l2 in (0.0, 0.25):
        model = RetrievalModel(query, candidate, tf.range(4), "in_batch", None, l2)
        losses.append(float(model.compute_loss(features)))
        penalties.append(float(model.penalty()))
    norms = sum(float(np.sum(t.numpy() ** 2)) for t in (users.embeddings, candidate.embeddings))
    assert penalties == [0.0, pytest.approx(0.25 * norms, rel=1e-6)]
    assert losses[1] - losses[0] == pytest.approx(penalties[1], abs=1e-6)  # float32 loss


def test_sampling_probability_is_the_training_frequency(synthetic_split):
    from recrepro.models.tf.bases import sampling_probability

    train = synthetic_split.train
    p = sampling_probability(train)
    assert p.shape == (train.n_items,) and p.sum() == pytest.approx(1.0)
    assert p[train.item[0]] == np.mean(train.item == train.item[0])


def test_objective_checks(synthetic_split):
    train = synthetic_split.train
    with pytest.raises(ConfigError, match="unknown objective 'bpr'"):
        build_model("two_tower", {"objective": "bpr"})  # refused by the config check already
    with pytest.raises(ConfigError, match="l2 must be >= 0"):
        build_model("session", {"l2": -1.0})
    model = build_model("gnn", {"objective": "full_softmax", "max_softmax_items": 149})
    with pytest.raises(ModelNotApplicable, match="150 items, more than max_softmax_items=149"):
        model.fit(train, None, np.random.default_rng(0))


@pytest.mark.parametrize(
    "name", ["two_tower", "basic_retrieval", "gnn", "knn_embedding", "session", "multitask"]
)
@pytest.mark.parametrize("objective", ["in_batch_logq", "full_softmax"])
def test_every_retrieval_model_trains_with_each_objective(synthetic_split, name, objective):
    params = {"objective": objective, "l2": 1e-4, "epochs": 1, "batch_size": 256}
    model = build_model(name, params).fit(synthetic_split.train, None, np.random.default_rng(0))
    scores = model.score(np.arange(3))
    assert scores.shape == (3, synthetic_split.train.n_items) and np.isfinite(scores).all()
    assert np.isfinite(model.history[0]["loss"])


RETRIEVAL_TRAINED = [
    "collaborative", "basic_retrieval", "enhanced_retrieval", "two_tower", "wide_deep", "gnn",
    "knn_embedding", "session", "multitask",
]


def test_faithful_objective_is_the_seeds_in_batch_softmax_without_l2():
    from recrepro.models import get_model_class

    for name in RETRIEVAL_TRAINED:
        defaults = get_model_class(name).defaults
        assert (defaults["objective"], defaults["l2"]) == ("in_batch", 0.0), name
    assert "objective" not in get_model_class("rating_nn").defaults  # no retrieval task


@pytest.mark.parametrize("objective", ["in_batch", "in_batch_logq", "full_softmax"])
def test_distinct_queries_give_the_per_row_loss_and_gradients(tf, objective):
    """Scoring each distinct user once (``rows``) gives the loss and gradients of scoring every
    row's own copy of its query (float64), for each objective."""
    from recrepro.models.tf import objectives

    rng = np.random.default_rng(7)
    users = rng.integers(0, 6, 40).astype(np.int32)  # 40 rows, at most 6 distinct users
    items = rng.integers(0, 9, 40).astype(np.int32)
    user_table = tf.Variable(rng.normal(size=(6, 4)))
    item_table = tf.Variable(rng.normal(size=(9, 4)))
    log_q = tf.constant(np.log(rng.uniform(0.01, 1.0, 9)))
    results = []
    for distinct in (False, True):
        with tf.GradientTape() as tape:
            if distinct:
                queries, rows = objectives.distinct_queries(
                    {"user": tf.constant(users), "item": tf.constant(items)}
                )
                query = tf.gather(user_table, queries["user"])
            else:
                query, rows = tf.gather(user_table, users), None
            if objective == "full_softmax":
                loss = objectives.full_softmax(query, item_table, tf.constant(items), rows)
            else:
                unique, positive, multiplicity = objectives.distinct_candidates(tf.constant(items))
                shift = tf.gather(log_q, unique) if objective == "in_batch_logq" else None
                candidates = tf.gather(item_table, unique)
                loss = objectives.in_batch_softmax(
                    query, candidates, positive, multiplicity, shift, rows
                )
        if distinct:
            assert rows is not None and int(tf.shape(query)[0]) == len(np.unique(users))
        grads = tape.gradient(loss, [user_table, item_table])
        results.append([loss.numpy(), *(tf.convert_to_tensor(g).numpy() for g in grads)])
    for got, expected in zip(results[1], results[0], strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_distinct_queries_only_when_the_query_is_the_user_alone(tf):
    from recrepro.models.tf import objectives

    batch = {"user": tf.constant([3, 1, 3]), "item": tf.constant([0, 1, 2])}
    queries, rows = objectives.distinct_queries({**batch, "rating": tf.constant([1.0, 2, 3])})
    assert queries["user"].numpy().tolist() == [3, 1] and rows.numpy().tolist() == [0, 1, 0]
    with_time = {**batch, "timestamp": tf.constant([0.1, 0.2, 0.3])}
    assert objectives.distinct_queries(with_time) == (with_time, None)


@pytest.mark.parametrize("name, params", [
    ("collaborative", {"objective": "full_softmax", "l2": 1e-4, "optimizer": "adam"}),
    ("multitask", {"objective": "in_batch_logq"}),
    ("session", {"max_length": 3}),
])  # fmt: skip
def test_step_is_traced_once_and_trains_as_when_variables_are_created_in_it(
    synthetic_split, monkeypatch, name, params
):
    """Creating the variables before tracing (``build_variables``) saves the second trace and
    changes nothing: same initial weights, same training, bit for bit."""
    from recrepro.models.tf import training

    traces = []

    def fit(build):
        monkeypatch.setattr(training, "build_variables", build)
        model = build_model(name, {"batch_size": 1024, "epochs": 2, **params})
        make_step = training.make_train_step

        def counting(tf, keras_model, optimizer):
            compute_loss = keras_model.compute_loss

            def counted(*args, **kwargs):
                traces[-1] += not tf.executing_eagerly()
                return compute_loss(*args, **kwargs)

            keras_model.compute_loss = counted
            return make_step(tf, keras_model, optimizer)

        monkeypatch.setattr("recrepro.models.tf.bases.make_train_step", counting)
        traces.append(0)
        model.fit(synthetic_split.train, synthetic_split.valid, np.random.default_rng(0))
        return model.score(np.arange(20)), model.history

    built = fit(training.build_variables)
    traced = fit(lambda *args: None)
    assert traces == [1, 2]
    np.testing.assert_array_equal(built[0], traced[0])
    assert built[1] == traced[1]
