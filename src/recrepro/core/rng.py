"""Randomness: every run's generator is derived from (dataset, model, seed) by SHA-256.

Python's ``hash()`` is salted per process, so it is never used.
"""

from __future__ import annotations

import hashlib

import numpy as np


def derive_seed(*parts: object) -> int:
    """A stable 32-bit seed from any sequence of printable parts."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "little")


def make_rng(*parts: object) -> np.random.Generator:
    """A NumPy generator seeded by :func:`derive_seed` of ``parts``."""
    return np.random.default_rng(derive_seed(*parts))
