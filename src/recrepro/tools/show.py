"""``recrepro show RUN_DIR``: what one finished run was and what it scored, as plain text.

Reads the run's ``metrics.json`` (model, setting, seed, hyperparameters, metrics) and
``provenance.json`` (derived seed, input data checksums, code revision).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from recrepro.core.errors import RecreproError
from recrepro.core.layout import RUN_DIR_HELP

#: Ranking metrics shown at the headline K (:func:`recrepro.evaluation.catalogue.main_cutoff` of
#: the run's cut-offs).
RANKING = ("ndcg", "recall", "precision", "hit", "map", "mrr", "coverage", "novelty")
#: Metrics shown as they are, when the run has them.
PLAIN = ("rmse", "mae", "fit_seconds")


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecreproError(
            f"{path} is missing; give a finished run folder ({RUN_DIR_HELP})"
        ) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise RecreproError(f"cannot read {path}: {exc}; rerun snakemake to rewrite the run") from None
    if not isinstance(data, dict):
        raise RecreproError(f"{path} is not a JSON object; rerun snakemake to rewrite the run")
    return data


def headline_metrics(metrics: Mapping[str, float]) -> dict[str, float]:
    """The run's headline metrics: :data:`RANKING` at the main K (``MAIN_K`` if evaluated, else
    the run's smallest K), then :data:`PLAIN`."""
    from recrepro.evaluation.catalogue import main_cutoff

    ks = sorted({int(name.rsplit("@", 1)[1]) for name in metrics if name.split("@")[0] in RANKING})
    k = main_cutoff(ks)
    names = [f"{name}@{k}" for name in RANKING] + list(PLAIN)
    return {name: metrics[name] for name in names if name in metrics}


def _value(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def describe_run(run_dir: str | Path) -> str:
    """A plain-text description of the run in ``run_dir``."""
    run_dir = Path(run_dir)
    record = _read(run_dir / "metrics.json")
    prov = _read(run_dir / "provenance.json")
    params = record.get("params") or {}
    headline = headline_metrics(record.get("metrics") or {})
    dirty = {True: "yes", False: "no", None: "unknown"}.get(prov.get("git_dirty"), "unknown")
    lines = [
        f"run:             {run_dir}",
        f"model:           {record.get('model')}",
        f"dataset:         {record.get('dataset')}, protocol {record.get('protocol')}",
        f"setting:         {record.get('setting')}",
        f"seed:            {record.get('seed')} (derived seed {prov.get('derived_seed', 'unknown')})",
        f"status:          {record.get('status')}"
        + (f" ({record['reason']})" if record.get("reason") else ""),
        "hyperparameters: "
        + (", ".join(f"{name}={json.dumps(value)}" for name, value in sorted(params.items())) or "none"),
        f"revision:        commit {prov.get('git_commit') or 'unknown'}, dirty {dirty}"
        + (f" (diff SHA-256 {prov['git_diff_sha256']})" if prov.get("git_diff_sha256") else ""),
        "data SHA-256:" + ("" if prov.get("data_sha256") else " not recorded"),
        *(f"  {digest}  {path}" for path, digest in sorted((prov.get("data_sha256") or {}).items())),
        "metrics:" + ("" if record.get("metrics") else " none"),
        *(f"  {name:<14} {_value(value)}" for name, value in headline.items()),
    ]
    return "\n".join(lines)
