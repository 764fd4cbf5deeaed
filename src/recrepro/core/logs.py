"""The one logging setup of recrepro: the CLI, the Snakemake scripts and the tests all use it.

- Our messages go to handlers on the ``recrepro`` logger (plus ``py.warnings``), added by
  :func:`log_to` and removed when it exits, so no handler outlives the stream it writes to (a
  handler left on the root logger after a CLI call inside pytest writes to a closed capture
  stream: "--- Logging error ---").
- Third-party chatter stays out of the console and the logs unless asked for (``--verbose`` or
  ``RECREPRO_VERBOSE=1``): fontTools/matplotlib/absl/TensorFlow Python loggers are not attached,
  TensorFlow's C++ log is limited by ``TF_CPP_MIN_LOG_LEVEL`` (3: nothing, not even the CUDA probe
  of a CPU-only machine), and the lines its native libraries print while loading are discarded
  (:func:`import_quietly`).
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

LOGGER = "recrepro"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
VERBOSE = "RECREPRO_VERBOSE"
#: Loggers of our own messages; everything else (fontTools, matplotlib, absl, ...) only with verbose.
OURS = (LOGGER, "py.warnings")


def verbose() -> bool:
    """Whether third-party logs were asked for (``RECREPRO_VERBOSE=1``, set by ``--verbose``)."""
    return os.environ.get(VERBOSE, "") not in ("", "0")


def quiet_native_logs() -> None:
    """Environment defaults that silence TensorFlow's C++ log; call before TensorFlow is imported.

    Values the user set are kept; with verbose, TensorFlow logs everything (level 0).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if verbose() else "3")


class _Stderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of the call (pytest swaps it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


@contextmanager
def log_to(
    path: str | os.PathLike | None = None, *, console: bool = True, mode: str = "a"
) -> Iterator[logging.Logger]:
    """Send recrepro's INFO messages (and Python warnings) to stderr and/or ``path`` while inside.

    With verbose, every logger's messages (the root logger's) go there too.
    """
    handlers: list[logging.Handler] = [_Stderr()] if console else []
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(path, mode=mode, encoding="utf-8"))
    targets = [logging.getLogger(name) for name in OURS]
    if verbose():
        targets = [logging.getLogger()]
    saved = [(logger, logger.level, logger.propagate) for logger in targets]
    for handler in handlers:
        handler.setFormatter(logging.Formatter(FORMAT))
    for logger in targets:
        logger.setLevel(logging.DEBUG if verbose() else logging.INFO)
        logger.propagate = logger.name == "root"  # no second copy through the root logger
        for handler in handlers:
            logger.addHandler(handler)
    logging.captureWarnings(True)
    try:
        yield logging.getLogger(LOGGER)
    finally:
        logging.captureWarnings(False)
        for logger, level, propagate in saved:
            for handler in handlers:
                logger.removeHandler(handler)
            logger.setLevel(level)
            logger.propagate = propagate
        for handler in handlers:
            handler.close()


@contextmanager
def _native_stderr_discarded() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null (native libraries write there directly)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_quietly(name: str) -> ModuleType:
    """Import ``name`` (e.g. ``tensorflow``) without the lines its native code prints on loading
    ("oneDNN custom operations are on", "Could not find cuda drivers"); errors still raise."""
    if name in sys.modules or verbose():
        return importlib.import_module(name)
    quiet_native_logs()
    with _native_stderr_discarded():
        return importlib.import_module(name)
