"""Implicit-feedback matrix factorisation from the ``implicit`` library: iALS and BPR.

Both learn user and item factors from the binary user x item training matrix (every rating is a
positive) and score the full catalogue by ``user_factors @ item_factors.T``. They run on the CPU
with one thread (bit-for-bit reproducible; Hogwild BPR with more threads is racy), seeded from the
run's generator. Their faithful setting is the library's defaults; ``validate_every`` iterations
they log the validation metric the study tunes on (NDCG@10 by default; the tuner's pruning signal
and the training curves).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from threadpoolctl import threadpool_limits

from recrepro.core.errors import ConfigError
from recrepro.data.interactions import Interactions
from recrepro.models.base import Recommender
from recrepro.models.registry import register
from recrepro.models.tf.training import validation_callback


class ImplicitRecommender(Recommender):
    """Base of the ``implicit`` models: builds the library model, fits, scores by dot product."""

    libraries: ClassVar[tuple[str, ...]] = ("implicit.cpu.als", "implicit.cpu.bpr")
    #: Hyperparameters passed to the library's class unchanged.
    library_params: ClassVar[tuple[str, ...]] = ()

    def library_model(self, **kwargs: Any) -> Any:
        """The ``implicit.cpu`` model with ``kwargs`` (threads and random state)."""
        raise NotImplementedError

    def fit(
        self, train: Interactions, valid: Interactions | None, rng: np.random.Generator
    ) -> ImplicitRecommender:
        self.n_users, self.n_items = train.n_users, train.n_items
        every = int(self.params["validate_every"])
        if int(self.params["iterations"]) < 1 or int(self.params["factors"]) < 1 or every < 0:
            raise ConfigError(
                f"model '{self.name}': need iterations >= 1, factors >= 1 and validate_every >= 0, "
                f"got {self.params['iterations']}, {self.params['factors']}, {every}"
            )
        validate = validation_callback(self, train, valid) if every else None

        def after_iteration(iteration: int, *_: Any) -> None:
            if validate is not None and (iteration + 1) % every == 0:
                self.log_epoch(**validate())

        with threadpool_limits(1, "blas"):  # one thread, as the library recommends
            self.model_ = self.library_model(
                **{name: self.params[name] for name in self.library_params},
                num_threads=1,
                random_state=int(rng.integers(2**31 - 1)),
            )
            self.model_.fit(train.matrix(), show_progress=False, callback=after_iteration)
        return self

    def score(self, users: np.ndarray) -> np.ndarray:
        users = np.asarray(users)
        return (self.model_.user_factors[users] @ self.model_.item_factors.T).astype(np.float32)


@register("ials")
class IALS(ImplicitRecommender):
    """Implicit ALS (Hu, Koren and Volinsky 2008, ICDM; ``implicit.cpu.als``).

    Minimises ``sum_ui c_ui (p_ui - x_u.y_i)^2 + regularization (|X|^2 + |Y|^2)`` with
    ``p_ui = 1`` for a training interaction, else 0, and confidence ``c_ui = alpha`` for an
    interaction, else 1 (the library's weighting), by alternating least-squares solves: users
    first, then items, ``iterations`` times. Hyperparameters (library defaults): ``factors`` 100,
    ``regularization`` 0.01, ``alpha`` 1.0, ``iterations`` 15, ``use_cg`` True (three
    conjugate-gradient steps per solve, about 10x faster than the exact Cholesky solve that
    ``use_cg: false`` gives); ``validate_every`` 3 (five validations, about 0.1 CPU-s each on
    ML-100K).
    """

    #: implicit's ALS with one thread, seeded: same numbers on any CPU
    exact_across_cpus = True
    source = "Hu et al. 2008 (ICDM); implicit library"
    citation = r"""
@inproceedings{hu2008collaborative,
  author    = {Hu, Yifan and Koren, Yehuda and Volinsky, Chris},
  title     = {Collaborative Filtering for Implicit Feedback Datasets},
  booktitle = {Proceedings of the 8th IEEE International Conference on Data Mining (ICDM)},
  pages     = {263--272},
  year      = {2008},
  doi       = {10.1109/ICDM.2008.22}
}

@inproceedings{rendle2022revisiting,
  author    = {Rendle, Steffen and Krichene, Walid and Zhang, Li and Koren, Yehuda},
  title     = {Revisiting the Performance of {iALS} on Item Recommendation Benchmarks},
  booktitle = {Proceedings of the 16th ACM Conference on Recommender Systems (RecSys)},
  pages     = {427--435},
  year      = {2022},
  doi       = {10.1145/3523227.3548486}
}
"""
    colour, marker, hatch = "#006D2C", "P", "oo"
    search_space = {
        "factors": [32, 64, 128],
        "regularization": {"low": 0.01, "high": 100.0, "log": True},
        "alpha": {"low": 0.5, "high": 50.0, "log": True},
        "iterations": {"low": 5, "high": 30},
    }
    defaults: ClassVar[dict[str, Any]] = {
        "factors": 100,
        "regularization": 0.01,
        "alpha": 1.0,
        "iterations": 15,
        "use_cg": True,
        "validate_every": 3,
    }
    library_params = ("factors", "regularization", "alpha", "iterations", "use_cg")

    def library_model(self, **kwargs: Any) -> Any:
        from implicit.cpu.als import AlternatingLeastSquares

        return AlternatingLeastSquares(**kwargs)


@register("bpr")
class BPR(ImplicitRecommender):
    """Bayesian personalised ranking (Rendle et al. 2009, UAI; ``implicit.cpu.bpr``).

    SGD on ``-log sigmoid(x_u.(y_i - y_j))`` plus L2 ``regularization`` over (user, positive,
    sampled negative) triples, one pass over the training interactions per iteration; the item
    factors carry a bias column. Hyperparameters (library defaults): ``factors`` 100,
    ``learning_rate`` 0.01, ``regularization`` 0.01, ``iterations`` 100; ``validate_every`` 20.
    """

    #: implicit's BPR with one thread: a sequential scalar SGD loop, seeded mt19937, no CPU dispatch
    exact_across_cpus = True
    source = "Rendle et al. 2009 (UAI); implicit library"
    citation = r"""
@inproceedings{rendle2009bpr,
  author    = {Rendle, Steffen and Freudenthaler, Christoph and Gantner, Zeno and
               Schmidt-Thieme, Lars},
  title     = {{BPR}: Bayesian Personalized Ranking from Implicit Feedback},
  booktitle = {Proceedings of the 25th Conference on Uncertainty in Artificial Intelligence
               (UAI)},
  pages     = {452--461},
  year      = {2009}
}
"""
    colour, marker, hatch = "#A6761D", "X", "--"
    search_space = {
        "factors": [32, 64, 128],
        "learning_rate": {"low": 0.001, "high": 0.1, "log": True},
        "regularization": {"low": 0.0001, "high": 0.1, "log": True},
        "iterations": {"low": 20, "high": 200},
    }
    defaults: ClassVar[dict[str, Any]] = {
        "factors": 100,
        "learning_rate": 0.01,
        "regularization": 0.01,
        "iterations": 100,
        "validate_every": 20,
    }
    library_params = ("factors", "learning_rate", "regularization", "iterations")

    def library_model(self, **kwargs: Any) -> Any:
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        return BayesianPersonalizedRanking(**kwargs)
