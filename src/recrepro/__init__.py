"""recrepro: a reproducible benchmark of MovieLens recommenders.

TensorFlow Recommenders 0.7.7 needs Keras 2, so the legacy Keras switch is set here, before
any module of this package can import TensorFlow. Users never have to set it themselves. The
same goes for TensorFlow's C++ log level (recrepro.core.logs).

ScaNN (the ``serving`` extra, for the efficient-serving reproduction) is hidden from TFRS here:
scann 1.4.2's TensorFlow op library does not load in TensorFlow 2.21, and its ``__init__`` then
raises TensorFlow's ``NotFoundError``, which TFRS's ``try: from scann import scann_ops except
ImportError`` does not catch, so with scann installed every ``import tensorflow_recommenders``
would fail. ``sys.modules["scann"] = None`` makes that import an ``ImportError`` (TFRS's ScaNN
layer is unused here); :func:`recrepro.experiments.scann_serving.import_scann` lifts it and
imports scann's NumPy API.
"""

import os
import sys

from recrepro.core.logs import quiet_native_logs

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
sys.modules.setdefault("scann", None)  # type: ignore[arg-type]
quiet_native_logs()

__version__ = "0.1.0"
