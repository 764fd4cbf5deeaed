"""Result tables: one :class:`Table` is rendered three ways, a LaTeX booktabs float for the
paper, a Markdown twin for humans and a tidy CSV twin (the numbers behind it) for machines.

In metric tables the best value of each column is bold and the second best underlined (on the
displayed, rounded values, so ties look tied); a dagger marks a result significantly worse than
the best model (``pairwise.csv``, comparison ``vs_best``, ``decision == "worse"``: adjusted over
all pairs of models, direction from the sign of the test's effect).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from recrepro.core.io import write_csv, write_text
from recrepro.report.config import PaperConfig
from recrepro.report.data import ReportData, ranking, select
from recrepro.report.registry import RESULT_TABLES, Context, table
from recrepro.report.reproduction import (
    COMPARISON,
    REPRODUCTION,
    _comparisons_with_causes,
    load_table,
    step_effects,
    verdict_counts,
)
from recrepro.report.style import (
    ModelStyles,
    correction_label,
    decimals,
    family_label,
    format_number,
    format_p,
    higher_is_better,
    is_cost,
    marks_best,
    metric_label,
    split_metric,
    test_label,
)

DATASET_LABELS = {"ml-100k": "MovieLens 100K", "ml-1m": "MovieLens 1M"}
_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "↑": r"$\uparrow$",
    "↓": r"$\downarrow$",
    "±": r"$\pm$",
    "≥": r"$\geq$",
    "≤": r"$\leq$",
    "†": r"$^{\dagger}$",
    "–": "--",
    "<": r"\textless{}",
    "α": r"$\alpha$",
    "Δ": r"$\Delta$",
    ">": r"\textgreater{}",
}


def ragged_columns(widths: Sequence[float]) -> str:
    """LaTeX column specs of ragged-right paragraph columns, each ``w`` of the line wide including
    its padding, so widths that sum to at most 1 never run past the margin (needs the array
    package)."""
    return "".join(f">{{\\raggedright\\arraybackslash}}p{{\\dimexpr {w}\\linewidth-2\\tabcolsep\\relax}}"
                   for w in widths)  # fmt: skip


def latex_escape(text: object) -> str:
    """Plain text -> LaTeX source (special characters and a few symbols translated)."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def dataset_label(dataset: str) -> str:
    return DATASET_LABELS.get(dataset, dataset)


@dataclass
class Cell:
    """One table cell: plain ``text`` (Markdown/CSV), optional raw ``latex`` and emphasis."""

    text: str = ""
    latex: str | None = None
    bold: bool = False
    underline: bool = False
    dagger: bool = False

    def to_latex(self) -> str:
        body = (
            self.latex if self.latex is not None else latex_escape(self.text) if self.text else "--"
        )
        if self.bold:
            body = f"{{\\boldmath\\bfseries {body}}}"
        if self.underline:
            body = f"\\underline{{{body}}}"
        return body + (r"$^{\dagger}$" if self.dagger else "")

    def to_markdown(self) -> str:
        body = self.text.replace("|", r"\|") if self.text else "–"
        if self.bold:
            body = f"**{body}**"
        if self.underline:
            body = f"<u>{body}</u>"
        return body + ("†" if self.dagger else "")


