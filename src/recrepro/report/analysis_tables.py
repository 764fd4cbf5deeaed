"""Tables of the study's analyses: tuned against faithful per model (with the objective the search
chose), and each protocol's power (minimum detectable effect) and seed share of the variance.
Each is registered once in the artefact registry."""

from __future__ import annotations

import math

import pandas as pd

from recrepro.report.data import read_convergence, select
from recrepro.report.findings import count_of, plural
from recrepro.report.method_tables import chosen_values, read_tuning, searched
from recrepro.report.registry import RESULT_TABLES, Context, table
from recrepro.report.style import (
    OBJECTIVE_NAMES,
    OBJECTIVE_SHORT,
    ModelStyles,
    corrections_used,
    format_number,
    format_p,
    metric_label,
    test_label,
)
from recrepro.report.tables import Cell, Table


def tuned_vs_faithful_frame(ctx: Context) -> pd.DataFrame:
    """Main protocol and metric: per model, faithful and tuned means, the paired test of tuned
    minus faithful (corrected over models; ``correction``) and the objective the search chose."""
    cfg, data = ctx.cfg, ctx.data
    where = {"dataset": cfg.dataset, "protocol": cfg.main_protocol, "metric": cfg.main_metric}
    means = select(data.summary, **where).pivot_table(index="model", columns="setting", values="mean")
    tests = select(data.pairwise, **where, comparison="tuned_vs_faithful").set_index("model")
    records = read_tuning(ctx.paths("tuning_files"))
    rows = []
    for model in ModelStyles(cfg.models).order(means.index):
        replicates = records.get((cfg.main_protocol, model)) or []
        if replicates and not searched(replicates[0]):
            continue  # nothing to tune (random, popularity)
        test = tests.loc[model] if model in tests.index else None
        rows.append({
            "model": model,
            "faithful": means.loc[model].get("faithful", math.nan),
            "tuned": means.loc[model].get("tuned", math.nan),
            "diff": math.nan if test is None else float(test["diff_mean"]),
            "ci_low": math.nan if test is None else float(test["ci_low"]),
            "ci_high": math.nan if test is None else float(test["ci_high"]),
            "p_adj": math.nan if test is None else float(test["p_adj"]),
            "decision": "" if test is None else str(test["decision"]),
            "objective": chosen_values(replicates, "objective"),
            "objectives": [r["params"]["objective"] for r in replicates
                           if "objective" in (r.get("params") or {})],  # one per search
            "correction": None if test is None else test["correction"],
            "test": "" if test is None else str(test["test"]),
        })  # fmt: skip
    return pd.DataFrame(rows)


@table("tuned_vs_faithful", section="results", inputs=(*RESULT_TABLES, "tuning_files"), wide=True)
def tuned_vs_faithful(ctx: Context) -> Table:
    cfg = ctx.cfg
    frame = tuned_vs_faithful_frame(ctx)
    rows = []
    for r in frame.itertuples(index=False):
        ci = (f"[{format_number(r.ci_low)}, {format_number(r.ci_high)}]"
              if math.isfinite(r.ci_low) else "")  # fmt: skip
        rows.append([
            Cell(r.model), Cell(format_number(r.faithful)), Cell(format_number(r.tuned)),
            Cell(format_number(r.diff)), Cell(ci),
            _p_cell(r.p_adj),
            Cell("not significant" if r.decision == "no difference" else r.decision),
            Cell(" / ".join(OBJECTIVE_SHORT.get(o, o) for o in r.objective.split(" / "))),
        ])  # fmt: skip
    label = metric_label(cfg.main_metric)
    correction = corrections_used(frame)
    better = frame[frame["decision"] == "better"]
    worse = frame[frame["decision"] == "worse"]
    largest = frame.dropna(subset=["diff"]).sort_values("diff", ascending=False).head(1)
    takeaway = (
        f" The largest gain is {largest['model'].iloc[0]}'s ({format_number(largest['diff'].iloc[0])})."
        if len(largest) and largest["diff"].iloc[0] > 0
        else ""
    )
    objectives = pd.Series([o for chosen in frame["objectives"] for o in chosen], dtype=str).value_counts()
    counted = ", ".join(f"{OBJECTIVE_NAMES.get(o, o)} in {n}" for o, n in objectives.items())
    chosen = (f" The searches chose {counted} of the retrieval-trained models' {objectives.sum()} "
              "searches." if len(objectives) else "")  # fmt: skip
    caption = (
        f"Tuned against faithful ({cfg.main_protocol} protocol, {label}): of {plural(len(frame), 'model')}, "
        f"tuning is significantly better for {len(better) or 'none'} and significantly worse for "
        f"{len(worse) or 'none'}.{takeaway}{chosen}"
    )
    notes = [
        "Mean over seeds of each setting; difference = tuned minus faithful with its unadjusted "
        "95% interval; "
        f"p: {test_label(str(frame['test'].iloc[0])) if len(frame) else 'paired test'}, "
        f"{correction}-adjusted over the models (one family per protocol and metric). "
        "Objective: the retrieval loss each seed's search chose (by seed, separated by /): "
        "in-batch softmax, the same with logQ correction, or full softmax over the catalogue."
    ]
    header = ["Model", "Faithful", "Tuned", "Difference", "95% CI", f"p ({correction})", "Decision",
              "Objective"]  # fmt: skip
    return Table("tuned_vs_faithful", caption, header, rows, frame, notes, align="lrrrcrll")


