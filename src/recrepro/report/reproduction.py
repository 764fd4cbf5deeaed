"""Published reference numbers (``config/reference_numbers.csv``) beside ours, with a verdict.

Each reference row is one published number: the system, our model that reproduces it (a model of
the study, or ``experiment:<name>`` for a source's own evaluation code, :mod:`recrepro.experiments`),
our metric name that matches the published one, the protocol (the source's own split), the
published value with its range across the source's renders, and where it was published. Our
side is the model's result under the faithful setting of the row's protocol, over the seeds.

The verdict rule was fixed before any number was compared (:func:`verdict`): an equivalence
test (TOST, two one-sided t-tests at level 0.05 over the seeds, i.e. the 90% t-interval of our
mean) against the published range widened by a margin per metric type (:func:`margin`):

* rating errors (``rmse``, ``mae``, and ``rmse_all``/``mae_all`` over every test rating, which
  the sources report): 0.02 absolute;
* rates (top-K accuracies, precision, recall, AUC, ...): 10% of the published value, at least
  0.005 absolute.

``reproduced``: the 90% interval lies inside [low - margin, high + margin]; ``not reproduced``:
it lies entirely outside; ``inconclusive``: it straddles a bound; ``one seed``: no interval;
``not run``: no result (the model or protocol is not in the configuration).

Cause experiments: a row whose optional ``explains`` column names another row's model is not a
published number of its own; it reruns that model on the same protocol with one recipe change
(e.g. the tutorial's hyperparameters, or the seed's extra component removed) against the same
published value. A ``not reproduced`` row's ``cause`` column reports its cause experiments'
results and verdicts, so the cause of a mismatch is shown by a run, not asserted. Counts of
published numbers leave cause experiments out (:func:`published_rows`).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from recrepro.errors import ConfigError

REFERENCE_COLUMNS = (
    "system",
    "model",
    "metric",
    "protocol",
    "setting",
    "value",
    "low",
    "high",
    "split",
    "epochs",
    "source",
    "url",
    "cite_key",
    "note",
)
#: Optional column: the model of the row a cause experiment explains (empty: a published number).
EXPLAINS = "explains"


def load_references(path: str | os.PathLike) -> pd.DataFrame:
    """Read and check the reference-number table."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path} is missing; restore config/reference_numbers.csv from git")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in REFERENCE_COLUMNS if c not in frame.columns]
    if missing:
        raise ConfigError(f"{path} lacks column(s) {', '.join(missing)}; see its header in git")
    for column in ("value", "low", "high"):
        numbers = pd.to_numeric(frame[column].replace("", "nan"), errors="coerce")
        if column == "value" and numbers.isna().any():
            raise ConfigError(f"{path}: every row needs a numeric 'value'")
        frame[column] = numbers
    if (frame["setting"].replace("", "faithful") != "faithful").any():
        raise ConfigError(f"{path}: published numbers are reproduced in the faithful setting only")
    frame["low"] = frame["low"].fillna(frame["value"])
    frame["high"] = frame["high"].fillna(frame["value"])
    if not frame["cite_key"].str.fullmatch(r"[A-Za-z0-9:_-]+").all():
        raise ConfigError(f"{path}: every row needs a BibTeX key in 'cite_key' (letters, digits)")
    if EXPLAINS not in frame.columns:
        frame[EXPLAINS] = ""
    published = set(zip(frame.loc[frame[EXPLAINS] == "", "model"],
                        frame.loc[frame[EXPLAINS] == "", "protocol"], strict=True))  # fmt: skip
    for model, protocol in zip(frame[EXPLAINS], frame["protocol"], strict=True):
        if model and (model, protocol) not in published:
            raise ConfigError(
                f"{path}: a cause experiment explains '{model}' on '{protocol}', but no "
                "published row has that model and protocol; fix its 'explains' column"
            )
    return frame


def explained_models(table: pd.DataFrame) -> pd.Series:
    """Per row, the model a cause experiment explains (``""`` for a published number)."""
    column = table[EXPLAINS] if EXPLAINS in table.columns else pd.Series("", index=table.index)
    return column.astype(object).fillna("").astype(str)


