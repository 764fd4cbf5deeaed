"""recrepro: a reproducible benchmark of MovieLens recommenders.

TensorFlow Recommenders 0.7.7 needs Keras 2, so the legacy Keras switch is set here, before
any module of this package can import TensorFlow. Users never have to set it themselves. The
same goes for TensorFlow's C++ log level (recrepro.logs).
"""

import os

from recrepro.logs import quiet_native_logs

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
quiet_native_logs()

__version__ = "0.1.0"
