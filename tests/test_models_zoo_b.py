"""Seed-001 retrieval models: GNN, KNN embedding and session-based (TensorFlow)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import heldout_recall
from recrepro.core.errors import ConfigError
from recrepro.data.interactions import Catalogue, Interactions
from recrepro.models.gnn import normalized_adjacency
from recrepro.models.registry import build_model
from recrepro.models.session import history_rows, last_rows, rows_to_items

SMALL = {"batch_size": 256, "epochs": 5}


def tiny_interactions(pairs: list[tuple[int, int]], n_users: int, n_items: int) -> Interactions:
    users = pd.DataFrame({"user_id": np.arange(1, n_users + 1)})
    items = pd.DataFrame(
        {"item_id": np.arange(1, n_items + 1), "title": "t", "year": 2000, "genres": "Drama"}
    )
    u, i = (np.array(x, np.int32) for x in zip(*pairs, strict=True))
    n = len(pairs)
    return Interactions(
        u, i, np.ones(n, np.float32), np.arange(n, dtype=np.int64), Catalogue(users, items)
    )


@pytest.fixture(scope="module")
def random_recall(synthetic_split) -> float:
    model = build_model("random").fit(synthetic_split.train, None, np.random.default_rng(0))
    return heldout_recall(model, synthetic_split)


@pytest.mark.parametrize("name", ["gnn", "knn_embedding", "session"])
def test_fits_and_beats_random(name, synthetic_split, random_recall):
    model = build_model(name, SMALL).fit(synthetic_split.train, None, np.random.default_rng(0))
    assert [h["epoch"] for h in model.history] == [1, 2, 3, 4, 5]
    assert model.history[-1]["loss"] < model.history[0]["loss"]
    scores = model.score(np.arange(5))
    assert scores.dtype == np.float32 and np.isfinite(scores).all()
    assert heldout_recall(model, synthetic_split) > 1.2 * random_recall


def test_faithful_defaults_are_tfrs_tutorial_values():
    for name, extra in [("gnn", "n_layers"), ("knn_embedding", "k"), ("session", "max_length")]:
        params = build_model(name).params
        assert params["embedding_dim"] == 32 and params["learning_rate"] == 0.1
        assert params["optimizer"] == "adagrad" and params["epochs"] == 3
        assert params["batch_size"] == 8192 and extra in params
        assert "string_lookup" not in params
    with pytest.raises(ConfigError, match="string_lookup"):
        build_model("gnn", {"string_lookup": True})


def test_gnn_rejects_bad_layer_count(synthetic_split):
    """0 layers is the no-propagation ablation; a negative or fractional count is refused."""
    with pytest.raises(ConfigError, match="n_layers must be an integer >= 0"):
        build_model("gnn", {"n_layers": -1}).fit(
            synthetic_split.train, None, np.random.default_rng(0)
        )


# -- GNN ---------------------------------------------------------------------------------------
def test_adjacency_is_symmetric_normalised_on_tiny_graph():
    # users 0, 1; items 0..3 (item 3 has no edge); (0, 1) appears twice and counts once.
    train = tiny_interactions([(0, 0), (0, 1), (0, 1), (1, 1), (1, 2)], n_users=2, n_items=4)
    a = normalized_adjacency(train).toarray()
    degree = {0: 2, 1: 2, 2 + 0: 1, 2 + 1: 2, 2 + 2: 1}
    expected = np.zeros((6, 6))
    for u, i in [(0, 0), (0, 1), (1, 1), (1, 2)]:
        expected[u, 2 + i] = expected[2 + i, u] = 1 / np.sqrt(degree[u] * degree[2 + i])
    np.testing.assert_allclose(a, expected, rtol=1e-6)
    assert not a[5].any() and not a[:, 5].any()


def test_graph_holds_training_edges_only(synthetic_split):
    train = synthetic_split.train
    a = normalized_adjacency(train)
    assert a.nnz == 2 * train.matrix().nnz
    n_users = train.n_users
    for part in (synthetic_split.valid, synthetic_split.test):
        held = part.matrix() - part.matrix().multiply(train.matrix())  # pairs not also in train
        u, i = held.nonzero()
        assert len(u) > 0
        assert not np.asarray(a[u, n_users + i]).any()
        assert not np.asarray(a[n_users + i, u]).any()


def test_gnn_layer_is_mean_of_propagated_layers():
    from recrepro.models.tf.runtime import import_tensorflow

    tf = import_tensorflow(0)
    train = tiny_interactions([(0, 0), (0, 1), (1, 1), (1, 2)], n_users=2, n_items=3)
    a = normalized_adjacency(train)
    table = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    from recrepro.models.tf.graph import GNNLayer, sparse_tensor

    layer = GNNLayer(sparse_tensor(a), 2)
    dense = a.toarray()
    expected = (table + dense @ table + dense @ dense @ table) / 3
    np.testing.assert_allclose(layer(tf.constant(table)).numpy(), expected, rtol=1e-5, atol=1e-6)
    # the gradient of <layer(E), W> is P^T W with P = (I + A + A^2) / 3
    weights = np.random.default_rng(1).normal(size=(5, 3)).astype(np.float32)
    variable = tf.Variable(table)
    with tf.GradientTape() as tape:
        inner = tf.reduce_sum(layer(variable) * weights)
    propagation = (np.eye(5) + dense + dense @ dense) / 3
    np.testing.assert_allclose(
        tape.gradient(inner, variable).numpy(), propagation.T @ weights, rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("objective", ["in_batch", "in_batch_logq", "full_softmax"])
def test_gnn_propagating_once_per_step_gives_the_per_tower_loss_and_gradients(objective):
    """GraphRetrievalModel (one propagation shared by both towers) against RetrievalModel
    calling each NodeTower (one propagation per tower): same loss and gradients."""
    from recrepro.models.tf.runtime import import_tensorflow

    tf = import_tensorflow(0)
    from recrepro.models.tf.graph import GraphNodes, NodeTower, sparse_tensor
    from recrepro.models.tf.keras_models import GraphRetrievalModel, RetrievalModel

    pairs = [(0, 0), (0, 1), (1, 1), (1, 2), (2, 0), (2, 3), (3, 3)]
    train = tiny_interactions(pairs, n_users=4, n_items=4)
    nodes = GraphNodes(sparse_tensor(normalized_adjacency(train)), 5, 2)
    towers = NodeTower(nodes, 0, "user"), NodeTower(nodes, 4, None)
    features = {"user": tf.constant(train.user), "item": tf.constant(train.item)}
    p = np.bincount(train.item, minlength=4) / len(train)
    results = []
    for cls in (RetrievalModel, GraphRetrievalModel):
        model = cls(*towers, tf.range(4), objective, p, 0.01)
        with tf.GradientTape() as tape:
            loss = model.compute_loss(features)
        gradient = tape.gradient(loss, nodes.table.embeddings)
        results.append((float(loss), tf.convert_to_tensor(gradient).numpy()))
    assert results[1][0] == pytest.approx(results[0][0], rel=1e-6)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-5, atol=1e-7)


# -- KNN ---------------------------------------------------------------------------------------
def test_knn_layer_neighbours_and_average():
    from recrepro.models.tf.runtime import import_tensorflow

    tf = import_tensorflow(0)
    angles = np.deg2rad([0, 10, 30, 90, 180])
    table = np.column_stack([np.cos(angles), np.sin(angles)]).astype(np.float32)
    table[1] *= 5.0  # cosine ignores length
    from recrepro.models.tf.knn import KNNLayer

    layer = KNNLayer(2)
    ids = tf.constant([0, 3, 4], tf.int32)
    neighbours = layer.neighbours(ids, tf.constant(table)).numpy()
    np.testing.assert_array_equal(neighbours, [[1, 2], [2, 1], [3, 2]])
    out = layer(ids, tf.constant(table)).numpy()
    expected = (table[[0, 3, 4]] + table[neighbours].sum(axis=1)) / 3  # self + 2 neighbours
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_knn_layer_never_picks_the_user_itself():
    from recrepro.models.tf.runtime import import_tensorflow

    tf = import_tensorflow(0)
    table = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], np.float32)  # users 0 and 1 identical
    from recrepro.models.tf.knn import KNNLayer

    neighbours = KNNLayer(1).neighbours(tf.range(3), tf.constant(table))
    np.testing.assert_array_equal(neighbours.numpy().ravel(), [1, 0, 0])


@pytest.mark.parametrize("block", [7, 40, 2**20])  # one id per block, several, all at once
def test_knn_layer_blocks_give_the_same_neighbours(block, monkeypatch):
    from recrepro.models.tf.runtime import import_tensorflow

    tf = import_tensorflow(0)
    from recrepro.models.tf import knn
    table = np.random.default_rng(1).normal(size=(7, 3)).astype(np.float32)
    ids = np.array([6, 0, 3, 3, 5, 1, 2, 4, 0, 6, 2], np.int32)
    unit = table / np.linalg.norm(table, axis=1, keepdims=True)
    sims = unit[ids] @ unit.T
    sims[np.arange(len(ids)), ids] = -np.inf
    expected = np.argsort(-sims, axis=1, kind="stable")[:, :3]
    monkeypatch.setattr(knn, "SIMILARITY_BLOCK", block)
    layer = knn.KNNLayer(3)
    eager = layer.neighbours(tf.constant(ids), tf.constant(table)).numpy()
    graph = tf.function(layer.neighbours)(tf.constant(ids), tf.constant(table)).numpy()
    np.testing.assert_array_equal(eager, expected)
    np.testing.assert_array_equal(graph, expected)


# -- session -----------------------------------------------------------------------------------
def test_session_sequences_on_hand_built_data():
    # user 0: rows 0..3 at times 10, 5, 5, 20 with tie-break ids 3, 7, 2, 1; user 1: row 4.
    user = np.array([0, 0, 0, 0, 1])
    ts = np.array([10, 5, 5, 20, 7])
    ids = np.array([3, 7, 2, 1, 9])
    rows = history_rows(user, ts, ids, max_length=2)
    # order of user 0: row 2 (5, id 2), row 1 (5, id 7), row 0 (10), row 3 (20)
    np.testing.assert_array_equal(rows, [[2, 1], [-1, 2], [-1, -1], [1, 0], [-1, -1]])
    last = last_rows(user, ts, ids, n_users=3, max_length=3)
    np.testing.assert_array_equal(last, [[1, 0, 3], [-1, -1, 4], [-1, -1, -1]])
    np.testing.assert_array_equal(rows_to_items(rows[:2], ids), [[3, 8], [0, 3]])
    # Treating same-second interactions as simultaneous: rows 1 and 2 no longer see each other.
    simultaneous = history_rows(user, ts, ids, max_length=2, same_time=False)
    np.testing.assert_array_equal(simultaneous, [[2, 1], [-1, -1], [-1, -1], [1, 0], [-1, -1]])
    perm = np.array([3, 0, 4, 2, 1])  # row order of the input does not matter
    shuffled = history_rows(user[perm], ts[perm], ids[perm], max_length=2)
    np.testing.assert_array_equal(rows_to_items(shuffled, ids[perm]), rows_to_items(rows, ids)[perm])


def test_session_history_never_sees_the_target_or_the_future(synthetic_split):
    train = synthetic_split.train
    user, item = train.user, train.item
    ts = train.timestamp // 7200 * 7200  # coarsen time so that many interactions tie
    length = 5
    rows = history_rows(user, ts, item, length)
    order = np.lexsort((item, ts, user))
    for i in range(len(user)):
        h = rows[i][rows[i] >= 0]
        assert i not in h
        assert (user[h] == user[i]).all() and (ts[h] <= ts[i]).all()
        assert all((ts[j], item[j]) < (ts[i], item[i]) for j in h)
        mine = order[user[order] == user[i]]  # this user's rows in (time, item) order
        position = int(np.flatnonzero(mine == i)[0])
        np.testing.assert_array_equal(h, mine[max(0, position - length) : position])

    # Rewriting everything after a cutoff (other items, other later times) changes no earlier
    # example's history.
    cutoff = np.median(ts)
    future = ts > cutoff
    rng = np.random.default_rng(1)
    item2, ts2 = item.copy(), ts.copy()
    item2[future] = rng.integers(0, train.n_items, future.sum())
    ts2[future] = ts[future] + rng.integers(0, 10**6, future.sum())
    before = rows_to_items(rows, item)
    after = rows_to_items(history_rows(user, ts2, item2, length), item2)
    past = ts <= cutoff
    assert past.sum() > 100
    np.testing.assert_array_equal(after[past], before[past])
    assert (after[future] != before[future]).any()  # the check can fail


def test_session_ranks_from_the_last_training_interactions(synthetic_split):
    train = synthetic_split.train
    model = build_model("session", {"batch_size": 512, "epochs": 1, "max_length": 3})
    model.fit(train, None, np.random.default_rng(0))
    ids = train.catalogue.items["item_id"].to_numpy()[train.item]
    for u in (0, 7):
        mine = np.flatnonzero(train.user == u)
        mine = mine[np.lexsort((ids[mine], train.timestamp[mine]))]
        expected = train.item[mine[-3:]] + 1
        np.testing.assert_array_equal(model.query_features(np.array([u]))["history"][0], expected)


@pytest.mark.parametrize("name, params", [
    ("gnn", {"n_layers": 0}), ("knn_embedding", {"k": 0}), ("session", {"max_length": 0}),
])  # fmt: skip
def test_ablations_to_the_plain_two_tower_train_and_rank(synthetic_split, name, params):
    """The reproduction's cause experiments remove the seed's component: no propagation, no
    neighbours, no history; the query is then the user's own embedding."""
    model = build_model(name, {**params, "epochs": 1})
    features = model.train_features(synthetic_split.train) if name != "gnn" else None
    assert features is None or set(features) == {"user", "item"}
    model.fit(synthetic_split.train, synthetic_split.valid, np.random.default_rng(0))
    scores = model.score(np.arange(3))
    assert scores.shape == (3, synthetic_split.train.n_items) and np.isfinite(scores).all()


