"""A run's outcome as ``metrics.json`` records it. Where a run's files live, and its key
(:class:`RunKey`, :func:`parse_run_path`, :data:`RUN_FILES`), are in :mod:`recrepro.core.layout`
(re-exported here for older imports)."""

from __future__ import annotations

from recrepro.core.layout import RUN_FILES, RunKey, parse_run_path

__all__ = ["RUN_FILES", "STATUS_NOT_APPLICABLE", "STATUS_OK", "RunKey", "parse_run_path"]

#: ``metrics.json["status"]``: a finished run, or one the model refused for this dataset
#: (:class:`recrepro.core.errors.ModelNotApplicable`; no metrics, a ``reason`` instead).
STATUS_OK = "ok"
STATUS_NOT_APPLICABLE = "not_applicable"