def _p_cell(p: float) -> Cell:
    """An adjusted p-value (every test's p resolves any level: no resolution floor)."""
    return Cell(format_p(p) if math.isfinite(p) else "")


def power_frame(ctx: Context) -> pd.DataFrame:
    """Per protocol (main setting and metric): evaluated users, the minimum detectable effect and
    the median share of a model's variance that comes from the seeds."""
    cfg = ctx.cfg
    where = {"dataset": cfg.dataset, "setting": cfg.main_setting, "metric": cfg.main_metric}
    power = select(ctx.frame("power"), **where)
    level = select(ctx.frame("seed_level"), **where)
    level = level[level["other"].isna() | (level["other"].astype(str) == "")] if len(level) else level
    rows = []
    for protocol in cfg.protocols:
        p = power[power["protocol"] == protocol]
        s = level[level["protocol"] == protocol] if len(level) else level
        if p.empty:
            continue
        row = p.iloc[0]
        rows.append({
            "protocol": protocol, "n_users": int(row["n_users"]), "n_models": int(row["n_models"]),
            "mde_dz": float(row["mde_dz"]), "mde": float(row["mde"]), "mde_worst": float(row["mde_worst"]),
            "share_seed": float(s["share_seed"].median()) if len(s) else math.nan,
            "share_residual": float(_residual_share(s).median()) if len(s) else math.nan,
        })  # fmt: skip
    return pd.DataFrame(rows)


def _percent(share: float) -> str:
    """A share as a percentage with one decimal (``< 0.1`` for small positive shares)."""
    if not math.isfinite(share):
        return ""
    return "< 0.1" if 0 < share < 0.0005 else f"{100 * share:.1f}"


def _residual_share(level: pd.DataFrame) -> pd.Series:
    """Share of the user x seed residual (a user's value changing with the seed) in the total."""
    total = level["var_user"] + level["var_seed"] + level["var_residual"]
    return level["var_residual"] / total.where(total > 0)