def test_session_without_history_needs_the_user_embedding(synthetic_split):
    from recrepro.core.errors import ConfigError

    model = build_model("session", {"max_length": 0, "user_embedding": False})
    with pytest.raises(ConfigError, match="max_length 0 leaves no query"):
        model.fit(synthetic_split.train, synthetic_split.valid, np.random.default_rng(0))


def test_session_gru_equals_keras_masked_gru_outputs_and_gradients():
    """The tower's GRU (input projections gathered per movie) is Keras's masked GRU."""
    import tensorflow as tf

    from recrepro.models.tf.towers import SessionTower

    tf.keras.utils.set_random_seed(0)
    n, d, length, batch = 30, 8, 5, 40
    rng = np.random.default_rng(0)
    sizes = rng.integers(0, length + 1, batch)  # empty histories included
    history = np.where(np.arange(length)[None, :] >= length - sizes[:, None],
                       rng.integers(1, n + 1, (batch, length)), 0).astype(np.int32)  # fmt: skip
    features = {"history": tf.constant(history), "user": tf.constant(np.arange(batch) % 7)}
    tower = SessionTower(n, d, 7)
    embedding = tf.keras.layers.Embedding(n + 1, d, mask_zero=True)
    gru = tf.keras.layers.GRU(d)
    with tf.GradientTape(persistent=True) as tape:
        out = tower(features)
        embedding.build(None)
        gru.build(tf.TensorShape([None, None, d]))
        embedding.set_weights(tower.items.get_weights())
        gru.set_weights(tower.gru.get_weights())
        ref = gru(embedding(features["history"])) + tower.user(features["user"])
        loss, ref_loss = tf.reduce_sum(tf.sin(out)), tf.reduce_sum(tf.sin(ref))
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-6, atol=1e-7)
    assert (np.abs(out.numpy()[sizes == 0] - tower.user(features["user"]).numpy()[sizes == 0]) == 0).all()
    mine = tape.gradient(loss, [tower.items.embeddings, *tower.gru.trainable_variables])
    theirs = tape.gradient(ref_loss, [embedding.embeddings, *gru.trainable_variables])
    for a, b in zip(mine, theirs, strict=True):
        np.testing.assert_allclose(tf.convert_to_tensor(a).numpy(), tf.convert_to_tensor(b).numpy(),
                                   rtol=1e-5, atol=1e-6)  # fmt: skip


