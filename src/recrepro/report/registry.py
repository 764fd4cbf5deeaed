r"""The registry of the paper's figures and tables: each artefact is declared once, with its
name, the function that builds it (and computes its caption's takeaway from the data), the
named inputs it reads and the paper section it belongs to. Everything else is derived:

* ``workflow/rules/paper.smk`` takes each rule's inputs (:func:`rule_inputs`) and outputs
  (:func:`outputs`) from here;
* the figure and table steps (:mod:`recrepro.report.pipeline`) build every registered artefact;
* the paper ``\input``\ s ``generated/sections/<section>.tex``, which lists the section's
  artefacts (:func:`write_sections`); the supplement (``supplement=True``: the venue's page limit
  leaves no room for it in the two-column main paper) ``\input``\ s
  ``generated/sections/supplement_<section>.tex`` and numbers its floats S1, S2, ... as
  :func:`supplement_numbers` says, which the main paper cites with ``\supref{tab:<name>}``.

Registering a figure (another module may do this; import it in :data:`MODULES`)::

    @figure("tuning_budget", section="results", inputs=("tuning_files",))
    def tuning_budget(ctx: Context, stem: Path) -> str:
        ...  # draw, save_figure(fig, stem)
        return "Validation NDCG@10 against trials: X gains most."  # caption with its takeaway

A table function returns a :class:`~recrepro.report.tables.Table` instead (its caption states the
takeaway); ``wide=True`` sets a main-paper table across both columns (``table*``). Figures are
drawn at the full text width, so each is a ``figure*``. ``per="protocol"`` declares one artefact
per configured protocol (the name holds ``{protocol}``, the function gets ``protocol=``). Input
names are the keys of :func:`input_paths`; add a new one there.
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
#: The named inputs of ``numbers.tex`` (the make_numbers rule; :func:`input_paths` gives their paths).
NUMBER_INPUTS = (
    "references", "reproduction_table", "provenance", "figdata_example_user", *RESULT_TABLES,
    "ratings", "item_table", "run_metrics", "tuning_files", "tuning_curves", "convergence",
    "splits", "ablation", "faithful_provenance",
)  # fmt: skip
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
#: The supplement's float numbers as text ("S3"): a float is Table S3 in the supplement and
#: "Table~\supref{tab:x}" in the main paper, both from :func:`supplement_numbers`.
SUPPLEMENT_PREFIX = "S"
SUPPLEMENT_REFS = "supplement_refs"
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
    supplement: bool = False  # in paper/supplement.pdf, not in the page-limited main paper
    wide: bool = False  # a table across both columns of the main paper (table*)

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


def table(
    name: str,
    *,
    section: str,
    inputs: Sequence[str] = (),
    per: str | None = None,
    supplement: bool = False,
    wide: bool = False,
):
    """Decorator: register ``fn(ctx, **params) -> Table`` as a table of the paper (or of its
    supplement)."""
    return _register("table", name, section, inputs, per=per, supplement=supplement, wide=wide)


def figure(
    name: str,
    *,
    section: str,
    inputs: Sequence[str] = (),
    per: str | None = None,
    width: str = r"\linewidth",
    supplement: bool = False,
):
    """Decorator: register ``fn(ctx, stem, **params) -> caption`` as a figure of the paper (or of
    its supplement)."""
    return _register("figure", name, section, inputs, per=per, width=width, supplement=supplement)


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


def section_name(section: str, supplement: bool) -> str:
    """The stem of a section's include file: ``results`` or ``supplement_results``."""
    return f"supplement_{section}" if supplement else section


def section_files() -> list[str]:
    stems = [section_name(s, supplement) for supplement in (False, True) for s in SECTIONS]
    return [f"{SECTIONS_DIR}/{stem}.tex" for stem in [*stems, SUPPLEMENT_REFS]]