@table("power", section="results", inputs=("power", "seed_level"), wide=True)
def power(ctx: Context) -> Table:
    cfg = ctx.cfg
    frame = power_frame(ctx)
    label = metric_label(cfg.main_metric)
    rows = [
        [Cell(r.protocol), Cell(str(r.n_users)), Cell(f"{r.mde_dz:.2f}"), Cell(format_number(r.mde)),
         Cell(format_number(r.mde_worst)),
         Cell(_percent(r.share_seed)), Cell(_percent(r.share_residual))]
        for r in frame.itertuples(index=False)
    ]  # fmt: skip
    takeaway = ""
    if len(frame) > 1:
        weakest = frame.sort_values("mde", ascending=False).iloc[0]
        takeaway = (
            f" With {weakest['n_users']} evaluated users, the {weakest['protocol']} protocol detects "
            f"only differences of at least {format_number(weakest['mde'])} in {label} (80% power) "
            "even with a per-user test."
        )
    caption = (
        f"Power of a paired per-user test per protocol ({label}, {cfg.main_setting} setting), a "
        f"lower bound: the significance marks come from the test over users and seeds, which "
        f"needs larger gaps, so a missing mark is inconclusive, not evidence of equal quality."
        + takeaway
    )
    notes = [
        "MDE: minimum detectable effect of a two-sided paired test at level 0.05 with 80% power, "
        "as a standardised effect (Cohen's d of the paired differences) and in metric units "
        "(typical s.d. of the per-user "
        f"differences); worst case: at the smallest {corrections_used(ctx.data.pairwise)}-adjusted "
        "level of the all-pairs family. "
        "Seed share: median over models of the share of the variance of per-user values that "
        "comes from the seeds alone (users-by-seeds ANOVA; negative estimates count as 0); "
        "user-by-seed: the share of the residual, a user's value changing with the seed (split and "
        "initialisation), which is where the seeds' variation shows when the mean over users "
        "barely moves."
    ]
    header = ["Protocol", "Users", "MDE (standardised)", f"MDE ({label})", "MDE, worst case",
              "Seed share (%)", "User-by-seed (%)"]  # fmt: skip
    return Table("power", caption, header, rows, frame, notes, align="lrrrrrr")



def _flag(value: object) -> str:
    text = str(value).strip().lower()
    return "yes" if text == "true" else "no" if text == "false" else ""


@table("tuning_convergence", section="method", inputs=("convergence",), supplement=True)
def tuning_convergence(ctx: Context) -> Table:
    """Per searched model and protocol: the plateau rule, the spread of its tuned results and the
    CPU of one search (``results/tuning/convergence.csv``, :mod:`recrepro.study.tuning_curves`)."""
    cfg = ctx.cfg
    paths = ctx.paths("convergence")
    frame = read_convergence(paths) if paths else None
    if frame is None or frame.empty:
        frame = pd.DataFrame(columns=["protocol", "model", "searched"])
    frame = frame[frame["searched"].astype(str).str.lower() == "true"].copy()
    order = {m: i for i, m in enumerate(ModelStyles(cfg.models).order(cfg.models))}
    frame = frame.sort_values(["protocol", "model"], key=lambda s: s.map(order) if s.name == "model" else s)
    label = metric_label(cfg.main_metric)
    rows = [
        [Cell(r.model), Cell(r.protocol), Cell(str(r.trials_to_plateau)), Cell(_flag(r.converged)),
         Cell(format_number(r.gain_half)), Cell(format_number(r.noise)),
         Cell(f"{format_number(r.test_mean)} ± {format_number(r.test_sd)}"),
         Cell(str(r.distinct_winners)), Cell(format_number(r.search_cpu_mean, 1))]
        for r in frame.itertuples(index=False)
    ]  # fmt: skip
    converged = int((frame["converged"].astype(str).str.lower() == "true").sum()) if len(frame) else 0
    budget = int(frame["budget"].max()) if len(frame) else 0
    caption = (
        f"Convergence of the searches: {count_of(converged, len(frame), 'searched (model, protocol) pair')} "
        f"reached the plateau by half the budget of {budget} trials."
    )
    notes = [
        "Plateau: the trial count from which the mean validation gain still to come stays within "
        "the noise, the larger spread over the seeds of the searches' final validation scores and "
        "of the tuned runs' test values of the tuning metric; converged: plateau at most half the "
        "budget. Gain: mean validation gain of the second half of the searches. Tuned "
        f"{label}: mean ± s.d. over the seeds' tuned runs (each seed with its own search). "
        "Winners: distinct winning configurations over the seeds' searches. CPU: CPU seconds "
        "of one search (the sum of its trials)."
    ]
    header = ["Model", "Protocol", "Plateau", "Converged", "Gain", "Noise", f"Tuned {label}",
              "Winners", "CPU s / search"]  # fmt: skip
    return Table("tuning_convergence", caption, header, rows, frame, notes, align="llrlrrrrr",
                 size="\\footnotesize", long=True)  # fmt: skip
