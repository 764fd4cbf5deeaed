"""Biased matrix factorisation of explicit ratings, trained by alternating least squares."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from recrepro.core.errors import ConfigError, DataError
from recrepro.data.interactions import Interactions
from recrepro.models._sparse import row_blocks
from recrepro.models.base import Recommender
from recrepro.models.registry import register


@register("biased_mf")
class BiasedMF(Recommender):
    """Biased MF (Koren, Bell & Volinsky 2009, IEEE Computer): ``mu + b_u + b_i + p_u . q_i``.

    Trained by alternating least squares with biases: with the items fixed, each user's
    ``[p_u, b_u]`` is the ridge solution for the residuals ``r - mu - b_i`` of its ratings, and
    symmetrically for items. The factor penalty of a user (item) is ``reg`` times its number of
    ratings (weighted-lambda ALS, Zhou et al. 2008); the bias penalty is a constant
    ``bias_reg``, which shrinks the biases of rarely rated items towards zero (as Koren's
    baseline predictors do). Biases start from those shrunk averages and factors from
    ``N(0, init_std^2)`` drawn from ``rng``, so training is deterministic.

    ``history`` records the training RMSE per epoch as ``loss`` (and ``val_rmse`` when
    validation data is given). With ``patience > 0`` training stops once the validation RMSE
    has not improved for ``patience`` epochs and the best epoch's parameters are kept.
    ``score`` returns the (unclipped) predicted ratings of all items; ``predict`` clips them to
    the training rating range.

    Hyperparameters: ``factors``, ``epochs`` (maximum ALS sweeps), ``reg`` (factor penalty per
    rating), ``bias_reg`` (bias penalty), ``init_std`` (factor initialisation scale),
    ``patience`` (early-stopping epochs; 0 trains all ``epochs``). Defaults were chosen on the
    validation RMSE of a random 80/10/10 split of MovieLens 100K.
    """

    #: seeded NumPy float64 ALS solves, one BLAS thread: same numbers on any CPU
    exact_across_cpus = True
    source = "Koren, Bell & Volinsky (2009), IEEE Computer; Zhou et al. (2008), AAIM"
    citation = r"""
