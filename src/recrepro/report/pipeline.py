"""The four reporting steps as plain functions of paths and the config (what the thin Snakemake
scripts in ``workflow/scripts`` call), plus the logging wrapper the scripts share.

Named inputs (see ``workflow/rules/paper.smk``): ``summary``, ``seed_summary``, ``pairwise``,
``friedman``, ``ranks`` (aggregate tables); ``references``; ``ratings``, ``item_table`` (dataset
tables); ``history``, ``per_user``, ``topk``, ``provenance`` (lists of per-run files);
``figdata_*`` (figure-data tables).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from recrepro.logs import log_to
from recrepro.report import figdata, figures, numbers, tables
from recrepro.report.config import PaperConfig
from recrepro.report.data import COLUMNS, ReportData
from recrepro.report.reproduction import load_references, reproduction_frame

LOG = logging.getLogger("recrepro.report")
PathLike = str | os.PathLike


def _listed(value: Any) -> list[str]:
    return [str(value)] if isinstance(value, str | os.PathLike) else [str(v) for v in value]


def load_data(inputs: Mapping[str, Any]) -> ReportData:
    return ReportData.load({name: inputs[name] for name in COLUMNS})


def load_reproduction(
    inputs: Mapping[str, Any], data: ReportData, cfg: PaperConfig
) -> pd.DataFrame:
    return reproduction_frame(
        load_references(inputs["references"]),
        data.summary,
        data.seed_summary,
        cfg.dataset,
        cfg.main_protocol,
    )


def make_tables(
    inputs: Mapping[str, Any], config: Mapping[str, Any], outdir: PathLike
) -> list[Path]:
    """All tables (.tex/.md/.csv) and ``protocols.tex`` into ``outdir``."""
    cfg = PaperConfig.from_config(config)
    data = load_data(inputs)
    built = tables.build_tables(
        data, load_reproduction(inputs, data, cfg), cfg, tables.model_sources(cfg.models)
    )
    written = tables.write_tables(built, outdir, cfg.protocols)
    LOG.info("wrote %d table files to %s", len(written), outdir)
    return written


def make_figure_data(
    inputs: Mapping[str, Any], config: Mapping[str, Any], outputs: Mapping[str, PathLike]
) -> None:
    """The figure-data tables (compute step of the figures)."""
    cfg = PaperConfig.from_config(config)
    metrics = list(dict.fromkeys([cfg.distribution_metric, *cfg.headline_metrics]))
    figdata.write_figure_data(
        history_paths=_listed(inputs["history"]),
        per_user_paths=_listed(inputs["per_user"]),
        topk_paths=_listed(inputs["topk"]),
        ratings_path=inputs["ratings"],
        items_path=inputs["item_table"],
        per_user_metrics=metrics,
        example_user=cfg.example_user,
        popularity_k=cfg.popularity_k,
        outputs={name: outputs[name] for name in figdata.FIGURE_DATA},
    )
    LOG.info("wrote figure data for %d runs", len(_listed(inputs["topk"])))


def _figure_frames(inputs: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    frames = {}
    for name in figdata.FIGURE_DATA:
        path = Path(inputs[f"figdata_{name}"])
        frames[name] = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    return frames


def make_figures(
    inputs: Mapping[str, Any], config: Mapping[str, Any], outdir: PathLike
) -> list[Path]:
    """Every figure (PDF + PNG) into ``outdir``."""
    cfg = PaperConfig.from_config(config)
    frames = _figure_frames(inputs)
    written = figures.write_figures(
        load_data(inputs),
        cfg,
        history=frames["history"],
        per_user=frames["per_user"],
        popularity=frames["popularity"],
        example=frames["example_user"],
        outdir=outdir,
    )
    LOG.info("wrote %d figure files to %s", len(written), outdir)
    return written


def make_numbers(inputs: Mapping[str, Any], config: Mapping[str, Any], output: PathLike) -> None:
    """``numbers.tex`` with every macro the paper's text uses."""
    cfg = PaperConfig.from_config(config)
    data = load_data(inputs)
    provenance_paths = _listed(inputs["provenance"])
    example = pd.read_csv(inputs["figdata_example_user"])
    macros = numbers.collect_numbers(
        data,
        cfg,
        ratings=pd.read_parquet(inputs["ratings"]),
        items=pd.read_parquet(inputs["item_table"]),
        reproduction=load_reproduction(inputs, data, cfg),
        provenance=numbers.read_provenance(provenance_paths),
        picks=figures.example_models(example, cfg, figures.model_preference(data, cfg)),
        n_runs=len(provenance_paths),
    )
    numbers.write_numbers(output, macros)
    LOG.info("wrote %d macros to %s", len(macros), output)


@contextmanager
def step_log(path: PathLike | None) -> Iterator[None]:
    """Send this step's log (and warnings, and a failure's traceback) to ``path`` (recrepro.logs)."""
    with log_to(path, console=not path, mode="w"):
        try:
            yield
        except Exception:
            LOG.exception("step failed")
            raise


def run_step(smk: Any, step: Callable[..., Any], target: str) -> None:
    """Run ``step(inputs, config, target)`` for a Snakemake script object ``smk``; ``target`` is
    ``"outdir"`` (``smk.params.outdir``), ``"output"`` (first output) or ``"outputs"`` (named
    outputs)."""
    inputs = dict(smk.input.items())
    where = {
        "outdir": lambda: smk.params.outdir,
        "output": lambda: smk.output[0],
        "outputs": lambda: dict(smk.output.items()),
    }[target]()
    with step_log(smk.log[0] if len(smk.log) else None):
        step(inputs, smk.config, where)
