"""Published numbers (``config/reference_numbers.csv``) beside ours: reproductions and comparisons.

Each reference row names one published number (``published_id``; rows sharing a number share
the id), the system, our model or ``experiment:<name>`` (a source's own code,
:mod:`recrepro.experiments`), our metric name, the protocol, the published value with its range
across the source's renders (``low``/``high``) and where it was published. Its ``kind``:

* ``reproduction``: a source's own recipe, data and protocol, run here, against its published
  number, with a verdict (:func:`reproduction_verdict`);
* ``comparison``: a seed system (or our implementation of a source's algorithm) against the
  nearest published number, reported as a difference with its interval and no verdict;
* ``cause``: a step from a comparison's system towards the source's recipe (``explains`` names
  the compared model, ``changes`` counts the recipe settings it changes), also as a difference.

The verdict rule was fixed before any number was compared. A published single run is one draw of
its recipe, so it is set against the 95% *prediction* interval of one new run of the recipe,
estimated from our seeds (at least :data:`MIN_SEEDS`; a deterministic experiment needs one):
``mean +- t(0.975, n-1) * sd * sqrt(1 + 1/n)``, widened by half a unit of the published number's
last printed digit (its rounding). ``reproduced``: every published render lies in that band and
every null lies outside it; ``uninformative``: the published number lies in the band but so does
a null (or a null was not run), so the band cannot tell the recipe from the null; ``not
reproduced``: a render lies outside the band; ``too few seeds``: fewer than :data:`MIN_SEEDS`;
``not run``: no result. The nulls of a row: ``random`` and ``popularity`` (ranking metrics) or
``global_mean`` (rating errors) on the row's protocol when it is a study protocol, plus the row's
``nulls`` column (``model#metric``, e.g. the nearest other algorithm of the same source).

Counts are of distinct published numbers (:func:`verdict_counts`), each counted once.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from recrepro.core.errors import ConfigError, DataError

REFERENCE_COLUMNS = (
    "published_id", "kind", "system", "model", "metric", "protocol", "value", "low", "high",
    "source", "url", "cite_key", "note", "nulls", "explains", "changes",
)  # fmt: skip
REPRODUCTION, COMPARISON, CAUSE = "reproduction", "comparison", "cause"
KINDS = (REPRODUCTION, COMPARISON, CAUSE)
EXPERIMENT_PREFIX = "experiment:"
#: the model#metric separator of the nulls column (model names may hold ':', metrics '@')
NULL_SEPARATOR = "#"
#: protocols whose splits the study makes: random and popularity run on them as nulls
NO_STUDY_PROTOCOL = ("keras_example", "surprise_kfold", "seed000_all_ratings")


def load_references(path: str | os.PathLike) -> pd.DataFrame:
    """Read and check the reference-number table; adds ``decimals`` (of the printed number)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path} is missing; restore config/reference_numbers.csv from git")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in REFERENCE_COLUMNS if c not in frame.columns]
    if missing:
        raise ConfigError(f"{path} lacks column(s) {', '.join(missing)}; see its header in git")
    frame["decimals"] = [
        min(_decimals(text) for text in texts if str(text).strip())
        for texts in zip(frame["value"], frame["low"], frame["high"], strict=True)
    ]
    for column in ("value", "low", "high"):
        numbers = pd.to_numeric(frame[column].replace("", "nan"), errors="coerce")
        if column == "value" and numbers.isna().any():
            raise ConfigError(f"{path}: every row needs a numeric 'value'")
        frame[column] = numbers
    frame["low"] = frame["low"].fillna(frame["value"])
    frame["high"] = frame["high"].fillna(frame["value"])
    bad_kind = sorted(set(frame["kind"]) - set(KINDS))
    if bad_kind:
        raise ConfigError(f"{path}: unknown kind(s) {', '.join(bad_kind)}; use one of {', '.join(KINDS)}")
    if not frame["cite_key"].str.fullmatch(r"[A-Za-z0-9:_-]+").all():
        raise ConfigError(f"{path}: every row needs a BibTeX key in 'cite_key' (letters, digits)")
    if not frame["published_id"].str.fullmatch(r"[A-Za-z0-9:_@.+-]+").all():
        raise ConfigError(f"{path}: every row needs a 'published_id' (the number it is set against)")
    reproductions = frame[frame["kind"] == REPRODUCTION]
    twice = reproductions["published_id"][reproductions["published_id"].duplicated()]
    if len(twice):
        raise ConfigError(f"{path}: published number {twice.iloc[0]} is reproduced by two rows")
    compared = set(zip(frame.loc[frame["kind"] == COMPARISON, "model"],
                       frame.loc[frame["kind"] == COMPARISON, "protocol"], strict=True))  # fmt: skip
    causes = frame[frame["kind"] == CAUSE]
    for model, protocol in zip(causes["explains"], causes["protocol"], strict=True):
        if (model, protocol) not in compared:
            raise ConfigError(
                f"{path}: a cause row explains '{model}' on '{protocol}', but no comparison row "
                "has that model and protocol; fix its 'explains' column"
            )
    if not causes["changes"].str.fullmatch(r"[1-9][0-9]*").all():
        raise ConfigError(f"{path}: every cause row needs 'changes', the number of settings it changes")
    return frame


