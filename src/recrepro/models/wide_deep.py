"""Wide & deep retrieval model of seed 002 (2)."""

from __future__ import annotations

from typing import Any, ClassVar

from recrepro.data.interactions import Interactions
from recrepro.models.registry import register
from recrepro.models.tf.bases import RetrievalRecommender


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

    Differs: the seed names a wide & deep model but describes only the deep towers, so the wide
    part (movie bias and user x genre crosses, trained jointly with Adagrad instead of FTRL) and
    the 32-dimensional sizes are ours; movies are keyed by id, not title.
    """

    #: TensorFlow float32 kernels and their reduction order differ by CPU (oneDNN build)
    exact_across_cpus = False
    source = "Seed 002 (2); TFRS retrieval tutorial; Cheng et al. (2016), DLRS"
    citation = r"""
@inproceedings{cheng2016wide,
  author    = {Cheng, Heng-Tze and Koc, Levent and Harmsen, Jeremiah and Shaked, Tal and
               Chandra, Tushar and Aradhye, Hrishi and Anderson, Glen and Corrado, Greg and
               Chai, Wei and Ispir, Mustafa and Anil, Rohan and Haque, Zakaria and Hong, Lichan
               and Jain, Vihan and Liu, Xiaobing and Shah, Hemal},
  title     = {Wide \& Deep Learning for Recommender Systems},
  booktitle = {Proceedings of the 1st Workshop on Deep Learning for Recommender Systems (DLRS)},
  pages     = {7--10},
  year      = {2016},
  doi       = {10.1145/2988450.2988454}
}
""" + RetrievalRecommender.citation
    colour, marker, hatch = "#FFBB78", "o", "\\\\"
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
        from recrepro.models.tf.layers import Concat
        from recrepro.models.tf.towers import WideUser

        return Concat([deep, WideUser(train.n_users, train.catalogue.genre_matrix.shape[1])])

    def build_candidate_tower(self, tf: Any, train: Interactions) -> Any:
        deep = super().build_candidate_tower(tf, train)
        if not self.params["wide"]:
            return deep
        from recrepro.models.tf.layers import Concat
        from recrepro.models.tf.towers import WideItem

        return Concat([deep, WideItem(train.catalogue.genre_matrix)])
