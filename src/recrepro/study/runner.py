"""One run of the study: fit a model on a split's training data and evaluate it on the test data.

Inputs are the parsed dataset (``results/data/<dataset>``) and the split
(``results/splits/<dataset>/<protocol>/seed<seed>``). The model is fitted on ``train`` (with
``valid`` for early stopping only) and evaluated once on ``test`` with ``train`` and ``valid``
items masked. Outputs (see :mod:`recrepro.core.layout`) are written atomically, ``metrics.json`` last.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recrepro.core.errors import ConfigError, ModelNotApplicable
from recrepro.core.io import write_csv, write_json, write_parquet
from recrepro.core.layout import PARTS, RUN_KEY, SIMILAR_ITEMS, RunKey, part_file, table_file
from recrepro.core.logs import import_quietly
from recrepro.core.provenance import file_checksums, provenance
from recrepro.core.rng import derive_seed
from recrepro.core.runs import STATUS_NOT_APPLICABLE, STATUS_OK
from recrepro.data.loading import SplitData, load_catalogue, load_split  # noqa: F401
from recrepro.models.registry import build_model

log = logging.getLogger(__name__)

TOPK_COLUMNS = {"user": "int64", "rank": "int64", "item": "int64", "score": "float32"}


def run_seed(key: RunKey) -> int:
    """The run's seed, derived from its whole key (never from Python's ``hash``)."""
    return derive_seed(key.dataset, key.protocol, key.model, key.setting, key.seed)


def train_and_evaluate(
    key: RunKey,
    params: dict[str, Any],
    evaluation: dict[str, Any],
    data_dir: str | Path,
    split_dir: str | Path,
    out_dir: str | Path,
    validation_metric: str | None = None,
) -> dict[str, Any]:
    """Fit, evaluate and write the run's files; returns the metrics record.

    ``validation_metric`` is the metric the study tunes the model on
    (:func:`recrepro.study.tuning.selection_metric`): the model's per-epoch validation and early
    stopping follow it (None: the model's own default)."""
    started = time.time()
    model = build_model(key.model, params)
    model.validation_metric = validation_metric
    split = load_split(data_dir, split_dir)
    check_ks(evaluation, split, key.dataset)
    data_sha256 = file_checksums(  # the files the run read, for its provenance
        [*(Path(table_file(data_dir, table)) for table in ("items", "users")),
         *(Path(part_file(split_dir, part)) for part in PARTS)]
    )  # fmt: skip
    seed = run_seed(key)
    rng = np.random.default_rng(seed)
    for library in model.libraries:  # one-time imports stay out of fit_seconds
        import_quietly(library)
    log.info("fitting %s (%s) on %d interactions", key.model, key.setting, len(split.train))
    t0 = time.perf_counter()
    try:
        model.fit(split.train, split.valid, rng)
    except ModelNotApplicable as exc:
        log.warning("skipped: %s", exc)
        return write_not_applicable(
            key, model.params, str(exc), out_dir, evaluation, seed, started, data_sha256=data_sha256
        )
    fit_seconds = time.perf_counter() - t0
    return write_run(
        key, model, split, evaluation, out_dir, seed, started, fit_seconds, data_sha256=data_sha256
    )


def check_ks(evaluation: dict[str, Any], split: SplitData, dataset: str) -> list[int]:
    """The evaluation's K values, sorted; a ConfigError if one exceeds the catalogue."""
    ks = sorted(evaluation["ks"])
    if ks[-1] > split.catalogue.n_items:
        raise ConfigError(
            f"K={ks[-1]} exceeds the catalogue of {split.catalogue.n_items} items in "
            f"{dataset}; lower evaluation.ks"
        )
    return ks


def write_run(
    key: RunKey,
    model: Any,
    split: SplitData,
    evaluation: dict[str, Any],
    out_dir: str | Path,
    seed: int,
    started: float,
    fit_seconds: float,
    data_sha256: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Evaluate a fitted model once on ``split.test`` and write the run's files (metrics last)."""
    from recrepro.evaluation.evaluate import evaluate

    ks = check_ks(evaluation, split, key.dataset)
    t0 = time.perf_counter()
    result = evaluate(
        model,
        split.train,
        split.test,
        ks=ks,
        seen=split.train.concat(split.valid),
        relevance_threshold=evaluation.get("relevance_threshold"),
        sensitivity_threshold=evaluation.get("sensitivity_threshold"),
        batch_size=evaluation.get("user_batch_size", 1024),
    )
    eval_seconds = time.perf_counter() - t0
    log.info("evaluated %d users in %.2fs", result.n_users_evaluated, eval_seconds)

    out = Path(out_dir)
    user_ids = split.catalogue.users["user_id"].to_numpy()
    item_ids = split.catalogue.items["item_id"].to_numpy()
    per_user = result.per_user.assign(user=user_ids[result.per_user["user"].to_numpy()])
    topk = result.topk.assign(
        user=user_ids[result.topk["user"].to_numpy()], item=item_ids[result.topk["item"].to_numpy()]
    )
    write_parquet(out / "per_user.parquet", per_user)
    write_parquet(out / "topk.parquet", topk)
    history = pd.DataFrame(model.history or [], columns=None if model.history else ["epoch", "loss"])
    write_csv(out / "history.csv", history)
    if hasattr(model, "item_similarities"):
        write_parquet(out / SIMILAR_ITEMS, model.item_similarities())
    record = {
        **key.as_dict(),
        "status": STATUS_OK,
        "params": model.params,
        "metrics": {**result.metrics, "fit_seconds": fit_seconds},
        "n_users_evaluated": result.n_users_evaluated,
        "timing": {"fit_seconds": fit_seconds, "eval_seconds": eval_seconds},
    }
    _finish(out, record, evaluation, seed, started, data_sha256)
    return record


def write_not_applicable(
    key: RunKey,
    params: dict[str, Any],
    reason: str,
    out_dir: str | Path,
    evaluation: dict[str, Any],
    seed: int,
    started: float,
    data_sha256: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Record a run the model refused (:class:`ModelNotApplicable`): every run file exists, the
    per-user, top-K and history files are empty, and ``metrics.json`` carries the status and the
    reason instead of metrics, so summaries skip the run and tables show it as not applicable."""
    out = Path(out_dir)
    write_parquet(out / "per_user.parquet", pd.DataFrame({"user": pd.Series(dtype="int64")}))
    write_parquet(
        out / "topk.parquet",
        pd.DataFrame(
            {name: pd.Series(dtype=dtype) for name, dtype in TOPK_COLUMNS.items()}
        ),
    )
    write_csv(out / "history.csv", pd.DataFrame(columns=["epoch", "loss"]))
    record = {
        **key.as_dict(),
        "status": STATUS_NOT_APPLICABLE,
        "reason": reason,
        "params": params,
        "metrics": {},
        "n_users_evaluated": 0,
        "timing": {"fit_seconds": 0.0, "eval_seconds": 0.0},
    }
    _finish(out, record, evaluation, seed, started, data_sha256)
    return record


def _finish(
    out: Path,
    record: dict[str, Any],
    evaluation: dict[str, Any],
    seed: int,
    started: float,
    data_sha256: dict[str, str] | None = None,
) -> None:
    """Write the run's provenance (``data_sha256``: its input files' sums), then ``metrics.json``
    (last: its presence means done)."""
    run = {k: record[k] for k in RUN_KEY}
    write_json(
        out / "provenance.json",
        provenance(
            {"run": run, "params": record["params"], "evaluation": evaluation},
            seed=record["seed"],
            derived_seed=seed,
            data_sha256=data_sha256 or {},
            wall_seconds=time.time() - started,
        ),
    )
    write_json(out / "metrics.json", record)