def _decimals(text: str) -> int:
    """Digits after the decimal point of a printed number (``"0.61"`` -> 2; ``""`` -> 0)."""
    match = re.fullmatch(r"\s*-?\d*\.(\d+)\s*", str(text))
    return len(match.group(1)) if match else 0


# ------------------------------------------------------------------------------ verdict rule
MIN_SEEDS = 5
LEVEL = 0.95
REPRODUCED, NOT_REPRODUCED, UNINFORMATIVE, TOO_FEW_SEEDS, NOT_RUN = (
    "reproduced", "not reproduced", "uninformative", "too few seeds", "not run",
)  # fmt: skip
VERDICTS = (REPRODUCED, NOT_REPRODUCED, UNINFORMATIVE, TOO_FEW_SEEDS, NOT_RUN)
ERROR_METRICS = frozenset({"rmse", "mae", "rmse_all", "mae_all"})


def is_error_metric(metric: str) -> bool:
    """Rating errors (lower is better): ``rmse``, ``SVD.rmse``, ``rmse_all``, ..."""
    return metric.split(".")[-1].split("@")[0] in ERROR_METRICS


def rounding(decimals: int) -> float:
    """Half a unit of the last printed digit: how far the unrounded number may lie."""
    return 0.5 * 10.0 ** (-decimals) if decimals > 0 else 0.0


def prediction_band(
    values: Sequence[float], deterministic: bool = False, level: float = LEVEL
) -> tuple[float, float] | None:
    """The ``level`` prediction interval of one new run from our per-seed ``values``; ``None``
    with too few seeds. A deterministic recipe's single value is its own band."""
    from scipy import stats

    values = np.asarray(values, np.float64)
    n = len(values)
    if n == 0 or (n < MIN_SEEDS and not (deterministic and n >= 1)):
        return None
    mean = float(values.mean())
    if n == 1:
        return mean, mean
    half = stats.t.ppf(0.5 + level / 2, n - 1) * values.std(ddof=1) * math.sqrt(1 + 1 / n)
    return mean - float(half), mean + float(half)


def reproduction_verdict(
    values: Sequence[float],
    low: float,
    high: float,
    decimals: int,
    nulls: Mapping[str, float],
    deterministic: bool = False,
) -> tuple[str, float, float, list[str]]:
    """``(verdict, band_low, band_high, nulls inside the band)`` of a reproduction row."""
    if len(values) == 0:
        return NOT_RUN, math.nan, math.nan, []
    band = prediction_band(values, deterministic)
    if band is None:
        return TOO_FEW_SEEDS, math.nan, math.nan, []
    slack = rounding(decimals)
    lower, upper = band[0] - slack, band[1] + slack
    if low < lower or high > upper:
        return NOT_REPRODUCED, lower, upper, []
    inside = [name for name, value in nulls.items() if not math.isfinite(value) or lower <= value <= upper]
    return (UNINFORMATIVE if inside else REPRODUCED), lower, upper, inside


def difference_interval(values: Sequence[float], published: float) -> tuple[float, float, float]:
    """``(ours - published, low, high)``: the published single run as one draw, so the 95%
    interval is the prediction interval of our runs, shifted by the published value."""
    values = np.asarray(values, np.float64)
    if len(values) == 0:
        return math.nan, math.nan, math.nan
    diff = float(values.mean()) - published
    band = prediction_band(values, deterministic=len(values) == 1) if len(values) >= 2 else None
    if band is None:
        return diff, math.nan, math.nan
    return diff, band[0] - published, band[1] - published


# ------------------------------------------------------------------------ the reproduction table
TABLE_COLUMNS = (
    "published_id", "kind", "system", "model", "protocol", "metric", "value", "low", "high",
    "decimals", "n_seeds", "ours_mean", "ours_std", "band_low", "band_high", "diff", "diff_low",
    "diff_high", "null_values", "nulls_inside", "verdict", "changes", "explains", "source", "url",
    "cite_key", "note",
)  # fmt: skip