def published_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows that are published numbers (not cause experiments)."""
    return table[explained_models(table) == ""]


def verdict_counts(table: pd.DataFrame) -> dict[str, int]:
    """Published numbers per verdict (``one seed`` counted as inconclusive) and the number of
    cause experiments (``cause_experiments``)."""
    published = published_rows(table)
    counts = published["verdict"].value_counts()
    return {
        "published": len(published),
        REPRODUCED: int(counts.get(REPRODUCED, 0)),
        NOT_REPRODUCED: int(counts.get(NOT_REPRODUCED, 0)),
        INCONCLUSIVE: int(counts.get(INCONCLUSIVE, 0) + counts.get(ONE_SEED, 0)),
        NOT_RUN: int(counts.get(NOT_RUN, 0)),
        "cause_experiments": len(table) - len(published),
    }


# ------------------------------------------------------------------------------ verdict rule
ALPHA = 0.05
ERROR_METRICS = frozenset({"rmse", "mae", "rmse_all", "mae_all"})
REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE, ONE_SEED, NOT_RUN = (
    "reproduced", "not reproduced", "inconclusive", "one seed", "not run",
)  # fmt: skip


def margin(metric: str, published: float) -> float:
    """Equivalence margin of a metric: 0.02 for rating errors, else 10% (at least 0.005)."""
    if metric.split(":")[-1].split("@")[0] in ERROR_METRICS:
        return 0.02
    return max(0.1 * abs(published), 0.005)


def verdict(
    values: Sequence[float], low: float, high: float, delta: float, alpha: float = ALPHA
) -> tuple[str, float, float]:
    """``(verdict, lower, upper)``: TOST of our per-seed ``values`` against the published range
    ``[low, high]`` widened by ``delta``; ``lower, upper`` is the (1 - 2 alpha) t-interval."""
    from scipy import stats

    values = np.asarray([v for v in values if math.isfinite(v)], np.float64)
    if len(values) == 0:
        return NOT_RUN, math.nan, math.nan
    mean = float(values.mean())
    if len(values) == 1:
        return ONE_SEED, mean, mean
    half = float(stats.t.ppf(1 - alpha, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values)))
    lower, upper = mean - half, mean + half
    if lower >= low - delta and upper <= high + delta:
        return REPRODUCED, lower, upper
    if upper < low - delta or lower > high + delta:
        return NOT_REPRODUCED, lower, upper
    return INCONCLUSIVE, lower, upper


# ------------------------------------------------------------------------ the reproduction table
EXPERIMENT_PREFIX = "experiment:"
TABLE_COLUMNS = (
    "system", "model", "protocol", "metric", "value", "low", "high", "margin", "n_seeds",
    "ours_mean", "ours_std", "ours_ci90_low", "ours_ci90_high", "verdict", "source", "url",
    "cite_key", "note", EXPLAINS, "cause",
)  # fmt: skip


def result_path(
    results: str | os.PathLike, dataset: str, protocol: str, model: str, seed: int
) -> Path:
    """Where the faithful result of a reference row's (protocol, model) and seed is written."""
    if model.startswith(EXPERIMENT_PREFIX):
        name = model.removeprefix(EXPERIMENT_PREFIX)
        return Path(results) / "reproduction" / dataset / protocol / name / f"seed{seed}.json"
    return Path(results) / "runs" / dataset / protocol / model / "faithful" / f"seed{seed}" / "metrics.json"


def needed_results(
    references: pd.DataFrame,
    dataset: str,
    seeds: Iterable[int],
    models: Iterable[str],
    protocols: Iterable[str],
    results: str | os.PathLike = "results",
) -> list[Path]:
    """The result files the table needs: rows whose model (or experiment) and protocol the
    configuration runs, for every seed. Other rows are reported as not run."""
    models, protocols, seeds = set(models), set(protocols), list(seeds)
    paths = []
    for ref in references.to_dict("records"):
        runnable = ref["model"].startswith(EXPERIMENT_PREFIX) or ref["model"] in models
        parts = str(ref["protocol"]).split("+")
        if runnable and set(parts) <= protocols:
            paths += [result_path(results, dataset, p, ref["model"], s) for p in parts for s in seeds]
    return sorted(set(paths))


def _seed_values(
    ref: Mapping[str, object], dataset: str, seeds: Sequence[int], results: str | os.PathLike
) -> list[float]:
    """Our value per seed; a row over several protocols (``a+b+...``, e.g. the five GroupLens
    folds of a 5-fold cross-validation) takes each seed's mean over them, as the sources do."""
    values = []
    for seed in seeds:
        per_protocol = []
        for protocol in str(ref["protocol"]).split("+"):
            path = result_path(results, dataset, protocol, str(ref["model"]), seed)
            value = json.loads(path.read_text()).get("metrics", {}).get(ref["metric"]) \
                if path.is_file() else None  # fmt: skip
            per_protocol.append(math.nan if value is None else float(value))
        if per_protocol and all(math.isfinite(v) for v in per_protocol):
            values.append(float(np.mean(per_protocol)))
    return values


