"""Lazy, seeded, deterministic TensorFlow import and optimisers by name (TF-free at import).

TensorFlow costs 3-5 CPU-s to import, so it is imported only inside these functions, which the
models call from ``fit``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np


def seed_from(rng: np.random.Generator) -> int:
    """A TensorFlow seed drawn from the run's generator."""
    return int(rng.integers(0, 2**31 - 1))


def import_tensorflow(seed: int) -> Any:
    """Import TensorFlow, seed Python/NumPy/TF from ``seed`` and make its ops deterministic.

    Thread counts follow ``RECREPRO_THREADS`` (set by the CLI from Snakemake's ``threads``).
    """
    from recrepro.core.logs import import_quietly

    tf = import_quietly("tensorflow")  # without the lines its native libraries print on loading

    threads = int(os.environ.get("RECREPRO_THREADS", "0"))
    if threads > 0:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:  # already initialised in this process (tests): keep the first setting
            pass
    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    return tf


def make_optimizer(tf: Any, name: str, learning_rate: float) -> Any:
    """A Keras 2 optimizer by name: ``adagrad``, ``adam`` or ``sgd``."""
    optimizers = {
        "adagrad": tf.keras.optimizers.Adagrad,
        "adam": tf.keras.optimizers.Adam,
        "sgd": tf.keras.optimizers.SGD,
    }
    return optimizers[name](learning_rate=learning_rate)