@dataclass
class Table:
    """A rendered-agnostic table; ``rows[i][0]`` is the row label."""

    name: str
    caption: str
    header: list[str]
    rows: list[list[Cell]]
    data: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    latex_header: list[str] | None = None
    groups: list[tuple[str, int]] | None = None  # spans over the columns after the stub
    align: str = ""  # one of l/c/r per column; default: stub left, the rest centred
    latex_align: str = ""  # LaTeX column spec if it differs (e.g. p{...} for wrapped text)
    size: str = ""  # LaTeX font size of the body, e.g. r"\footnotesize" for long text tables
    long: bool = False  # a longtable that breaks across pages (needs p{} columns that fit)
    wide: bool = False  # across both columns of a two-column page (table*); from the registration

    @property
    def alignment(self) -> str:
        return self.align or "l" + "c" * (len(self.header) - 1)

    @property
    def label(self) -> str:
        return f"tab:{self.name}"

    def to_latex(self) -> str:
        return self._longtable() if self.long else self._float()

    def _header_lines(self) -> list[str]:
        lines = []
        if self.groups:
            spans, rules, col = [""], [], 2
            for title, width in self.groups:
                spans.append(f"\\multicolumn{{{width}}}{{c}}{{{latex_escape(title)}}}")
                rules.append(f"\\cmidrule(lr){{{col}-{col + width - 1}}}")
                col += width
            lines += [" & ".join(spans) + r" \\", " ".join(rules)]
        header = self.latex_header or self.header
        return lines + [" & ".join(latex_escape(h) for h in header) + r" \\"]

    def _longtable(self) -> str:
        """A ``longtable`` (not a float): caption and header on the first page, the header again
        on every following page, the notes after the last row."""
        n = len(self.header)
        head = self._header_lines()
        lines = [
            # floats pending before a long table are set first (placeins, loaded by the
            # supplement), so tables keep the order of their numbers
            r"\ifdefined\FloatBarrier\FloatBarrier\fi",
            "{" + self.size,
            r"\setlength{\tabcolsep}{3pt}\setlength{\LTcapwidth}{\linewidth}",
            f"\\begin{{longtable}}{{{self.latex_align or self.alignment}}}",
            f"\\caption{{{latex_escape(self.caption)}}}\\label{{{self.label}}} \\\\",
            r"\toprule", *head, r"\midrule", r"\endfirsthead",
            f"\\multicolumn{{{n}}}{{l}}{{\\emph{{Table~\\ref{{{self.label}}}, continued}}}} \\\\",
            r"\toprule", *head, r"\midrule", r"\endhead",
            r"\bottomrule", r"\endfoot",
        ]  # fmt: skip
        lines += [" & ".join(c.to_latex() for c in row) + r" \\" for row in self.rows]
        if not self.rows:
            lines.append(f"\\multicolumn{{{n}}}{{c}}{{no results available}} \\\\")
        lines.append(r"\end{longtable}")
        if self.notes:
            notes = " ".join(latex_escape(note) for note in self.notes)
            lines.append(f"{{\\footnotesize\\raggedright {notes}\\par}}")
        lines.append("}")
        return "\n".join(line for line in lines if line) + "\n"

    def _float(self) -> str:
        n = len(self.header)
        env = "table*" if self.wide else "table"
        lines = [
            f"\\begin{{{env}}}[htbp]",
            r"\centering",
            f"\\caption{{{latex_escape(self.caption)}}}",
            f"\\label{{{self.label}}}",
            r"\setlength{\tabcolsep}{4pt}" if n > 6 else "",
            self.size,
            r"\begin{adjustbox}{max width=\linewidth}",
            f"\\begin{{tabular}}{{{self.latex_align or self.alignment}}}",
            r"\toprule",
        ]
        lines += [*self._header_lines(), r"\midrule"]
        lines += [" & ".join(c.to_latex() for c in row) + r" \\" for row in self.rows]
        if not self.rows:
            lines.append(f"\\multicolumn{{{n}}}{{c}}{{no results available}} \\\\")
        lines += [r"\bottomrule", r"\end{tabular}", r"\end{adjustbox}"]
        if self.notes:
            notes = " ".join(latex_escape(note) for note in self.notes)
            lines += [r"\par\smallskip", f"{{\\footnotesize\\raggedright {notes}\\par}}"]
        lines.append(f"\\end{{{env}}}")
        return "\n".join(line for line in lines if line) + "\n"

    def to_markdown(self) -> str:
        lines = [f"**Table: {self.caption}**", ""]
        lines.append("| " + " | ".join(h.replace("|", r"\|") for h in self.header) + " |")
        rules = {"l": ":---", "c": ":---:", "r": "---:"}
        lines.append("|" + "|".join(rules[a] for a in self.alignment) + "|")
        lines += ["| " + " | ".join(c.to_markdown() for c in row) + " |" for row in self.rows]
        if not self.rows:
            lines.append("| no results available |" + " |" * (len(self.header) - 1))
        lines += [""] + [f"{note}  " for note in self.notes]
        return "\n".join(lines).rstrip() + "\n"


def write_table(table: Table, outdir: str | os.PathLike) -> list[Path]:
    """Write ``name.tex``, ``name.md`` and ``name.csv`` into ``outdir``."""
    outdir = Path(outdir)
    paths = [outdir / f"{table.name}.{ext}" for ext in ("tex", "md", "csv")]
    write_text(paths[0], table.to_latex())
    write_text(paths[1], table.to_markdown())
    write_csv(paths[2], table.data)
    return paths


# --------------------------------------------------------------------------- metric tables


