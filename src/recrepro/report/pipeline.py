"""The four reporting steps as plain functions of paths and the config (what the thin Snakemake
scripts in ``workflow/scripts`` call), plus the logging wrapper the scripts share.

Named inputs are those of :func:`recrepro.report.registry.input_paths`; the figure and table
steps build every artefact of :mod:`recrepro.report.registry`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from recrepro.core.io import write_text
from recrepro.core.logs import log_to
from recrepro.report import figdata, numbers, picking, registry, tables
from recrepro.report.bibliography import write_model_bibliography
from recrepro.report.config import PaperConfig
from recrepro.report.data import COLUMNS, ReportData, read_convergence
from recrepro.report.method_tables import cost_frame, read_tuning, searched
from recrepro.report.registry import Context
from recrepro.report.reproduction import load_table

LOG = logging.getLogger("recrepro.report")
PathLike = str | os.PathLike


def _listed(value: Any) -> list[str]:
    return [str(value)] if isinstance(value, str | os.PathLike) else [str(v) for v in value]


def load_data(inputs: Mapping[str, Any]) -> ReportData:
    return ReportData.load({name: inputs[name] for name in COLUMNS if name in inputs})


def make_tables(
    inputs: Mapping[str, Any], config: Mapping[str, Any], params: Mapping[str, Any]
) -> list[Path]:
    """Every registered table (.tex/.md/.csv) into ``params["outdir"]``, the section include
    files into ``params["sections"]`` and, with ``params["bibliography"]``, the models' BibTeX
    entries there (:mod:`recrepro.report.bibliography`; the models table cites them)."""
    ctx = Context(inputs, config)
    written = []
    for name, artefact, kwargs in registry.instances(ctx.cfg, "table"):
        table = artefact.build(ctx, **kwargs)
        table.name, table.wide = name, artefact.wide
        if table.long and not artefact.supplement:
            # longtable cannot break across the main paper's two columns
            raise ValueError(f"table '{name}' is a long table: register it with supplement=True")
        written += tables.write_table(table, params["outdir"])
    written += registry.write_sections(ctx.cfg, params["sections"])
    if params.get("bibliography"):
        written.append(write_model_bibliography(params["bibliography"]))
    LOG.info("wrote %d table files to %s", len(written), params["outdir"])
    return written


def make_figure_data(
    inputs: Mapping[str, Any], config: Mapping[str, Any], outputs: Mapping[str, PathLike]
) -> None:
    """The figure-data tables (compute step of the figures)."""
    settings = figdata.figure_settings(PaperConfig.from_config(config))
    figdata.write_figure_data(
        history_paths=_listed(inputs["main_history"]),
        per_user_paths=_listed(inputs["main_per_user"]),
        topk_paths=_listed(inputs["main_topk"]),
        ratings_path=inputs["ratings"],
        items_path=inputs["item_table"],
        per_user_metrics=settings["per_user_metrics"],
        example_user=settings["example_user"],
        popularity_k=settings["popularity_k"],
        outputs={name: outputs[name] for name in registry.FIGDATA},
    )
    LOG.info("wrote figure data for %d runs", len(_listed(inputs["main_topk"])))


def make_figures(
    inputs: Mapping[str, Any], config: Mapping[str, Any], params: Mapping[str, Any]
) -> list[Path]:
    """Every registered figure (PDF + PNG into ``params["outdir"]``) and its LaTeX float with the
    computed caption (into ``params["texdir"]``)."""
    ctx = Context(inputs, config)
    written = []
    for name, artefact, kwargs in registry.instances(ctx.cfg, "figure"):
        stem = Path(params["outdir"]) / name
        caption = artefact.build(ctx, stem, **kwargs)
        target = Path(params["texdir"]) / f"{name}.tex"
        write_text(target, registry.figure_float(name, artefact, caption))
        written += [stem.with_suffix(".pdf"), stem.with_suffix(".png"), target]
    LOG.info("wrote %d figure files", len(written))
    return written


def make_numbers(inputs: Mapping[str, Any], config: Mapping[str, Any], output: PathLike) -> None:
    """``numbers.tex`` with every macro the paper's text uses."""
    cfg = PaperConfig.from_config(config)
    data = load_data(inputs)
    provenance_paths = _listed(inputs["provenance"])
    example = pd.read_csv(inputs["figdata_example_user"])
    tuning = read_tuning(_listed(inputs["tuning_files"]))
    macros = numbers.collect_numbers(
        data,
        cfg,
        ratings=pd.read_parquet(inputs["ratings"]),
        items=pd.read_parquet(inputs["item_table"]),
        reproduction=load_table(inputs["reproduction_table"]),
        provenance=numbers.read_provenance(provenance_paths),
        picks=picking.example_models(example, cfg, picking.model_preference(data, cfg)),
        n_runs=len(provenance_paths),
        cost=cost_frame(_listed(inputs["run_metrics"]), _listed(inputs["tuning_files"])),
        kept=[
            model
            for (protocol, model), reps in tuning.items()
            if protocol == cfg.main_protocol and searched(reps[0])
            and all(r.get("best_trial") == 0 for r in reps)
        ],
        unsearched=[m for (p, m), r in tuning.items() if p == cfg.main_protocol and not searched(r[0])],
        convergence=read_convergence(_listed(inputs.get("convergence", []))),
        config=config,
        splits=_listed(inputs.get("splits", [])),
        ablation=_optional_csv(inputs.get("ablation", [])),
        tuning=tuning,
        sources=_optional_csv(inputs.get("faithful_provenance", [])),
    )
    numbers.write_numbers(output, macros)
    LOG.info("wrote %d macros to %s", len(macros), output)


def _optional_csv(paths: Any) -> pd.DataFrame | None:
    """The first of ``paths`` as a table, or None if none is given or it does not exist."""
    listed = _listed(paths) if paths else []
    return pd.read_csv(listed[0]) if listed and Path(listed[0]).is_file() else None


@contextmanager
def step_log(path: PathLike | None) -> Iterator[None]:
    """Send this step's log (and warnings, and a failure's traceback) to ``path`` (recrepro.core.logs)."""
    with log_to(path, console=not path, mode="w"):
        try:
            yield
        except Exception:
            LOG.exception("step failed")
            raise


def run_step(smk: Any, step: Callable[..., Any], target: str) -> None:
    """Run ``step(inputs, config, target)`` for a Snakemake script object ``smk``; ``target`` is
    ``"params"`` (the named params), ``"output"`` (first output) or ``"outputs"`` (named
    outputs)."""
    inputs = dict(smk.input.items())
    where = {
        "params": lambda: dict(smk.params.items()),
        "output": lambda: smk.output[0],
        "outputs": lambda: dict(smk.output.items()),
    }[target]()
    with step_log(smk.log[0] if len(smk.log) else None):
        step(inputs, smk.config, where)