def load_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a reproduction table (``reported/reproduction.csv``); one line if its format is older."""
    frame = pd.read_csv(path)
    missing = [c for c in TABLE_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(
            f"{path} lacks column(s) {', '.join(missing)} (an older format); rebuild it with "
            "`snakemake publish_reproduction --configfile config/reproduce.yaml`"
        )
    return frame


def experiment_spec(model: str):
    """The :class:`recrepro.experiments.Experiment` of an ``experiment:<name>`` model."""
    from recrepro.experiments import EXPERIMENTS

    name = model.removeprefix(EXPERIMENT_PREFIX)
    if name not in EXPERIMENTS:
        raise ConfigError(f"unknown experiment '{name}'; known: {', '.join(EXPERIMENTS)}")
    return EXPERIMENTS[name]


def row_seeds(model: str, seeds: Sequence[int]) -> list[int]:
    """The seeds a row's model runs: a deterministic experiment runs the first only."""
    if model.startswith(EXPERIMENT_PREFIX) and experiment_spec(model).deterministic:
        return list(seeds[:1])
    return list(seeds)


def result_path(
    results: str | os.PathLike, dataset: str, protocol: str, model: str, seed: int
) -> Path:
    """Where the faithful result of a (protocol, model) and seed is written."""
    if model.startswith(EXPERIMENT_PREFIX):
        name = model.removeprefix(EXPERIMENT_PREFIX)
        return Path(results) / "reproduction" / dataset / protocol / name / f"seed{seed}.json"
    return Path(results) / "runs" / dataset / protocol / model / "faithful" / f"seed{seed}" / "metrics.json"


def row_nulls(ref: Mapping[str, object]) -> list[tuple[str, str]]:
    """``(model, metric)`` of a row's nulls: the default ones and its ``nulls`` column."""
    metric, protocol = str(ref["metric"]), str(ref["protocol"])
    found: list[tuple[str, str]] = []
    if ref["kind"] == REPRODUCTION and not str(ref["model"]).startswith(EXPERIMENT_PREFIX) \
            and protocol not in NO_STUDY_PROTOCOL:  # fmt: skip
        found += [("global_mean", metric)] if is_error_metric(metric) else \
            [("random", metric), ("popularity", metric)]  # fmt: skip
    for entry in filter(None, str(ref.get("nulls", "")).split(";")):
        model, _, null_metric = entry.strip().partition(NULL_SEPARATOR)
        found.append((model, null_metric or metric))
    return list(dict.fromkeys(found))


def needed_results(
    references: pd.DataFrame,
    dataset: str,
    seeds: Iterable[int],
    models: Iterable[str],
    protocols: Iterable[str],
    results: str | os.PathLike = "results",
    experiments: Iterable[str] = (),
) -> list[Path]:
    """The result files the table needs (rows' models and their nulls) that the configuration
    runs (its models on its protocols, its ``experiments`` on theirs), for every seed. Other
    rows are reported as not run."""
    models, protocols, seeds = set(models), set(protocols), list(seeds)
    models |= {EXPERIMENT_PREFIX + name for name in experiments}
    paths = []
    for ref in references.to_dict("records"):
        parts = str(ref["protocol"]).split("+")
        for model in [str(ref["model"]), *(m for m, _ in row_nulls(ref))]:
            own_folds = model.startswith(EXPERIMENT_PREFIX) and not experiment_spec(model).needs_split
            runnable = model in models and (own_folds or set(parts) <= protocols)
            if runnable:
                paths += [result_path(results, dataset, p, model, s)
                          for p in parts for s in row_seeds(model, seeds)]  # fmt: skip
    return sorted(set(paths))


