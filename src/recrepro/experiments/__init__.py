"""Sources' own evaluation code, run here (the ``experiment:<name>`` rows of the reproduction
table, :mod:`recrepro.report.reproduction`).

Each experiment is registered in :data:`EXPERIMENTS` as an :class:`Experiment`: its ``run``
takes the parsed dataset's folder, the split's folder (None when the source makes its own folds
from the data, ``needs_split`` False) and the seed, and returns the source's metrics named
``<algorithm>.<metric>`` (e.g. ``warp.precision@10_test``, ``SVD.rmse``). A ``deterministic``
experiment gives the same numbers for every seed, so the workflow runs it for one seed only.

* ``lightfm_example`` (:mod:`.lightfm_example`): LightFM's MovieLens example, WARP and BPR, and
  random and popularity scores under the same metrics, on ``grouplens_ua``;
* ``surprise_benchmark`` and ``surprise_benchmark_deterministic``
  (:mod:`.surprise_benchmark`): Surprise's README benchmark (5-fold cross-validation of ML-100K,
  mean RMSE and MAE), its randomised and its deterministic algorithms, and the study's
  ``biased_mf`` on the same folds for comparison;
* ``seed000_notebook`` (:mod:`.seed000_notebook`): seed 000's notebook set-up (all 100,000
  ratings, in-training FactorizedTopK on the training batches) for its three models;
* ``scann_serving`` (:mod:`.scann_serving`): the TFRS efficient-serving tutorial, brute force
  against ScaNN (the ``serving`` extra) on ``tfrs_tutorial``.

The sources' libraries are imported when an experiment runs, not with this registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from recrepro.core.errors import ConfigError
from recrepro.experiments import lightfm_example, scann_serving, seed000_notebook, surprise_benchmark


@dataclass(frozen=True)
class Experiment:
    """A source's own evaluation: ``run(data_dir, split_dir or None, seed) -> metrics``."""

    run: Callable[[Path, Path | None, int], dict[str, float]]
    needs_split: bool  # False: the source makes its own folds from the data (split_dir is None)
    deterministic: bool  # True: every seed gives the same numbers (the workflow runs one seed)
    description: str  # one line: the source, its protocol, what is computed


EXPERIMENTS: dict[str, Experiment] = {
    "lightfm_example": Experiment(
        run=lightfm_example.run,
        needs_split=True,
        deterministic=False,
        description=lightfm_example.DESCRIPTION,
    ),
    "surprise_benchmark": Experiment(
        run=surprise_benchmark.run_randomised,
        needs_split=False,
        deterministic=False,
        description=surprise_benchmark.DESCRIPTION_RANDOMISED,
    ),
    "surprise_benchmark_deterministic": Experiment(
        run=surprise_benchmark.run_deterministic,
        needs_split=False,
        deterministic=True,
        description=surprise_benchmark.DESCRIPTION_DETERMINISTIC,
    ),
    "seed000_notebook": Experiment(
        run=seed000_notebook.run,
        needs_split=False,
        deterministic=False,
        description=seed000_notebook.DESCRIPTION,
    ),
    "scann_serving": Experiment(
        run=scann_serving.scann_serving,
        needs_split=True,
        deterministic=False,  # ScaNN seeds its own tree training
        description=scann_serving.DESCRIPTION,
    ),
}


def get_experiment(name: str) -> Experiment:
    """The registered experiment ``name``; a one-line ConfigError naming the known ones."""
    try:
        return EXPERIMENTS[name]
    except KeyError:
        raise ConfigError(f"unknown experiment '{name}'; known: {', '.join(EXPERIMENTS)}") from None


def run_experiment(
    name: str, data_dir: str | Path, split_dir: str | Path | None, seed: int
) -> dict[str, float]:
    """Metrics of experiment ``name`` for one seed, on the split (an experiment that needs one)
    or on the folds the source makes from the data (``split_dir`` None)."""
    experiment = get_experiment(name)
    if experiment.needs_split and split_dir is None:
        raise ConfigError(f"experiment '{name}' runs on a split; give its folder (--split)")
    if not experiment.needs_split and split_dir is not None:
        raise ConfigError(
            f"experiment '{name}' makes its own folds from the data; give no split (drop --split)"
        )
    return experiment.run(Path(data_dir), None if split_dir is None else Path(split_dir), seed)