def _rank_marks(values: Sequence[float], metric: str) -> tuple[list[bool], list[bool]]:
    """Best and second-best flags per value, on values rounded as displayed."""
    direction = higher_is_better(metric)
    finite = [v for v in values if math.isfinite(v)]
    if not marks_best(metric) or len(finite) < 2:  # nothing to compare, or "best" is meaningless
        return [False] * len(values), [False] * len(values)
    rounded = [round(v, decimals(v)) if math.isfinite(v) else math.nan for v in values]
    distinct = sorted({v for v in rounded if math.isfinite(v)}, reverse=direction)
    best = distinct[0]
    second = distinct[1] if len(distinct) > 1 else math.nan
    return [v == best for v in rounded], [v == second for v in rounded]


def _significance(pairwise: pd.DataFrame, dataset: str, protocol: str) -> pd.DataFrame:
    rows = select(pairwise, dataset=dataset, protocol=protocol, comparison="vs_best")
    return rows.drop_duplicates(["setting", "metric", "model"]).set_index(
        ["setting", "metric", "model"]
    )


def _significance_note(tests: pd.DataFrame, alpha: float | None) -> str:
    """Footnote naming the test(s), correction(s) and level actually used."""
    names = sorted({test_label(t) for t in tests["test"].dropna()})
    corrections = sorted({correction_label(c) for c in tests["correction"].dropna()})
    how = " and ".join(names) or "paired test"
    correction = " / ".join(corrections) or "no"
    return (
        f"† significantly worse than the best model of the same setting (two-sided {how}, "
        f"direction from the sign of its effect, {correction} correction over all pairs "
        f"of models"
        + (f", α = {alpha:g})." if alpha is not None else ").")
    )


TWIN_KEYS = ["model", "setting", "metric"]


def metric_table(
    data: ReportData,
    cfg: PaperConfig,
    styles: ModelStyles,
    *,
    name: str,
    caption: str,
    protocol: str,
    settings: Sequence[str],
    metrics: Sequence[str],
    show_std: bool = True,
    group_families: bool = False,
    effect: str | None = None,
) -> Table:
    """Models (x settings) by metrics for one protocol: mean ± sd, best bold, second underlined,
    dagger where significantly worse than the best. Metrics without any result are dropped.
    ``effect``: a metric whose difference to the best model, with the test's unadjusted 95%
    interval, gets a last column (and the twin's ``diff_vs_best``, ``diff_ci_low/high``)."""
    summary = select(data.summary, dataset=cfg.dataset, protocol=protocol)
    metrics = [m for m in metrics if not is_cost(m)]  # time: own figure and table (cost section)
    summary = summary[summary["setting"].isin(settings) & summary["metric"].isin(metrics)]
    metrics = [m for m in metrics if m in set(summary["metric"])]
    present = set(zip(summary["model"], summary["setting"], strict=True))
    refused = _not_applicable(data.skipped, cfg.dataset, protocol, settings, present)
    models = styles.order([*summary["model"], *(m for m, _ in refused)])
    keys = [(m, s) for m in models for s in settings if (m, s) in present or (m, s) in refused]
    tests = _significance(data.pairwise, cfg.dataset, protocol)
    frame = _table_twin(summary, tests, keys, metrics)
    pairs = zip(frame["model"], frame["setting"], strict=True)
    frame["not_applicable"] = [pair in refused for pair in pairs]
    cells = {(r.model, r.setting, r.metric): r for r in frame.itertuples(index=False)}
    rows = []
    for model, setting in keys:
        row = [Cell(f"{model} ({setting})" if len(settings) > 1 else model)]
        for metric in metrics:
            r = cells[(model, setting, metric)]
            if r.not_applicable:
                row.append(Cell(NOT_APPLICABLE))
            else:
                row.append(_value_cell(r.mean, r.std, show_std, r.best, r.second, r.worse_than_best))
        if effect in metrics:
            row.append(_effect_cell(tests, setting, effect, model))
        rows.append(row)
    header = ["Model"] + [metric_label(m) + _ARROWS[higher_is_better(m)] for m in metrics]
    if effect in metrics:
        header.append(f"Δ{metric_label(effect)} vs best [95% CI]")
        frame = _with_effects(frame, tests, effect)
    notes = _notes(frame, show_std, tests, metrics, settings, cfg.alpha)
    if effect in metrics:
        notes.append(f"Δ: the model minus the best model on {metric_label(effect)}, mean over "
                     "users and seeds, with the test's unadjusted 95% interval (the dagger is "
                     "Holm-adjusted).")  # fmt: skip
    notes += _not_applicable_notes(refused, len(settings) > 1)
    table = Table(name, caption, header, rows, frame, notes)
    if group_families:
        _group_by_family(table, metrics)
    return table