def seed_values(
    model: str, metric: str, protocol: str, dataset: str, seeds: Sequence[int],
    results: str | os.PathLike,
) -> list[float]:  # fmt: skip
    """Our value per seed; a row over several protocols (``a+b+...``, e.g. five folds of a
    cross-validation) takes each seed's mean over them, as the sources do."""
    values = []
    for seed in row_seeds(model, seeds):
        per_protocol = []
        for part in protocol.split("+"):
            path = result_path(results, dataset, part, model, seed)
            value = json.loads(path.read_text()).get("metrics", {}).get(metric) \
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
    """One row per reference row: our mean and s.d. over seeds, and the verdict (reproductions)
    or the difference with its interval (comparisons and cause rows)."""
    rows = []
    for ref in references.to_dict("records"):
        model, metric, protocol = str(ref["model"]), str(ref["metric"]), str(ref["protocol"])
        values = seed_values(model, metric, protocol, dataset, seeds, results)
        row = {c: ref.get(c, "") for c in TABLE_COLUMNS if c in ref}
        row.update(
            n_seeds=len(values),
            ours_mean=float(np.mean(values)) if values else math.nan,
            ours_std=float(np.std(values, ddof=1)) if len(values) > 1 else math.nan,
            band_low=math.nan, band_high=math.nan, null_values="", nulls_inside="", verdict="",
        )  # fmt: skip
        row["diff"], row["diff_low"], row["diff_high"] = difference_interval(values, ref["value"])
        if ref["kind"] == REPRODUCTION:
            nulls = {}
            for null_model, null_metric in row_nulls(ref):
                got = seed_values(null_model, null_metric, protocol, dataset, seeds, results)
                nulls[f"{null_model}{NULL_SEPARATOR}{null_metric}"] = float(np.mean(got)) if got else math.nan
            deterministic = model.startswith(EXPERIMENT_PREFIX) and experiment_spec(model).deterministic
            decided, lower, upper, inside = reproduction_verdict(
                values, ref["low"], ref["high"], int(ref["decimals"]), nulls, deterministic
            )
            row.update(
                verdict=decided, band_low=lower, band_high=upper, nulls_inside=";".join(inside),
                null_values=";".join(f"{name}={_fmt(v) or 'not run'}" for name, v in nulls.items()),
            )  # fmt: skip
        rows.append(row)
    return pd.DataFrame.from_records(rows, columns=list(TABLE_COLUMNS))


def verdict_counts(table: pd.DataFrame) -> dict[str, int]:
    """Distinct published numbers: in all, by verdict of their reproduction, and those only
    compared with (no reproduction row); and the comparison and cause rows."""
    ids = table["published_id"].astype(str)
    reproductions = table[table["kind"] == REPRODUCTION]
    by_verdict = reproductions["verdict"].value_counts()
    return {
        "published": int(ids.nunique()),
        "reproductions": len(reproductions),
        **{v: int(by_verdict.get(v, 0)) for v in VERDICTS},
        "compared_only": int(len(set(ids) - set(reproductions["published_id"].astype(str)))),
        "comparisons": int((table["kind"] == COMPARISON).sum()),
        "causes": int((table["kind"] == CAUSE).sum()),
    }


def _fmt(value: float, digits: int = 4) -> str:
    return "" if not isinstance(value, float | int) or not math.isfinite(value) else f"{value:.{digits}g}"


def _signed(value: float) -> str:
    return "" if not math.isfinite(value) else f"{value:+.3g}"


def published_text(row: Mapping[str, object]) -> str:
    """The published value, with the range across renders when there are several."""
    text = _fmt(row["value"])
    return text if row["low"] == row["high"] else f"{text} ({_fmt(row['low'])}-{_fmt(row['high'])})"


def difference_text(row: Mapping[str, object]) -> str:
    """``ours - published`` with its 95% interval."""
    diff = _signed(row["diff"])
    if diff and math.isfinite(row["diff_low"]):
        diff += f" [{_signed(row['diff_low'])}, {_signed(row['diff_high'])}]"
    return diff


