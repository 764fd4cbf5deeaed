"""Errors that stop a run with one clear line (the CLI prints ``recrepro: error: <message>``)."""


class RecreproError(Exception):
    """Base class: the message names the problem and, where possible, the fix."""


class ConfigError(RecreproError):
    """The configuration is invalid (unknown model, bad K, empty seed list, ...)."""


class DataError(RecreproError):
    """The data is missing, corrupt or malformed."""


class TrainingError(RecreproError):
    """A model failed to train (e.g. the loss diverged to NaN)."""


class ModelNotApplicable(ConfigError):
    """A model cannot run on this dataset (e.g. EASE's dense item-item matrix would not fit).

    A subclass of ConfigError (the fix is in the config: drop the model, or raise its limit), so
    existing handlers still stop cleanly; a runner may catch it first to record the run as
    skipped rather than failed.
    """


class StorageError(RecreproError):
    """An output could not be written (e.g. the disk is full); nothing partial was left behind."""
