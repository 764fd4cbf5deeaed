"""Wide & deep retrieval model of seed 002 (2)."""

from __future__ import annotations

from functools import cache
from typing import Any, ClassVar

from recrepro.data.interactions import Interactions
from recrepro.models.registry import register
from recrepro.models.retrieval import RetrievalRecommender, keras_classes


@cache
def wide_classes(tf: Any) -> dict[str, type]:
    """Keras layers of the wide part, built once TensorFlow is imported."""

    class WideUser(tf.keras.layers.Layer):
        """Query side of the wide part: the user's weights on the genre crosses, and a 1 that
        multiplies the movie bias."""

        def __init__(self, n_users: int, n_genres: int) -> None:
            super().__init__()
            self.genre_weights = tf.keras.layers.Embedding(
                n_users, n_genres, embeddings_initializer="zeros"
            )

        def call(self, features: dict[str, Any]) -> Any:
            w = self.genre_weights(features["user"])
            return tf.concat([w, tf.ones_like(w[:, :1])], axis=1)

    class WideItem(tf.keras.layers.Layer):
        """Candidate side of the wide part: the movie's (fixed) genre indicators and its bias."""

        def __init__(self, genres: Any) -> None:
            super().__init__()
            self.genres = tf.constant(genres, tf.float32)
            self.bias = tf.keras.layers.Embedding(len(genres), 1, embeddings_initializer="zeros")

        def call(self, items: Any) -> Any:
            return tf.concat([tf.gather(self.genres, items), self.bias(items)], axis=1)

    return {"WideUser": WideUser, "WideItem": WideItem}


@register("wide_deep")
class WideDeep(RetrievalRecommender):
    """Wide & deep model of seed 002 (2): Embedding + Dense towers (deep) plus a linear wide part.

    Deep part, faithful to the seed: each tower is ``StringLookup`` -> ``Embedding`` -> ``Dense``
    (one linear Dense layer "for embedding transformation"), trained with the TFRS retrieval task,
    Adagrad with learning rate 0.5, 3 epochs on batches of 4096, recommendations by brute-force
    search. The seed gives no sizes: 32-dimensional embeddings and Dense layer as in the TFRS
    tutorial the seed follows (and its two-tower model).

    Wide part (not described by the seed, which only names the model; added so that the model is
    what its name says, after Cheng et al. 2016): a linear model over sparse features whose
    logit is added to the deep dot product, ``s(u, i) = deep_u . deep_i + b_i + w_u . g_i``:
    ``b_i`` is a learned per-movie bias (the one-hot movie-id feature: memorises popularity) and
    ``w_u . g_i`` the cross-product features ``AND(user = u, genre = g)`` for the genres ``g_i``
    of the movie (memorises per-user genre preferences). Both start at zero. The wide part is
    written as extra embedding coordinates (query ``[deep_u, w_u, 1]``, candidate
    ``[deep_i, g_i, b_i]``), so the retrieval task and brute-force search apply unchanged and
    ``score`` is still one matrix product. Both parts are trained jointly by the same optimiser
    (the paper used FTRL for the wide part). ``wide: false`` gives the deep part alone.
    """

    source = "Seed 002 (2); TFRS retrieval tutorial; Cheng et al. (2016), DLRS"
    defaults: ClassVar[dict[str, Any]] = {
        **RetrievalRecommender.defaults,
        "hidden_units": [32],
        "learning_rate": 0.5,
        "batch_size": 4096,
        "epochs": 3,
        "string_lookup": True,
        "wide": True,
    }

    def build_query_tower(self, tf: Any, train: Interactions) -> Any:
        deep = super().build_query_tower(tf, train)
        if not self.params["wide"]:
            return deep
        wide = wide_classes(tf)["WideUser"](train.n_users, train.catalogue.genre_matrix.shape[1])
        return keras_classes(tf)["Concat"]([deep, wide])

    def build_candidate_tower(self, tf: Any, train: Interactions) -> Any:
        deep = super().build_candidate_tower(tf, train)
        if not self.params["wide"]:
            return deep
        wide = wide_classes(tf)["WideItem"](train.catalogue.genre_matrix)
        return keras_classes(tf)["Concat"]([deep, wide])