def reproduction_markdown(table: pd.DataFrame) -> str:
    """The table as Markdown: reproductions (by verdict), then comparisons with their causes."""
    order = {v: i for i, v in enumerate(VERDICTS)}
    repro = table[table["kind"] == REPRODUCTION]
    repro = repro.assign(_o=repro["verdict"].map(order)).sort_values("_o", kind="stable")
    lines = [
        "## Reproductions: a source's own recipe, data and protocol",
        "",
        "| verdict | system | model | protocol | metric | published | ours (n) | 95% band for one run "
        "| nulls (mean) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in repro.to_dict("records"):
        band = f"{_fmt(r['band_low'])} - {_fmt(r['band_high'])}" if math.isfinite(r["band_low"]) else ""
        lines.append(
            f"| {r['verdict']} | {r['system']} | {r['model']} | {r['protocol']} | {r['metric']} "
            f"| {published_text(r)} | {_fmt(r['ours_mean'])} ({r['n_seeds']}) | {band} "
            f"| {r['null_values']} |"
        )
    lines += [
        "",
        "## Seed comparisons and their cause steps: differences, no verdict",
        "",
        "| kind | system | model | protocol | metric | published | ours (n) | ours - published [95%] "
        "| settings changed |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in _comparisons_with_causes(table):
        lines.append(
            f"| {r['kind']} | {r['system']} | {r['model']} | {r['protocol']} | {r['metric']} "
            f"| {published_text(r)} | {_fmt(r['ours_mean'])} ({r['n_seeds']}) "
            f"| {difference_text(r)} | {r['changes']} |"
        )
    return "\n".join(lines) + "\n"


def _comparisons_with_causes(table: pd.DataFrame) -> list[dict]:
    """Comparison rows, each followed by the cause rows that explain it (``row``: the row's
    index in ``table``)."""
    records = [{**r, "row": i} for i, r in zip(table.index, table.to_dict("records"), strict=True)]
    out = []
    for r in records:
        if r["kind"] != COMPARISON:
            continue
        out.append(r)
        out += [c for c in records if c["kind"] == CAUSE and c["explains"] == r["model"]
                and c["protocol"] == r["protocol"] and c["published_id"] == r["published_id"]]  # fmt: skip
    return out


README_START = "<!-- reproduction table: generated by `snakemake publish_reproduction`; do not edit -->"
README_END = "<!-- end of the generated reproduction table -->"


def counts_sentence(counts: Mapping[str, int]) -> str:
    """The README's count of distinct published numbers by verdict (zero counts left out)."""
    verdicts = ", ".join(f"{counts[v]} {v}" for v in VERDICTS if counts[v])
    n, runs = counts["published"], counts["reproductions"]
    against = "all" if runs == n else f"{runs} of them"
    text = (
        f"{n} distinct published numbers; {against} set against a run of their source's own "
        f"recipe ({verdicts})"
    )
    if counts["compared_only"]:
        text += f", {counts['compared_only']} only compared with"
    return (
        f"{text}. Beside them, {counts['comparisons']} seed comparisons and {counts['causes']} "
        "cause steps (differences, no verdict)."
    )


def readme_section(table: pd.DataFrame) -> str:
    """The counts by verdict and every reproduction, for the README (from the table only)."""
    counts = verdict_counts(table)
    lines = [README_START, "", counts_sentence(counts), ""]
    reproductions = table[table["kind"] == REPRODUCTION]
    for verdict_name in VERDICTS:
        rows = reproductions[reproductions["verdict"] == verdict_name]
        if rows.empty:
            continue
        lines += [f"**{verdict_name.capitalize()}** ({len(rows)})", ""]
        for r in rows.to_dict("records"):
            inside = f"; inside the band: {r['nulls_inside']}" if r["nulls_inside"] else ""
            lines.append(
                f"- {r['system']}: {r['metric']} on `{r['protocol']}`, published "
                f"{published_text(r)}, ours {_fmt(r['ours_mean']) or 'no result'}{inside}."
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


def step_effects(reproduction: pd.DataFrame, single: bool = True) -> pd.DataFrame:
    """The reproduction's one-change cause steps with their effect: the step's mean minus the
    mean of the seed system it changes (the comparison row of the same published number and
    metric whose model the step ``explains``), with a 95% Welch interval over the seeds; indexed
    like ``reproduction``. ``single``: only the steps that change one setting."""
    from scipy import stats

    if reproduction is None or reproduction.empty or "kind" not in reproduction:
        return pd.DataFrame()
    causes = reproduction[reproduction["kind"] == CAUSE]
    if single:
        causes = causes[causes["changes"] == 1]
    base = reproduction[reproduction["kind"] == COMPARISON].set_index(["published_id", "metric", "model"])
    rows = []
    index = []
    for r in causes.itertuples():
        key = (r.published_id, r.metric, r.explains)
        if key not in base.index:
            continue
        b = base.loc[key]
        b = b.iloc[0] if isinstance(b, pd.DataFrame) else b
        n1, n2 = float(r.n_seeds), float(b["n_seeds"])
        v1 = r.ours_std**2 / n1 if n1 > 1 else 0.0  # one run (deterministic): no spread
        v2 = b["ours_std"] ** 2 / n2 if n2 > 1 else 0.0
        se = math.sqrt(v1 + v2) if math.isfinite(v1 + v2) else math.nan
        if se > 0:
            df = (v1 + v2) ** 2 / ((v1**2 / (n1 - 1) if v1 else 0.0) + (v2**2 / (n2 - 1) if v2 else 0.0))
            half = float(stats.t.ppf(0.975, df)) * se
        else:
            half = 0.0 if se == 0 else math.nan
        effect = r.ours_mean - b["ours_mean"]
        system = str(r.system).split(" vs ")[0]
        index.append(r.Index)
        rows.append({"system": system, "effect": effect, "low": effect - half, "high": effect + half})
    return pd.DataFrame(rows, index=index, columns=["system", "effect", "low", "high"])
