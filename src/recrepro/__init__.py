"""recrepro: a reproducible benchmark of MovieLens recommenders.

TensorFlow Recommenders 0.7.7 needs Keras 2, so the legacy Keras switch is set here, before
any module of this package can import TensorFlow. Users never have to set it themselves.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