@article{koren2009matrix,
  author  = {Koren, Yehuda and Bell, Robert and Volinsky, Chris},
  title   = {Matrix Factorization Techniques for Recommender Systems},
  journal = {Computer},
  volume  = {42},
  number  = {8},
  pages   = {30--37},
  year    = {2009},
  doi     = {10.1109/MC.2009.263}
}
"""
    colour, marker, hatch = "#17BECF", "v", "\\\\"
    #: rating prediction only: tuned on validation RMSE
    task = "rating"
    search_space = {
        "factors": [16, 32, 64, 128],
        "reg": {"low": 0.01, "high": 1.0, "log": True},
        "bias_reg": {"low": 0.5, "high": 50.0, "log": True},
    }
    predicts_ratings = True
    defaults = {
        "factors": 64,
        "epochs": 20,
        "reg": 0.1,
        "bias_reg": 5.0,
        "init_std": 0.1,
        "patience": 3,
    }

    def fit(
        self, train: Interactions, valid: Interactions | None, rng: np.random.Generator
    ) -> BiasedMF:
        self._check_params()
        self.n_users, self.n_items = train.n_users, train.n_items
        if len(train) == 0:
            raise DataError("model 'biased_mf': the training set has no ratings; check the split")
        ratings = train.rating.astype(np.float64)
        self.mean_ = float(ratings.mean())
        self.rating_range_ = (float(ratings.min()), float(ratings.max()))
        by_user = _grouped(train.user, train.item, ratings, self.n_users, self.n_items)
        by_item = _grouped(train.item, train.user, ratings, self.n_items, self.n_users)
        self._init_params(train, ratings, rng)
        patience = int(self.params["patience"])
        early_stopping = patience > 0 and valid is not None and len(valid) > 0
        best, best_rmse, stale = None, np.inf, 0
        for _ in range(int(self.params["epochs"])):
            self._solve_side(
                by_user, self.user_factors_, self.user_bias_, self.item_factors_, self.item_bias_
            )
            self._solve_side(
                by_item, self.item_factors_, self.item_bias_, self.user_factors_, self.user_bias_
            )
            values = {"loss": self._rmse(train)}
            if valid is not None and len(valid) > 0:
                values["val_rmse"] = self._rmse(valid)
            self.log_epoch(**values)
            if not early_stopping:
                continue
            if values["val_rmse"] < best_rmse:
                best, best_rmse, stale = self._state(), values["val_rmse"], 0
                self.best_epoch_ = len(self.history)
            else:
                stale += 1
                if stale >= patience:
                    break
        if best is not None:
            self._restore(best)
        else:
            self.best_epoch_ = len(self.history)
        return self

    def score(self, users: np.ndarray) -> np.ndarray:
        users = np.asarray(users)
        scores = self.user_factors_[users] @ self.item_factors_.T
        scores += self.mean_ + self.user_bias_[users, None] + self.item_bias_[None, :]
        return scores.astype(np.float32)

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        users, items = np.asarray(users), np.asarray(items)
        raw = (
            self.mean_
            + self.user_bias_[users]
            + self.item_bias_[items]
            + np.einsum("ij,ij->i", self.user_factors_[users], self.item_factors_[items])
        )
        return np.clip(raw, *self.rating_range_).astype(np.float32)

    def _check_params(self) -> None:
        p = self.params
        if int(p["factors"]) < 0 or int(p["epochs"]) < 1 or int(p["patience"]) < 0:
            raise ConfigError(  # factors 0: the biases alone (Surprise's BaselineOnly)
                "model 'biased_mf': need factors >= 0, epochs >= 1 and patience >= 0, got "
                f"{p['factors']}, {p['epochs']}, {p['patience']}"
            )
        if float(p["reg"]) <= 0 or float(p["bias_reg"]) < 0 or float(p["init_std"]) < 0:
            raise ConfigError(
                "model 'biased_mf': need reg > 0, bias_reg >= 0 and init_std >= 0, got "
                f"{p['reg']}, {p['bias_reg']}, {p['init_std']}"
            )

    def _init_params(
        self, train: Interactions, ratings: np.ndarray, rng: np.random.Generator
    ) -> None:
        k, std = int(self.params["factors"]), float(self.params["init_std"])
        self.user_factors_ = rng.normal(0.0, std, (self.n_users, k))
        self.item_factors_ = rng.normal(0.0, std, (self.n_items, k))
        # Shrunk average deviations (Koren 2010's baseline predictors) as bias starts.
        shrink = float(self.params["bias_reg"])
        residual = ratings - self.mean_
        self.item_bias_ = _shrunk_means(train.item, residual, self.n_items, shrink)
        residual = residual - self.item_bias_[train.item]
        self.user_bias_ = _shrunk_means(train.user, residual, self.n_users, shrink)

    def _solve_side(
        self,
        groups: sp.csr_matrix,
        factors: np.ndarray,
        bias: np.ndarray,
        other_factors: np.ndarray,
        other_bias: np.ndarray,
    ) -> None:
        """Ridge-solve ``[factors, bias]`` of every row of ``groups`` with the other side fixed."""
        k = factors.shape[1]
        design = np.hstack([other_factors, np.ones((len(other_factors), 1))])
        target = groups.data - self.mean_ - other_bias[groups.indices]
        counts = np.diff(groups.indptr)
        diag = np.arange(k)
        # The (rows, k+1, k+1) normal equations are built and solved a block of rows at a time
        # (a few MiB each), not for every user at once (5.5 GB for ML-25M at k = 64).
        for block in row_blocks(groups.shape[0], (k + 1) * (k + 2)):
            n = block.stop - block.start
            gram = np.empty((n, k + 1, k + 1))
            rhs = np.empty((n, k + 1))
            # Thousands of tiny products: multithreaded BLAS only adds overhead (5x under load).
            with threadpool_limits(limits=1, user_api="blas"):
                for row in range(n):
                    start, stop = groups.indptr[block.start + row], groups.indptr[block.start + row + 1]
                    rows = design[groups.indices[start:stop]]
                    gram[row] = rows.T @ rows
                    rhs[row] = rows.T @ target[start:stop]
            gram[:, diag, diag] += float(self.params["reg"]) * counts[block, None]
            gram[:, k, k] += float(self.params["bias_reg"])
            gram[counts[block] == 0] += np.eye(k + 1)  # rows without ratings: solution 0
            solution = np.linalg.solve(gram, rhs[..., None])[..., 0]
            factors[block] = solution[:, :k]
            bias[block] = solution[:, k]

    def _rmse(self, data: Interactions) -> float:
        error = self.predict(data.user, data.item) - data.rating
        return float(np.sqrt(np.mean(np.square(error, dtype=np.float64))))

    def _state(self) -> tuple[np.ndarray, ...]:
        return tuple(
            a.copy()
            for a in (self.user_factors_, self.user_bias_, self.item_factors_, self.item_bias_)
        )

    def _restore(self, state: tuple[np.ndarray, ...]) -> None:
        self.user_factors_, self.user_bias_, self.item_factors_, self.item_bias_ = state


def _grouped(
    rows: np.ndarray, cols: np.ndarray, ratings: np.ndarray, n_rows: int, n_cols: int
) -> sp.csr_matrix:
    """Ratings as a CSR matrix grouped by ``rows`` (duplicate pairs keep the mean rating)."""
    total = sp.csr_matrix((ratings, (rows, cols)), shape=(n_rows, n_cols))
    count = sp.csr_matrix((np.ones_like(ratings), (rows, cols)), shape=(n_rows, n_cols))
    total.sum_duplicates()
    count.sum_duplicates()
    total.data /= count.data
    return total


def _shrunk_means(index: np.ndarray, values: np.ndarray, size: int, shrink: float) -> np.ndarray:
    """Per-index ``sum(values) / (count + shrink)`` (0 where an index has no values)."""
    totals = np.bincount(index, values, minlength=size)
    counts = np.bincount(index, minlength=size)
    return totals / np.maximum(counts + shrink, 1.0)
