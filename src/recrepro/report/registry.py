r"""The registry of the paper's figures and tables: each artefact is declared once, with its
name, the function that builds it (and computes its caption's takeaway from the data), the
named inputs it reads and the paper section it belongs to. Everything else is derived:

* ``workflow/rules/paper.smk`` takes each rule's inputs (:func:`rule_inputs`) and outputs
  (:func:`outputs`) from here;
* the figure and table steps (:mod:`recrepro.report.pipeline`) build every registered artefact;
* the paper ``\input``\ s ``generated/sections/<section>.tex``, which lists the section's
  artefacts (:func:`write_sections`).

Registering a figure (another module may do this; import it in :data:`MODULES`)::

    @figure("tuning_budget", section="results", inputs=("tuning_files",))
    def tuning_budget(ctx: Context, stem: Path) -> str:
        ...  # draw, save_figure(fig, stem)
        return "Validation NDCG@10 against trials: X gains most."  # caption with its takeaway

A table function returns a :class:`~recrepro.report.tables.Table` instead (its caption states the
takeaway). ``per="protocol"`` declares one artefact per configured protocol (the name holds
``{protocol}``, the function gets ``protocol=``). Input names are the keys of
:func:`input_paths`; add a new one there.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from recrepro.core import layout
from recrepro.core.io import write_text
from recrepro.core.layout import RunKey
from recrepro.report.config import PaperConfig
from recrepro.report.data import COLUMNS, ReportData

Kind = Literal["table", "figure"]
#: The aggregate result tables :class:`~recrepro.report.data.ReportData` reads (``ctx.data``);
#: an artefact that uses ``ctx.data`` declares these inputs.
RESULT_TABLES = tuple(COLUMNS)
#: Sections of the paper in order; each gets ``generated/sections/<section>.tex``.
SECTIONS = ("method", "results", "reproduction", "cost", "appendix")
#: Modules whose import registers artefacts (in this order: the order within a section).
MODULES = (
    "recrepro.report.method_tables", "recrepro.report.tables", "recrepro.report.analysis_tables",
    "recrepro.report.figures",
)  # fmt: skip
TABLES_DIR = "paper/generated/tables"
FIGURES_DIR = "figures"
FIGURE_TEX_DIR = "paper/generated/figures"
SECTIONS_DIR = "paper/generated/sections"
FIGDATA_DIR = "results/report"
#: Figure-data tables written by the ``figure_data`` rule (compute half of the figures).
FIGDATA = {
    "history": "history.csv",
    "per_user": "per_user.parquet",
    "popularity": "popularity.csv",
    "example_user": "example_user.csv",
    "overlap": "overlap.csv",
}


@dataclass(frozen=True)
class Artefact:
    """One figure or table of the paper, as declared."""

    name: str
    kind: Kind
    build: Callable[..., Any]
    inputs: tuple[str, ...]
    section: str
    per: str | None = None
    width: str = r"\linewidth"

    def instances(self, cfg: PaperConfig) -> list[tuple[str, dict[str, str]]]:
        """``(name, params)`` of each concrete artefact under ``cfg``."""
        if self.per is None:
            return [(self.name, {})]
        values = {"protocol": cfg.protocols}[self.per]
        return [(self.name.format(**{self.per: v}), {self.per: v}) for v in values]

    @property
    def label_prefix(self) -> str:
        return "tab" if self.kind == "table" else "fig"


REGISTRY: dict[str, Artefact] = {}


def _register(kind: Kind, name: str, section: str, inputs: Sequence[str], **extra: Any):
    if section not in SECTIONS:
        raise ValueError(f"artefact '{name}': unknown section '{section}'; use one of {SECTIONS}")

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in REGISTRY and REGISTRY[name].build is not fn:
            raise ValueError(f"artefact '{name}' is registered twice")
        REGISTRY[name] = Artefact(name, kind, fn, tuple(inputs), section, **extra)
        return fn

    return decorate


def table(name: str, *, section: str, inputs: Sequence[str] = (), per: str | None = None):
    """Decorator: register ``fn(ctx, **params) -> Table`` as a table of the paper."""
    return _register("table", name, section, inputs, per=per)


def figure(
    name: str,
    *,
    section: str,
    inputs: Sequence[str] = (),
    per: str | None = None,
    width: str = r"\linewidth",
):
    """Decorator: register ``fn(ctx, stem, **params) -> caption`` as a figure of the paper."""
    return _register("figure", name, section, inputs, per=per, width=width)


def artefacts(kind: Kind | None = None) -> list[Artefact]:
    """Every registered artefact (of ``kind``), in registration order."""
    for module in MODULES:
        importlib.import_module(module)
    return [a for a in REGISTRY.values() if kind is None or a.kind == kind]


def instances(cfg: PaperConfig, kind: Kind | None = None) -> list[tuple[str, Artefact, dict]]:
    return [(n, a, p) for a in artefacts(kind) for n, p in a.instances(cfg)]


def names(cfg: PaperConfig, kind: Kind) -> list[str]:
    return [n for n, _, _ in instances(cfg, kind)]


def outputs(cfg: PaperConfig, kind: Kind) -> list[str]:
    """Every file the ``kind`` step writes (the rule's outputs)."""
    out = []
    for name in names(cfg, kind):
        if kind == "table":
            out += [f"{TABLES_DIR}/{name}.{ext}" for ext in ("tex", "md", "csv")]
        else:
            out += [f"{FIGURES_DIR}/{name}.{ext}" for ext in ("pdf", "png")]
            out.append(f"{FIGURE_TEX_DIR}/{name}.tex")
    if kind == "table":
        out += section_files()
    return out


def section_files() -> list[str]:
    return [f"{SECTIONS_DIR}/{s}.tex" for s in SECTIONS]


def rule_inputs(kind: Kind, paths: Mapping[str, Any]) -> dict[str, Any]:
    """The named inputs of the ``kind`` step: the union of its artefacts' declared inputs."""
    wanted = dict.fromkeys(i for a in artefacts(kind) for i in a.inputs)
    unknown = [i for i in wanted if i not in paths]
    if unknown:
        raise ValueError(f"artefact input(s) {', '.join(unknown)} have no path in input_paths()")
    return {name: paths[name] for name in wanted}


def figure_float(name: str, artefact: Artefact, caption: str) -> str:
    """The LaTeX float that shows figure ``name`` with its caption."""
    return (
        "\\begin{figure}[tbp]\n\\centering\n"
        f"\\includegraphics[width={artefact.width},height=0.8\\textheight,keepaspectratio]{{{name}}}\n"
        f"\\caption{{{caption}}}\n\\label{{fig:{name}}}\n\\end{{figure}}\n"
    )


def write_sections(cfg: PaperConfig, outdir: str | os.PathLike) -> list[Path]:
    r"""``<section>.tex`` per section: an ``\input`` of each of its artefacts' floats."""
    written = []
    for section in SECTIONS:
        lines = [f"% Generated by recrepro.report.registry: the {section} section's artefacts."]
        for name, artefact, _ in instances(cfg):
            if artefact.section == section:
                folder = "tables" if artefact.kind == "table" else "figures"
                lines.append(f"\\input{{generated/{folder}/{name}.tex}}")
        target = Path(outdir) / f"{section}.tex"
        write_text(target, "\n".join(lines) + "\n")
        written.append(target)
    return written


# --------------------------------------------------------------------------- inputs


def _runs(config: Mapping[str, Any], **only: str) -> list[RunKey]:
    return [
        RunKey(d, p, m, s, int(seed))
        for d in config.get("datasets", ["ml-100k"])
        for p in config.get("protocols", ["random"])
        for m in config.get("models") or {}
        for s in config.get("settings", ["faithful"])
        for seed in config.get("seeds", [])
        if all({"dataset": d, "protocol": p, "setting": s}[k] == v for k, v in only.items())
    ]


def input_paths(config: Mapping[str, Any]) -> dict[str, Any]:
    """Every named input an artefact may declare -> its path(s) under the project root."""
    cfg = PaperConfig.from_config(config)
    main = _runs(config, dataset=cfg.dataset, protocol=cfg.main_protocol, setting=cfg.main_setting)
    every = _runs(config, dataset=cfg.dataset)
    tuned = "tuned" in cfg.settings
    first_seed = cfg.seeds[0] if cfg.seeds else 1
    return {
        "summary": "results/summary.csv",
        "skipped": "results/skipped.csv",
        **{n: f"results/stats/{n}.csv" for n in COLUMNS if n not in ("summary", "skipped")},
        "power": "results/stats/power.csv",
        "seed_level": "results/stats/seed_level.csv",
        "references": "config/reference_numbers.csv",
        "reproduction_table": "reported/reproduction.csv",  # snakemake reproduce + publish_reproduction
        # the ablation table (ablation.smk), when the study ablates
        "ablation": ["results/ablation/ablation.csv"] if config.get("ablations") else [],
        "ratings": layout.data_file(cfg.dataset, "ratings"),
        "item_table": layout.data_file(cfg.dataset, "items"),
        "splits": [path for p in cfg.protocols for path in layout.split_files(cfg.dataset, p, first_seed)],
        "run_metrics": [str(r.path() / "metrics.json") for r in every],
        "tuning_files": [
            layout.tuning_record(cfg.dataset, p, m, s)
            for p in cfg.protocols for m in cfg.models for s in cfg.seeds
        ]
        if tuned
        else [],
        "tuning_curves": layout.tuning_table("curves") if tuned else [],
        "convergence": layout.tuning_table("convergence") if tuned else [],
        "provenance": [str(r.path() / "provenance.json") for r in every],
        "main_history": [str(r.path() / "history.csv") for r in main],
        "main_per_user": [str(r.path() / "per_user.parquet") for r in main],
        "main_topk": [str(r.path() / "topk.parquet") for r in main],
        **{f"figdata_{n}": f"{FIGDATA_DIR}/{f}" for n, f in FIGDATA.items()},
    }


def benchmark_path(output: str | os.PathLike) -> Path:
    """The Snakemake benchmark file of the job that wrote ``output`` (a run's ``metrics.json``
    or a tuning record): :func:`recrepro.core.layout.benchmark_of`."""
    return layout.benchmark_of(output)


# --------------------------------------------------------------------------- build context


@dataclass
class Context:
    """What an artefact function reads: the config and its declared inputs, loaded on demand."""

    inputs: Mapping[str, Any]
    config: Mapping[str, Any]
    cache: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def cfg(self) -> PaperConfig:
        return PaperConfig.from_config(self.config)

    @cached_property
    def data(self) -> ReportData:
        return ReportData.load({name: self.inputs[name] for name in COLUMNS if name in self.inputs})

    def paths(self, name: str) -> list[str]:
        value = self.inputs.get(name, [])
        return [str(value)] if isinstance(value, str | os.PathLike) else [str(v) for v in value]

    def frame(self, name: str) -> pd.DataFrame:
        """A table input read once (CSV or Parquet); an empty CSV gives an empty frame."""
        if name not in self.cache:
            path = Path(self.inputs[name])
            if path.suffix == ".parquet":
                self.cache[name] = pd.read_parquet(path)
            else:
                try:
                    self.cache[name] = pd.read_csv(path)
                except pd.errors.EmptyDataError:
                    self.cache[name] = pd.DataFrame()
        return self.cache[name]