def reproduction_table(
    references: pd.DataFrame,
    dataset: str,
    seeds: Sequence[int],
    results: str | os.PathLike = "results",
) -> pd.DataFrame:
    """One row per published number with our mean, s.d., 90% interval and the verdict."""
    rows = []
    for ref in references.to_dict("records"):
        values = _seed_values(ref, dataset, seeds, results)
        delta = margin(ref["metric"], ref["value"])
        decided, lower, upper = verdict(values, ref["low"], ref["high"], delta)
        rows.append(
            {
                **{c: ref.get(c, "") for c in ("system", "model", "protocol", "metric", "value",
                                               "low", "high", "source", "url", "cite_key",
                                               "note", EXPLAINS)},
                "margin": delta,
                "n_seeds": len(values),
                "ours_mean": float(np.mean(values)) if values else math.nan,
                "ours_std": float(np.std(values, ddof=1)) if len(values) > 1 else math.nan,
                "ours_ci90_low": lower,
                "ours_ci90_high": upper,
                "verdict": decided,
            }
        )  # fmt: skip
    for row in rows:
        row["cause"] = _cause(row, rows) if row["verdict"] == NOT_REPRODUCED else ""
    return pd.DataFrame.from_records(rows, columns=list(TABLE_COLUMNS))


def _cause(row: Mapping[str, object], rows: Sequence[Mapping[str, object]]) -> str:
    """The results of the cause experiments of a published ``row`` (same model and protocol)."""
    if row[EXPLAINS]:
        return ""
    found = [
        f"{str(c['system']).removeprefix('Cause experiment: ')}: ours "
        f"{_fmt(c['ours_mean']) or 'no result'} [{c['verdict']}]"
        for c in rows
        if c[EXPLAINS] == row["model"] and c["protocol"] == row["protocol"]
    ]
    return "; ".join(found)


def _fmt(value: float, digits: int = 4) -> str:
    return "" if not math.isfinite(value) else f"{value:.{digits}g}"


def reproduction_markdown(table: pd.DataFrame) -> str:
    """The table as Markdown: published numbers (reproduced first, then the others), then the
    cause experiments."""
    lines = []
    order = {REPRODUCED: 0, INCONCLUSIVE: 1, NOT_REPRODUCED: 2, ONE_SEED: 3, NOT_RUN: 4}
    explains = explained_models(table)
    key = table["verdict"].map(order) + 10 * (explains != "")
    table = table.assign(_o=key, explained=explains).sort_values("_o", kind="stable")
    lines.append(
        "| verdict | system | our model | protocol | metric | published | ours (90% CI) | n "
        "| cause experiment |"
    )
    lines.append("|---|---|---|---|---|---|---|---|---|")
    for r in table.itertuples(index=False):
        published = _fmt(r.value) + ("" if r.low == r.high else f" ({_fmt(r.low)}-{_fmt(r.high)})")
        ours = _fmt(r.ours_mean)
        if ours and math.isfinite(r.ours_ci90_low) and r.n_seeds > 1:
            ours += f" ({_fmt(r.ours_ci90_low)}-{_fmt(r.ours_ci90_high)})"
        lines.append(
            f"| {r.verdict + (f' (cause experiment for {r.explained})' if r.explained else '')} | {r.system} "
            f"| {r.model} | {r.protocol} | {r.metric} | {published} | {ours} | {r.n_seeds} "
            f"| {r.cause} |"
        )
    return "\n".join(lines) + "\n"


README_START = "<!-- reproduction table: generated by `snakemake publish_reproduction`; do not edit -->"
README_END = "<!-- end of the generated reproduction table -->"


def readme_section(table: pd.DataFrame) -> str:
    """What reproduces and what does not, side by side, for the README (from the table only)."""
    lines = [README_START, ""]
    groups = (
        ("Reproduced", [REPRODUCED]),
        ("Not reproduced", [NOT_REPRODUCED]),
        ("Inconclusive, or not run", [INCONCLUSIVE, ONE_SEED, NOT_RUN]),
    )
    published = published_rows(table)
    for title, verdicts in groups:
        rows = published[published["verdict"].isin(verdicts)]
        lines.append(f"**{title}** ({len(rows)} of {len(published)} published numbers)")
        lines.append("")
        for r in rows.itertuples(index=False):
            ours = _fmt(r.ours_mean) or "no result"
            cause = f" Cause experiment: {r.cause}." if r.verdict == NOT_REPRODUCED and r.cause else ""
            note = f" Note: {r.note}" if r.verdict == NOT_REPRODUCED and r.note else ""
            lines.append(
                f"- {r.system}: {r.metric} on `{r.protocol}`, published {_fmt(r.value)}, "
                f"ours ({r.model}) {ours} [{r.verdict}].{cause}{note}"
            )
        lines.append("")
    lines.append(README_END)
    return "\n".join(lines)


def replace_readme_section(text: str, section: str) -> str:
    """``text`` with the block between the README markers replaced by ``section``."""
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        raise ConfigError("README.md lacks the reproduction-table markers; restore them from git")
    return text[:start] + section + text[end + len(README_END) :]