def test_session_histories_are_cached_per_data_and_equal_to_rebuilding_them(monkeypatch):
    """The search's trials share the session inputs of a split: the cached arrays are those a
    rebuild gives, for each (data, max_length, same_time), and a fit is the same with or without
    the cache, also after another split was used in between."""
    from conftest import make_split
    from recrepro.models import session

    first, second = make_split(0).train, make_split(1, n_users=120).train

    def rebuilt(train, length, same_time):
        tiebreak = train.catalogue.items["item_id"].to_numpy()[train.item]
        rows = history_rows(train.user, train.timestamp, tiebreak, length, same_time)
        last = last_rows(train.user, train.timestamp, tiebreak, train.n_users, length)
        return rows_to_items(rows, train.item), rows_to_items(last, train.item)

    for train, length, same_time in [(first, 3, True), (second, 3, True), (first, 5, False),
                                     (first, 3, True)]:  # fmt: skip
        got = session.session_histories(train, length, same_time)
        for array, expected in zip(got, rebuilt(train, length, same_time), strict=True):
            np.testing.assert_array_equal(array, expected)
            assert not array.flags.writeable
    assert session.session_histories(first, 3, True)[0] is session.session_histories(
        first, 3, True
    )[0]

    def fit_scores(train):
        model = build_model("session", {"batch_size": 512, "epochs": 1, "max_length": 3})
        return model.fit(train, None, np.random.default_rng(0)).score(np.arange(20))

    cached = [fit_scores(first), fit_scores(second), fit_scores(first)]
    monkeypatch.setattr(session, "_HISTORIES", type(session._HISTORIES)())
    np.testing.assert_array_equal(cached[0], fit_scores(first))
    np.testing.assert_array_equal(cached[2], cached[0])
    monkeypatch.setattr(session, "_HISTORIES", type(session._HISTORIES)())
    np.testing.assert_array_equal(cached[1], fit_scores(second))