def rule_inputs(kind: Kind, paths: Mapping[str, Any]) -> dict[str, Any]:
    """The named inputs of the ``kind`` step: the union of its artefacts' declared inputs."""
    wanted = dict.fromkeys(i for a in artefacts(kind) for i in a.inputs)
    unknown = [i for i in wanted if i not in paths]
    if unknown:
        raise ValueError(f"artefact input(s) {', '.join(unknown)} have no path in input_paths()")
    return {name: paths[name] for name in wanted}


def figure_float(name: str, artefact: Artefact, caption: str) -> str:
    """The LaTeX float that shows figure ``name`` with its caption. A ``figure*``: the plots are
    drawn at the text width (``plots.common.WIDTH``), too small to read in one column of the
    main paper; in the one-column supplement ``figure*`` is a plain figure."""
    return (
        "\\begin{figure*}[htbp]\n\\centering\n"
        f"\\includegraphics[width={artefact.width},height=0.8\\textheight,keepaspectratio]{{{name}}}\n"
        f"\\caption{{{caption}}}\n\\label{{fig:{name}}}\n\\end{{figure*}}\n"
    )


def label(name: str, artefact: Artefact) -> str:
    return f"{artefact.label_prefix}:{name}"


def supplement_numbers(cfg: PaperConfig) -> dict[str, int]:
    """``label -> number`` of every supplement float: tables and figures each counted from 1 in
    the order the supplement includes them (section by section, in registration order)."""
    counts = dict.fromkeys(("table", "figure"), 0)
    numbers = {}
    for section in SECTIONS:
        for name, artefact, _ in instances(cfg):
            if artefact.supplement and artefact.section == section:
                counts[artefact.kind] += 1
                numbers[label(name, artefact)] = counts[artefact.kind]
    return numbers


def _include(name: str, artefact: Artefact, number: int | None) -> list[str]:
    """The lines that include one artefact's float; in the supplement the float's counter is set
    first, so its number is the one :func:`supplement_numbers` gave the main paper."""
    folder = "tables" if artefact.kind == "table" else "figures"
    counter = [f"\\setcounter{{{artefact.kind}}}{{{number - 1}}}"] if number is not None else []
    return [*counter, f"\\input{{generated/{folder}/{name}.tex}}"]


def _supplement_refs(numbers: Mapping[str, int]) -> str:
    r"""``\supref{tab:x}`` -> ``S3`` for the main paper; an unknown label stops LaTeX (never "??")."""
    lines = [
        "% Generated by recrepro.report.registry: the supplement's float numbers, for the main paper.",
        f"\\newcommand{{\\SupplementPrefix}}{{{SUPPLEMENT_PREFIX}}}",
        "\\newcommand{\\supref}[1]{\\ifcsname supref@#1\\endcsname\\csname supref@#1\\endcsname"
        "\\else\\PackageError{recrepro}{#1 is no float of the supplement}{}\\fi}",
    ]
    lines += [f"\\expandafter\\def\\csname supref@{key}\\endcsname{{{SUPPLEMENT_PREFIX}{n}}}"
              for key, n in numbers.items()]  # fmt: skip
    return "\n".join(lines) + "\n"


def write_sections(cfg: PaperConfig, outdir: str | os.PathLike) -> list[Path]:
    r"""``<section>.tex`` (main paper) and ``supplement_<section>.tex`` per section: an ``\input``
    of each of its artefacts' floats; and the supplement's float numbers for ``\supref``."""
    numbers = supplement_numbers(cfg)
    written = []
    for supplement in (False, True):
        for section in SECTIONS:
            stem = section_name(section, supplement)
            lines = [f"% Generated by recrepro.report.registry: the {stem} section's artefacts."]
            for name, artefact, _ in instances(cfg):
                if artefact.section == section and artefact.supplement == supplement:
                    lines += _include(name, artefact, numbers.get(label(name, artefact)))
            written.append(Path(outdir) / f"{stem}.tex")
            write_text(written[-1], "\n".join(lines) + "\n")
    written.append(Path(outdir) / f"{SUPPLEMENT_REFS}.tex")
    write_text(written[-1], _supplement_refs(numbers))
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
        # each faithful value's source: the seed document, the tutorial it follows, or our choice
        "faithful_provenance": "config/faithful_provenance.csv",
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
