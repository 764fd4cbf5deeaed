"""TFRS two-tower retrieval models (seeds 000 and 002).

All the seed systems of this family are the TensorFlow Recommenders retrieval recipe: a query
(user) tower and a candidate (movie) tower of embeddings, trained with ``tfrs.tasks.Retrieval``
(in-batch softmax over the batch's movies), and recommendations by brute-force search over all
movie embeddings. Brute-force search is exactly the product of the user embedding with every
movie embedding, which ``score`` computes directly; ``FactorizedTopK`` is computed by the shared
evaluator (``factorized_top@K``) for every model rather than inside training, where it would
only slow the epochs down.

The shared parts (towers, the train loop, the objectives) live in :mod:`recrepro.models.tf`.
``objective: in_batch`` (faithful) is ``tfrs.tasks.Retrieval``'s loss, computed over the batch's
distinct movies (equal up to round-off, about 6x cheaper per step at batch 8,192); the tuned
setting may also choose ``in_batch_logq`` or ``full_softmax`` and an ``l2`` penalty.

The seeds key movies by title; MovieLens 100K titles are not unique (several distinct movies
share a title), so every model here keys movies by their MovieLens id.

Seed 000's systems are the notebook ``2022506030-SrinivasanK.ipynb`` of
github.com/Srini-23/HarpyIntern_Project1 (the seed is its README). The seed text gives no
numbers; the notebook does, and the ``defaults`` below are the notebook's.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, ClassVar

import numpy as np

from recrepro.data.interactions import Interactions
from recrepro.models.registry import register
from recrepro.models.tf.bases import RetrievalRecommender


@register("two_tower")
class TwoTower(RetrievalRecommender):
    """Two-tower retrieval model of seed 002 (1), which follows the TFRS basic retrieval tutorial.

    Faithful: user and movie towers are 32-dimensional embeddings over vocabularies of the ids,
    trained with the retrieval task and Adagrad (learning rate 0.1) for three epochs on batches of
    8192, recommendations by brute-force search. Differs: movies keyed by id, not title (titles
    are not unique); training uses the split's training interactions only.
    """

    #: TensorFlow float32 kernels and their reduction order differ by CPU (oneDNN build)
    exact_across_cpus = False
    source = "Seed 002 (1); TFRS basic retrieval tutorial"
    colour, marker, hatch = "#FF7F0E", "h", "xx"


#: Training settings of seed 000's notebook for its two basic models (Adagrad(0.5), batch 4096,
#: 3 epochs, 64-dimensional embeddings).
_SEED_000_BASIC = {
    **RetrievalRecommender.defaults,
    "embedding_dim": 64,
    "learning_rate": 0.5,
    "batch_size": 4096,
    "epochs": 3,
}


@register("collaborative")
class Collaborative(RetrievalRecommender):
    """Collaborative model of seed 000 (1): TFRS retrieval over user and movie id embeddings.

    Faithful (the seed's notebook, see the module docstring): 64-dimensional user and movie
    embeddings, the retrieval task, Adagrad with learning rate 0.5, 3 epochs on batches of 4096,
    brute-force search. Differs: the towers embed integer indices; the notebook puts a
    ``StringLookup`` in front, a bijection that does not change the model (``basic_retrieval``
    keeps it); movies are keyed by id, not title; only the split's training interactions are
    used; the in-training ``FactorizedTopK`` metric is computed by the evaluator instead.
    """

    #: TensorFlow float32 kernels and their reduction order differ by CPU (oneDNN build)
    exact_across_cpus = False
    source = "Seed 000 (1); Srini-23/HarpyIntern_Project1 notebook, model 1"
    colour, marker, hatch = "#1F77B4", "<", ""
    defaults: ClassVar[dict[str, Any]] = dict(_SEED_000_BASIC)


@register("basic_retrieval")
class BasicRetrieval(RetrievalRecommender):
    """Basic MovieLens model of seed 000 (2): ``StringLookup`` + ``Embedding`` towers.

    Faithful: each tower is ``Sequential([StringLookup(vocabulary of ids), Embedding(., 64)])``,
    the retrieval loss in a ``tfrs.Model``, Adagrad with learning rate 0.5, 3 epochs on batches
    of 4096 (the seed's notebook). Differs: the lookup has no mask/OOV rows (the notebook's two
    extra embedding rows are never used); movies keyed by id, not title; ``FactorizedTopK`` is
    computed by the evaluator. Identical in function to ``collaborative``: the pair checks that
    the lookup layer does not matter.
    """

    #: TensorFlow float32 kernels and their reduction order differ by CPU (oneDNN build)
    exact_across_cpus = False
    source = "Seed 000 (2); Srini-23/HarpyIntern_Project1 notebook, model 2"
    colour, marker, hatch = "#AEC7E8", ">", "//"
    defaults: ClassVar[dict[str, Any]] = {**_SEED_000_BASIC, "string_lookup": True}


@register("enhanced_retrieval")
class EnhancedRetrieval(RetrievalRecommender):
    """Enhanced MovieLens model of seed 000 (3): an extra Dense layer per tower, Adam.

    Faithful (the seed's notebook): ``StringLookup`` + ``Embedding(., 64)`` followed by
    ``Dense(32, activation="relu")`` in both towers, the retrieval task, Adam with learning rate
    0.01, 5 epochs on batches of 4096. The notebook loads the timestamps but its towers never
    read them, so ``timestamp_features`` is off in the faithful setting; switching it on feeds a
    bucketised-timestamp embedding and the normalised timestamp to the query tower (queries at
    ranking time use the user's last training timestamp). Differs: movies keyed by id;
    ``FactorizedTopK`` is computed by the evaluator.

    Options off in the faithful setting give the TFRS deep-retrieval tutorial's model for the
    reproduction's cause experiment: ``title_text`` adds the mean word embedding of the movie
    title to the candidate tower (:func:`title_tokens`), ``output_activation: null`` makes the
    last Dense layer linear, as the tutorial's (the seed's is ReLU), and the base family's
    ``time_buckets: 1000`` and ``query_time: interaction`` bucket timestamps and query test
    ratings as the tutorial does (each test rating's own timestamp in its query).
    """

    #: TensorFlow float32 kernels and their reduction order differ by CPU (oneDNN build)
    exact_across_cpus = False
    source = "Seed 000 (3); Srini-23/HarpyIntern_Project1 notebook, model 3"
    citation = r"""
@misc{tfrsDeepRetrieval,
  author       = {{TensorFlow Recommenders Authors}},
  title        = {Building deep retrieval models},
  howpublished = {\url{https://www.tensorflow.org/recommenders/examples/deep_recommenders}},
  year         = {2020},
  note         = {TensorFlow Recommenders tutorial}
}
"""
    colour, marker, hatch = "#393B79", "*", ".."
    defaults: ClassVar[dict[str, Any]] = {
        **_SEED_000_BASIC,
        "string_lookup": True,
        "hidden_units": [32],
        "optimizer": "adam",
        "learning_rate": 0.01,
        "epochs": 5,
        "title_text": False,
        "output_activation": "relu",
    }

    @property
    def output_activation(self) -> str | None:  # type: ignore[override]
        return self.params["output_activation"]

    def build_candidate_tower(self, tf: Any, train: Interactions) -> Any:
        if not self.params["title_text"]:
            return super().build_candidate_tower(tf, train)
        from recrepro.models.tf.layers import Concat
        from recrepro.models.tf.towers import TitleText

        tokens, vocabulary = title_tokens(train.catalogue.items["title"].astype(str).tolist())
        dim = self.params["embedding_dim"]
        parts = [self._id_embedding(tf, "item", train.n_items), TitleText(tokens, vocabulary, dim)]
        return Concat(parts, self.tower_head(tf, len(parts)))


def title_tokens(titles: list[str]) -> tuple[np.ndarray, int]:
    """Titles as a ``[N, L]`` matrix of word indices (1-based, 0 = padding) and the vocabulary
    size, standardised like ``TextVectorization``'s default (lower case, punctuation removed,
    split on whitespace); words are indexed by descending frequency, then alphabetically."""
    words = [re.sub(r"[^\w\s]", "", title.lower()).split() for title in titles]
    counts = Counter(w for ws in words for w in ws)
    index = {w: i + 1 for i, (w, _) in enumerate(sorted(counts.items(), key=lambda x: (-x[1], x[0])))}
    tokens = np.zeros((len(titles), max((len(ws) for ws in words), default=1) or 1), np.int32)
    for row, ws in enumerate(words):
        tokens[row, : len(ws)] = [index[w] for w in ws]
    return tokens, len(index)