def _effect_row(tests: pd.DataFrame, setting: str, metric: str, model: str) -> pd.Series | None:
    key = (setting, metric, model)
    return tests.loc[key] if key in tests.index else None


def _effect_cell(tests: pd.DataFrame, setting: str, metric: str, model: str) -> Cell:
    """``-0.018 [-0.029, -0.007]``: the model minus the best model of its setting, with the
    test's unadjusted 95% interval; ``–`` for the best model itself (no test)."""
    r = _effect_row(tests, setting, metric, model)
    if r is None or not math.isfinite(float(r["diff_mean"])):
        return Cell("–")
    text = f"{r['diff_mean']:+.3f} [{r['ci_low']:+.3f}, {r['ci_high']:+.3f}]"
    return Cell(text, _spaced_math(text))


def _with_effects(frame: pd.DataFrame, tests: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The twin with each ``metric`` cell's difference to the best model and its interval."""
    out = frame.copy()
    for column in ("diff_vs_best", "diff_ci_low", "diff_ci_high"):
        out[column] = math.nan
    for i, r in out[out["metric"] == metric].iterrows():
        test = _effect_row(tests, r["setting"], metric, r["model"])
        if test is not None:
            out.loc[i, ["diff_vs_best", "diff_ci_low", "diff_ci_high"]] = [
                test["diff_mean"], test["ci_low"], test["ci_high"]]  # fmt: skip
    return out


_ARROWS = {True: " ↑", False: " ↓", None: ""}
NOT_APPLICABLE = "n/a"


def _not_applicable(
    skipped: pd.DataFrame,
    dataset: str,
    protocol: str,
    settings: Sequence[str],
    present: set[tuple[str, str]],
) -> dict[tuple[str, str], str]:
    """``(model, setting) -> reason`` for models refused on this dataset and with no result."""
    rows = select(skipped, dataset=dataset, protocol=protocol)
    refused: dict[tuple[str, str], str] = {}
    for r in rows.sort_values(["model", "setting", "seed"]).itertuples(index=False):
        if r.setting in settings and (r.model, r.setting) not in present:
            refused.setdefault((r.model, r.setting), str(r.reason))
    return refused


def _not_applicable_notes(refused: Mapping[tuple[str, str], str], by_setting: bool) -> list[str]:
    """One footnote per refused row: the model's own reason, up to its suggested fix."""
    notes = []
    for (model, setting), reason in refused.items():
        name = f"{model} ({setting})" if by_setting else model
        notes.append(f"{NOT_APPLICABLE}: {name} was not run: {reason.split(';')[0]}.")
    return notes


def _table_twin(
    summary: pd.DataFrame,
    tests: pd.DataFrame,
    keys: Sequence[tuple[str, str]],
    metrics: Sequence[str],
) -> pd.DataFrame:
    """The tidy twin: one row per (model, setting, metric) cell with its value and marks."""
    grid = pd.DataFrame(
        [(m, s, metric) for metric in metrics for m, s in keys], columns=TWIN_KEYS, dtype=object
    )
    values = summary[[*TWIN_KEYS, "mean", "std", "n_seeds"]].drop_duplicates(TWIN_KEYS)
    significance = tests.reset_index()[[*TWIN_KEYS, "decision", "p_adj"]]
    frame = grid.merge(values, how="left", on=TWIN_KEYS).merge(
        significance, how="left", on=TWIN_KEYS
    )
    frame["n_seeds"] = frame["n_seeds"].fillna(0).astype(int)
    frame["worse_than_best"] = frame.pop("decision").eq("worse").fillna(False).astype(bool)
    frame["best"] = frame["second"] = False
    for metric, index in frame.groupby("metric", sort=False).groups.items():
        best, second = _rank_marks(frame.loc[index, "mean"].astype(float).tolist(), metric)
        frame.loc[index, "best"], frame.loc[index, "second"] = best, second
    columns = [*TWIN_KEYS, "mean", "std", "n_seeds", "best", "second", "worse_than_best", "p_adj"]
    return frame[columns].astype({"mean": float, "std": float, "p_adj": float})


def _group_by_family(table: Table, metrics: Sequence[str]) -> None:
    """Two-level LaTeX header: one group per metric family, one column per K."""
    families = list(dict.fromkeys(split_metric(m)[0] for m in metrics))
    table.groups = [
        (
            family_label(f) + "@K" + _ARROWS[higher_is_better(f)],
            sum(split_metric(m)[0] == f for m in metrics),
        )
        for f in families
    ]
    table.latex_header = ["Model"] + [f"K = {split_metric(m)[1]}" for m in metrics]


def _value_cell(
    mean: float, std: float, show_std: bool, best: bool, second: bool, dagger: bool
) -> Cell:
    if not math.isfinite(mean):
        return Cell()
    digits = decimals(mean)
    text, latex = format_number(mean, digits), format_number(mean, digits)
    if show_std and math.isfinite(std):
        text += f" ± {format_number(std, digits)}"
        latex += f" \\pm {format_number(std, digits)}"
    return Cell(text, f"${latex}$", bold=best, underline=second, dagger=dagger)


def _spaced_math(text: str) -> str | None:
    """``"+0.1 [-0.2, +0.3]"`` -> ``"$+0.1$ [$-0.2$, $+0.3$]"`` (spaces kept); None if empty."""
    if not text:
        return None
    return re.sub(r"[+\-−]?\d+(?:\.\d+)?", lambda m: f"${m.group(0)}$", text)


def _math(text: str) -> str | None:
    """``"0.1 ± 0.2"`` -> ``"$0.1 \\pm 0.2$"``; None for an empty cell."""
    return "$" + text.replace("±", r"\pm") + "$" if text else None


def _notes(
    frame: pd.DataFrame,
    show_std: bool,
    tests: pd.DataFrame,
    metrics: Sequence[str],
    settings: Sequence[str],
    alpha: float | None,
) -> list[str]:
    seeds = sorted(set(frame.loc[frame["n_seeds"] > 0, "n_seeds"]))
    span = "–".join(str(s) for s in (seeds[:1] + seeds[-1:] if len(seeds) > 1 else seeds)) or "0"
    what = "Mean ± s.d." if show_std else "Mean"
    notes = [
        f"{what} over {span} seeds; ↑ higher is better, ↓ lower is better; best in bold and "
        "second best underlined on accuracy and rating-error columns only (not on coverage, "
        "popularity, novelty or time, where the uniform random model would 'win'); – not applicable."
    ]
    used = tests.reset_index()
    used = used[used["metric"].isin(metrics) & used["setting"].isin(settings)]
    if len(used):
        notes.append(_significance_note(used, alpha))
    return notes


# --------------------------------------------------------------------------- other tables


def _small(value: float) -> str:
    """A reproduction number: three significant digits below 0.1 (``0.00154``), else three
    decimals, so that small factorized top-1 values stay comparable with their bands."""
    return f"{value:.3g}" if 0 < abs(value) < 0.1 else format_number(value)


def _published_cell(r: Mapping[str, Any]) -> Cell:
    places = r.get("decimals")
    exact = isinstance(places, int | float) and math.isfinite(places)
    show = (lambda v: f"{v:.{int(places)}f}") if exact else _small  # as the source prints it
    text = show(r["value"])
    if math.isfinite(r["low"]) and math.isfinite(r["high"]) and r["low"] != r["high"]:
        text += f" ({_small(r['low'])}–{_small(r['high'])})"  # the renders print other digits
    return Cell(text)


def _ours_cell(r: Mapping[str, Any]) -> Cell:
    ours = "" if not math.isfinite(r["ours_mean"]) else _small(r["ours_mean"])
    if ours and math.isfinite(r["ours_std"]):
        small = abs(r["ours_mean"]) < 0.1
        spread = _small(r["ours_std"]) if small else format_number(r["ours_std"], decimals(r["ours_mean"]))
        ours += f" ± {spread}"
    if not ours:
        return Cell("")
    return Cell(f"{ours} (n={r['n_seeds']})", _math(ours) + f" ($n={r['n_seeds']}$)")


def _system_cell(r: Mapping[str, Any]) -> Cell:
    return Cell(f"{r['system']} ({r['url']})",
                latex=f"{breakable(r['system'])} \\citep{{{r['cite_key']}}}")  # fmt: skip


def _nulls_text(value: object) -> str:
    """``"random#factorized_top@1=0.00075;popularity#...=0.006"`` as ``"random 0.00075;
    popularity 0.006"`` (the null's model, or an experiment's algorithm, and its value); ``""``
    if none."""
    if not isinstance(value, str) or not value.strip():
        return ""
    out = []
    for item in value.split(";"):
        key, _, number = item.partition("=")
        model, _, metric = key.partition("#")
        # an experiment's null is one of its algorithms: "experiment:x#BaselineOnly.rmse"
        name = metric.split(".")[0] if model.startswith("experiment:") and "." in metric else model
        out.append(f"{name} {number}".strip())
    return "; ".join(out)


def _count_text(value: object) -> str:
    """A count that pandas may have read as a float, as an integer; ``""`` if missing."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    return str(int(number)) if math.isfinite(number) else ""


def reproduction_table(frame: pd.DataFrame) -> Table:
    """Reproductions: a source's own recipe, data and protocol, run here over seeds, against its
    published number, with the verdict of :func:`recrepro.report.reproduction.reproduction_verdict`."""

    part = frame[frame["kind"] == REPRODUCTION].reset_index(drop=True)
    rows = []
    for r in part.to_dict("records"):
        band = (f"{_small(r['band_low'])}–{_small(r['band_high'])}"
                if math.isfinite(r["band_low"]) else "")  # fmt: skip
        nulls = _nulls_text(r["null_values"])
        rows.append([
            _system_cell(r), Cell(r["model"], latex=breakable(r["model"])),
            _metric_cell(r["metric"]), _published_cell(r), _ours_cell(r),
            Cell(band), Cell(nulls, latex=breakable(nulls)), Cell(r["verdict"]),
        ])  # fmt: skip
    header = ["Published", "Our run", "Metric", "Reference", "Ours", "95% band", "Nulls", "Verdict"]
    counts = verdict_counts(frame)
    notes = [
        "Reference: the value the source prints (range across its renders in parentheses). Ours: "
        "mean ± s.d. over seeds of the source's own recipe on its own split and metric. 95% band: "
        "the prediction interval of one run of the recipe (a published single run is one draw), "
        "widened by the published number's rounding (a deterministic recipe, n = 1, has no run-to-run "
        "spread: its band is that rounding alone). Reproduced: the reference, and every other "
        "render of it the source prints, lies in the band "
        "and every null (random, popularity, or global mean for rating errors, and the nearest "
        "other algorithm of the same source) lies outside it; uninformative: a null lies inside "
        "too, so the band cannot tell the recipe from the null; not reproduced: the reference "
        "lies outside. From snakemake reproduce (config/reproduce.yaml)."
    ]
    caption = (
        f"Reproductions of published numbers with their sources' own recipes: of "
        f"{counts['reproductions']}, {counts['reproduced']} reproduce, {counts['not reproduced']} "
        f"do not, {counts['uninformative']} are uninformative and {counts['not run']} "
        f"{'was' if counts['not run'] == 1 else 'were'} not run."
    )
    widths = (0.2, 0.12, 0.09, 0.08, 0.1, 0.09, 0.18, 0.08)
    ragged = ragged_columns(widths)
    return Table("reproduction", caption, header, rows, part, notes, align="llllccll",
                 latex_align=ragged, size="\\scriptsize", long=True)  # fmt: skip


def comparison_table(frame: pd.DataFrame) -> Table:
    """Seed comparisons (a seed system against the nearest published number) and the cause steps
    towards the source's recipe after each: differences with intervals, no verdict."""

    records = _comparisons_with_causes(frame)
    effects = step_effects(frame, single=False)
    rows = []
    for r in records:
        change = ""
        if r["row"] in effects.index:
            e = effects.loc[r["row"]]
            change = f"{e['effect']:+.3f} [{e['low']:+.3f}, {e['high']:+.3f}]"
            r["change"], r["change_low"], r["change_high"] = e["effect"], e["low"], e["high"]
        diff = ""
        if math.isfinite(r["diff"]):
            diff = f"{r['diff']:+.3f}"
            if math.isfinite(r["diff_low"]):
                diff += f" [{r['diff_low']:+.3f}, {r['diff_high']:+.3f}]"
        step = r["kind"] != COMPARISON
        label = ("→ " if step else "") + str(r["system"])
        rows.append([
            Cell(label, latex=("$\\to$ " if step else "") + breakable(str(r["system"]))
                 + ("" if step else f" \\citep{{{r['cite_key']}}}")),
            Cell(r["model"], latex=breakable(r["model"])), _metric_cell(r["metric"]),
            _published_cell(r), _ours_cell(r), Cell(diff, _spaced_math(diff)),
            Cell(change, _spaced_math(change)), Cell(_count_text(r["changes"])),
        ])  # fmt: skip
    header = ["System (then its cause steps)", "Our run", "Metric", "Published", "Ours",
              "Ours - published [95%]", "Change vs the seed system [95%]", "Settings changed"]  # fmt: skip
    notes = [
        "A seed comparison sets a seed's own system against the nearest published number on the "
        "source's split; the rows after it (→) change the seed's recipe towards the source's, with "
        "the number of settings each changes. Interval: the 95% prediction interval of one run of "
        "ours minus the published value (the published single run as one draw). Change: a cause "
        "step's mean minus its seed system's on the same metric, with a 95% Welch interval over "
        "the seeds. No verdict: the systems differ by design."
    ]
    caption = (f"Seed comparisons with the nearest published numbers, and the cause steps "
               f"towards the sources' recipes ({len(records)} rows).")  # fmt: skip
    widths = (0.22, 0.13, 0.08, 0.08, 0.1, 0.15, 0.15, 0.06)
    ragged = ragged_columns(widths)
    return Table("comparisons", caption, header, rows, pd.DataFrame.from_records(records),
                 notes, align="lllcccc", latex_align=ragged, size="\\scriptsize", long=True)  # fmt: skip


def _metric_cell(metric: str) -> Cell:
    """A source's metric in a narrow column: breakable after its dots (``collaborative.rmse``)."""
    label = _source_metric_label(metric)
    return Cell(label, latex=breakable(label, ("_", ".", "@")))


def _source_metric_label(metric: str) -> str:
    """A reproduction row's metric: the catalogue's label, and the part of a source's own metric
    name after the cut-off (``precision@10_test_masked`` -> ``Precision@10 (test, masked)``)."""
    name = metric.removeprefix("experiment:").split(":")[-1]
    family, at, rest = name.partition("@")
    k, _, part = rest.partition("_")
    if at and part and k.isdigit():
        return f"{metric_label(f'{family}@{k}')} ({part.replace('_', ', ')})"
    return metric_label(name)


def breakable(name: str, marks: Sequence[str] = ("_", ":", "+", "=", "#")) -> str:
    """A model, protocol or metric name for a narrow LaTeX column: escaped, with a line-break
    point after each of ``marks`` (underscore, colon, plus, equals and hash sign by default; a
    metric's "." too, never a number's)."""
    text = latex_escape(name)
    for mark in map(latex_escape, marks):
        text = text.replace(mark, mark + "\\allowbreak{}")
    return text


def protocol_span(protocol: str) -> str:
    """A pooled protocol ``a1+a2+...+a5`` (e.g. five GroupLens folds) as ``a1–a5``."""
    parts = protocol.split("+")
    if len(parts) < 2:
        return protocol
    prefix = os.path.commonprefix(parts)
    return f"{parts[0]}–{parts[-1].removeprefix(prefix)}" if prefix else protocol


# --------------------------------------------------------------------------- registered tables

_STATS = RESULT_TABLES


def _where(cfg: PaperConfig, protocol: str | None = None, setting: str | None = None) -> str:
    return (
        f"{dataset_label(cfg.dataset)}, {protocol or cfg.main_protocol} protocol, "
        f"{setting or cfg.main_setting} setting"
    )


def leader_sentence(data: ReportData, cfg: PaperConfig, protocol: str, setting: str) -> str:
    """E.g. "ease has the highest NDCG@10 (0.351), ahead of itemknn (0.330)."; "" if no data."""
    summary = select(data.summary, dataset=cfg.dataset, protocol=protocol, setting=setting)
    ranked = ranking(summary, cfg.main_metric)
    if ranked.empty:
        return ""
    best = ranked.iloc[0]
    word = "highest" if higher_is_better(cfg.main_metric) is not False else "lowest"
    text = f"{best['model']} has the {word} {metric_label(cfg.main_metric)} ({format_number(best['mean'])})"
    if len(ranked) > 1:
        second = ranked.iloc[1]
        text += f", ahead of {second['model']} ({format_number(second['mean'])})"
    return text + "."


@table("main", section="results", inputs=_STATS, wide=True)
def main_table(ctx: Context) -> Table:
    cfg = ctx.cfg
    lead = leader_sentence(ctx.data, cfg, cfg.main_protocol, cfg.main_setting)
    return metric_table(
        ctx.data,
        cfg,
        ModelStyles(cfg.models),
        name="main",
        caption=f"Headline results ({_where(cfg)}). {lead}".strip(),
        protocol=cfg.main_protocol,
        settings=[cfg.main_setting],
        metrics=cfg.headline_metrics,
        effect=cfg.main_metric,
    )


@table("per_k", section="results", inputs=_STATS, supplement=True)
def per_k_table(ctx: Context) -> Table:
    cfg = ctx.cfg
    return metric_table(
        ctx.data,
        cfg,
        ModelStyles(cfg.models),
        name="per_k",
        caption=f"Ranking quality at every cut-off K ({_where(cfg)}).",
        protocol=cfg.main_protocol,
        settings=[cfg.main_setting],
        metrics=[f"{f}@{k}" for f in cfg.per_k_families for k in cfg.ks],
        show_std=False,
        group_families=True,
    )


@table("protocol_{protocol}", section="results", inputs=_STATS, per="protocol", supplement=True)
def protocol_table(ctx: Context, protocol: str) -> Table:
    cfg = ctx.cfg
    leads = [
        f"{setting}: {leader_sentence(ctx.data, cfg, protocol, setting)}"
        for setting in cfg.settings
        if leader_sentence(ctx.data, cfg, protocol, setting)
    ]
    tests = select(ctx.data.pairwise, dataset=cfg.dataset, protocol=protocol)
    users = f"{int(tests['n_users'].max())} evaluated users, " if len(tests) else ""
    caption = (
        f"Results under the {protocol} protocol ({dataset_label(cfg.dataset)}, {users}"
        f"settings: {', '.join(cfg.settings)}). " + " ".join(leads)
    )
    return metric_table(
        ctx.data,
        cfg,
        ModelStyles(cfg.models),
        name=f"protocol_{protocol}",
        caption=caption.strip(),
        protocol=protocol,
        settings=cfg.settings,
        metrics=cfg.headline_metrics,
        show_std=False,  # the s.d. is in the main table; here it would shrink the font
    )


@table("reproduction", section="reproduction", inputs=("reproduction_table",), supplement=True)
def reproduction(ctx: Context) -> Table:
    return reproduction_table(load_table(ctx.inputs["reproduction_table"]))


@table("ablation", section="reproduction", inputs=("ablation",), wide=True)
def ablation(ctx: Context) -> Table:
    """Each seed model's addition removed on the main protocol (``results/ablation``,
    :mod:`recrepro.stats.ablation`), on the main metric."""
    paths = ctx.paths("ablation")
    frame = pd.read_csv(paths[0]) if paths else pd.DataFrame(columns=["metric"])
    frame = frame[frame["metric"] == ctx.cfg.main_metric].reset_index(drop=True)
    label = metric_label(ctx.cfg.main_metric)
    rows = []
    for r in frame.to_dict("records"):
        gain = f"{r['gain']:+.3f} [{r['ci_low']:+.3f}, {r['ci_high']:+.3f}]"
        rows.append([Cell(r["model"]), Cell(str(r["removed"])), Cell(r["setting"]),
                     Cell(format_number(r["model_mean"])), Cell(format_number(r["ablation_mean"])),
                     Cell(gain, _spaced_math(gain)),
                     Cell(format_p(r.get("p_adj", r["p_value"])))])  # fmt: skip
    header = ["Model", "Addition removed by", "Setting", label, "Without it", "Gain [95%]", "p (Holm)"]
    notes = [
        f"Main protocol ({ctx.cfg.main_protocol}). Faithful: the model's faithful values with the "
        "addition removed; tuned: each seed's search winner of the model with the addition "
        "removed (no search of its own). Gain: the model minus the ablation, mean over users and "
        "seeds, with the study's users x seeds test (two-sided) and its unadjusted 95% interval; "
        "positive: the addition helps. p: Holm-adjusted over the table's rows."
    ]
    alpha, helps, hurts = ctx.cfg.alpha or 0.05, 0, 0
    if len(frame):
        p = frame["p_adj"] if "p_adj" in frame else frame["p_value"]
        helps = int(((p < alpha) & (frame["gain"] > 0)).sum())
        hurts = int(((p < alpha) & (frame["gain"] < 0)).sum())
    caption = (f"What each seed model's addition is worth ({label}): of {len(frame)} "
               f"(addition, setting) pairs, the addition significantly helps in {helps} and hurts "
               f"in {hurts} (Holm-adjusted).")  # fmt: skip
    return Table("ablation", caption, header, rows, frame, notes, align="llllccc",
                 size="\\footnotesize")  # fmt: skip


@table("comparisons", section="reproduction", inputs=("reproduction_table",), supplement=True)
def comparisons(ctx: Context) -> Table:
    return comparison_table(load_table(ctx.inputs["reproduction_table"]))


def model_sources(models: Sequence[str]) -> dict[str, tuple[str, bool]]:
    """``model -> (source, predicts_ratings)`` from the registry; unknown models are marked."""
    from recrepro.core.errors import ConfigError
    from recrepro.models.registry import get_model_class

    out = {}
    for model in models:
        try:
            cls = get_model_class(model)
        except ConfigError:
            out[model] = ("unregistered", False)
        else:
            out[model] = (cls.source or "--", bool(cls.predicts_ratings))
    return out
