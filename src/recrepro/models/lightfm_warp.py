"""LightFM with the WARP loss, seed 002 (3)."""

from __future__ import annotations

import os
from typing import Any, ClassVar

import numpy as np

from recrepro.core.errors import ConfigError
from recrepro.data.interactions import Interactions
from recrepro.models.base import Recommender
from recrepro.models.registry import register
from recrepro.models.tf.training import validation_callback

LOSSES = ("warp", "bpr", "logistic", "warp-kos")


def lightfm_threads() -> int:
    """Threads for LightFM's Hogwild SGD: ``RECREPRO_THREADS`` (default 1, which keeps runs
    bit-for-bit reproducible; more threads update the parameters in a racy order)."""
    return max(1, int(os.environ.get("RECREPRO_THREADS", "1") or 1))


@register("lightfm_warp")
class LightFMWarp(Recommender):
    """LightFM (Kula 2015) of seed 002 (3): ``LightFM(no_components=64, loss="warp")``, 10 epochs.

    Faithful: a pure collaborative LightFM model (no user or item features, so it is matrix
    factorisation with biases) with 64 components and the WARP loss, trained for 10 epochs on
    the user x movie interaction matrix; scores of all movies for a user, best first. The seed
    does not set the other options, so LightFM's defaults apply (learning rate 0.05, adagrad
    schedule, no regularisation, ``max_sampled`` 10). Differs: training runs one epoch at a time
    (``fit_partial``), which is the same computation, so ``history`` gets one entry per epoch:
    the validation metric the study tunes on (NDCG@10 by default; LightFM exposes no training
    loss). Every rated movie is a positive (WARP ignores the rating values the seed passed along);
    movies keyed by id, not title. The random state is drawn from the run's generator, and
    training runs on one thread unless ``RECREPRO_THREADS`` says otherwise (more threads update
    the parameters in a racy order).
    """

    #: LightFM's extension is compiled at install for the host CPU, so its float32 SGD differs by CPU
    exact_across_cpus = False
    libraries: ClassVar[tuple[str, ...]] = ("lightfm",)

    source = "Seed 002 (3); LightFM (Kula 2015, CBRecSys)"
    citation = r"""
@inproceedings{kula2015metadata,
  author    = {Kula, Maciej},
  title     = {Metadata Embeddings for User and Item Cold-start Recommendations},
  booktitle = {Proceedings of the 2nd Workshop on New Trends on Content-Based Recommender
               Systems (CBRecSys 2015), CEUR Workshop Proceedings 1448},
  pages     = {14--21},
  year      = {2015}
}

@inproceedings{weston2011wsabie,
  author    = {Weston, Jason and Bengio, Samy and Usunier, Nicolas},
  title     = {{WSABIE}: Scaling Up to Large Vocabulary Image Annotation},
  booktitle = {Proceedings of the 22nd International Joint Conference on Artificial
               Intelligence (IJCAI)},
  pages     = {2764--2770},
  year      = {2011}
}
"""
    colour, marker, hatch = "#E377C2", "v", "//"
    search_space = {
        "learning_rate": {"low": 0.005, "high": 0.2, "log": True},
        "no_components": [32, 64, 128],
        "epochs": {"low": 5, "high": 40},
        "item_alpha": [0.0, 1.0e-6, 1.0e-5],
        "user_alpha": [0.0, 1.0e-6, 1.0e-5],
    }
    defaults: ClassVar[dict[str, Any]] = {
        "no_components": 64,
        "loss": "warp",
        "epochs": 10,
        "learning_rate": 0.05,
        "item_alpha": 0.0,
        "user_alpha": 0.0,
        "max_sampled": 10,
    }

    def fit(
        self, train: Interactions, valid: Interactions | None, rng: np.random.Generator
    ) -> LightFMWarp:
        from lightfm import LightFM

        self.n_users, self.n_items = train.n_users, train.n_items
        epochs = self.params["epochs"]
        if int(epochs) != epochs or epochs < 1:
            raise ConfigError(f"model '{self.name}': epochs must be an integer >= 1, got {epochs}")
        if self.params["loss"] not in LOSSES:
            raise ConfigError(
                f"model '{self.name}': unknown loss '{self.params['loss']}'; use one of "
                f"{', '.join(LOSSES)}"
            )
        self.model_ = LightFM(
            no_components=int(self.params["no_components"]),
            loss=self.params["loss"],
            learning_rate=float(self.params["learning_rate"]),
            item_alpha=float(self.params["item_alpha"]),
            user_alpha=float(self.params["user_alpha"]),
            max_sampled=int(self.params["max_sampled"]),
            random_state=np.random.RandomState(int(rng.integers(2**31 - 1))),
        )
        interactions = train.matrix().tocoo()
        validate = validation_callback(self, train, valid)
        for _ in range(int(self.params["epochs"])):
            self.model_.fit_partial(interactions, epochs=1, num_threads=lightfm_threads())
            self.log_epoch(**(validate() if validate else {}))
        return self

    def score(self, users: np.ndarray) -> np.ndarray:
        users = np.asarray(users)
        m = self.model_
        scores = m.user_embeddings[users] @ m.item_embeddings.T
        scores += m.item_biases[None, :] + m.user_biases[users, None]
        return scores.astype(np.float32)
