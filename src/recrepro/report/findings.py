r"""The paper's findings as quotable sentences: the fair (tuned) comparison of seed models and
baselines, how much tuning shrinks their gap, the protocols' agreement and ties, the
temporal_user protocol's global-time leakage, and the evidence of the Discussion (optimiser steps,
the searches' choices, the ablations, the reproduction's cause steps).

Every sentence is built from the study's own tables and drops out (``""``) when its data is
absent, so the paper reads true for any configuration. :mod:`recrepro.report.numbers` collects
them into ``numbers.tex``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from recrepro.report.config import PaperConfig, search_trials
from recrepro.report.data import ReportData, ranking, select
from recrepro.report.reproduction import step_effects
from recrepro.report.style import correction_label, format_number, format_p, higher_is_better, metric_label
from recrepro.report.tables import latex_escape

# --------------------------------------------------------------------------- wording


def plural(n: int, noun: str) -> str:
    """``"1 protocol"``, ``"3 protocols"``, ``"2 searches"``."""
    if n == 1:
        return f"{n} {noun}"
    return f"{n} {noun}" + ("es" if noun.endswith(("s", "sh", "ch", "x")) else "s")


def count_of(k: int, n: int, noun: str) -> str:
    """``"all 17 models"``, ``"none of the 17 models"``, ``"both models"``, ``"3 of 17 models"``."""
    nouns = plural(n, noun)
    if n == 1:
        return f"the {noun}" if k == 1 else f"not the {noun}"
    if k == n:
        return f"both {nouns.split(' ', 1)[1]}" if n == 2 else f"all {nouns}"
    if k == 0:
        return f"neither {noun}" if n == 2 else f"none of the {nouns}"
    return f"{k} of {nouns}"


def behind_clause(tied: int, tested: int, noun: str = "other model") -> str:
    """``"9 of 19 other models are not significantly behind it"``; with none tied, ``"all 18
    other models are significantly behind it"`` (no double negative)."""
    if tied == 0:
        verb = "is" if tested == 1 else "are"
        return f"{count_of(tested, tested, noun)} {verb} significantly behind it"
    verb = "is" if tied == 1 else "are"
    return f"{count_of(tied, tested, noun)} {verb} not significantly behind it"


def listing(items: Sequence[str]) -> str:
    """``"a"``, ``"a and b"``, ``"a, b and c"``."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _num(value: Any) -> str:
    return format_number(value) if value is not None and not pd.isna(value) else ""


def _p(p: Any) -> str:
    text = format_p(p)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def is_seed(model: str) -> bool:
    """True for a seed system (its declared source names a seed document)."""
    from recrepro.report.tables import model_sources

    return model_sources([model])[model][0].startswith("Seed")


# --------------------------------------------------------------------------- comparisons


def _where(cfg: PaperConfig, protocol: str, setting: str) -> dict[str, str]:
    return {"dataset": cfg.dataset, "protocol": protocol, "setting": setting}


def _ranked(data: ReportData, cfg: PaperConfig, protocol: str, setting: str) -> pd.DataFrame:
    return ranking(select(data.summary, **_where(cfg, protocol, setting)), cfg.main_metric)


def _test(data: ReportData, cfg: PaperConfig, protocol: str, setting: str, a: str, b: str) -> dict:
    """The all-pairs test of ``a`` against ``b`` (either order), oriented as ``a`` minus ``b``."""
    tests = select(data.pairwise, **_where(cfg, protocol, setting), metric=cfg.main_metric,
                   comparison="all_pairs")  # fmt: skip
    for x, y, sign in ((a, b, 1.0), (b, a, -1.0)):
        row = tests[(tests["model"] == x) & (tests["other"] == y)]
        if len(row):
            r = row.iloc[0]
            low, high = sorted((sign * r["ci_low"], sign * r["ci_high"]))
            return {"diff": sign * r["diff_mean"], "low": low, "high": high, "p": r["p_adj"],
                    "correction": correction_label(str(r["correction"])),
                    "significant": r["decision"] in ("better", "worse")}  # fmt: skip
    return {}


def ties(data: ReportData, cfg: PaperConfig, protocol: str, setting: str) -> tuple[int, int]:
    """``(k, n)``: of the ``n`` models tested against the leader (comparison ``vs_best``), ``k``
    are not significantly behind it."""
    tests = select(data.pairwise, **_where(cfg, protocol, setting), metric=cfg.main_metric,
                   comparison="vs_best")  # fmt: skip
    tied = int((~tests["decision"].isin(("better", "worse"))).sum())
    return tied, len(tests)


def best_pair(data: ReportData, cfg: PaperConfig, protocol: str, setting: str) -> tuple[dict, dict]:
    """The best seed model's and the best baseline's summary rows (empty dicts if absent)."""
    ranked = _ranked(data, cfg, protocol, setting)
    seeds = ranked["model"].map(is_seed)
    pick = (lambda rows: rows.iloc[0].to_dict() if len(rows) else {})  # noqa: E731
    return pick(ranked[seeds]), pick(ranked[~seeds])


def _gap(seed: Mapping, base: Mapping, metric: str) -> float:
    """How far the seed model trails the baseline (positive: behind)."""
    sign = 1.0 if higher_is_better(metric) is not False else -1.0
    return sign * (base["mean"] - seed["mean"])


def answer(question: str, sentence: str) -> str:
    """``"In answer to RQ2, the ..."``: a finding stated as the answer to a research question
    (``""`` stays ``""``)."""
    if not sentence:
        return ""
    return f"In answer to {question}, {sentence[0].lower()}{sentence[1:]}"


def fair_sentence(data: ReportData, cfg: PaperConfig, pair: bool = True) -> str:
    """RQ2: the comparison with every model tuned by the same search (or, without a tuned setting,
    the main setting): the leader, how many tie it, and (``pair``) the best seed model against
    the best baseline with its test."""
    setting, protocol = cfg.main_setting, cfg.main_protocol
    ranked = _ranked(data, cfg, protocol, setting)
    if ranked.empty:
        return ""
    label = metric_label(cfg.main_metric)
    lead = ranked.iloc[0]
    if setting == "tuned":
        how = "With the same search budget for every model" if pair else "Tuned this way"
    else:
        how = f"With {setting} hyperparameters"
    text = (f"{how}, {lead['model']} has the best {label} under the {protocol} protocol "
            f"({_num(lead['mean'])})")  # fmt: skip
    tied, n = ties(data, cfg, protocol, setting)
    if n:
        text += f", and {behind_clause(tied, n)}"
    seed, base = best_pair(data, cfg, protocol, setting)
    if seed and base and pair:
        text += "; " + _pair_clause(data, cfg, protocol, setting, seed, base)
    return latex_escape(text + ".")


def _pair_clause(data: ReportData, cfg: PaperConfig, protocol: str, setting: str,
                 seed: Mapping, base: Mapping) -> str:  # fmt: skip
    """``"the best seed model, X (0.319), trails the best baseline, Y (0.337), by 0.018 [..]"``."""
    gap = _gap(seed, base, cfg.main_metric)
    verb = "trails" if gap > 0 else "leads"
    text = (f"the best seed model, {seed['model']} ({_num(seed['mean'])}), {verb} the best "
            f"baseline, {base['model']} ({_num(base['mean'])}), by {_num(abs(gap))}")  # fmt: skip
    test = _test(data, cfg, protocol, setting, base["model"], seed["model"])
    if test:
        sign = 1.0 if gap > 0 else -1.0
        low, high = sorted((sign * test["low"], sign * test["high"]))
        verdict = "significant" if test["significant"] else "not significant"
        text += (f" (unadjusted 95% interval [{_num(low)}, {_num(high)}]; {test['correction']}-"
                 f"adjusted {_p(test['p'])}, {verdict})")  # fmt: skip
    return text


def gap_sentence(data: ReportData, cfg: PaperConfig) -> str:
    """RQ3: do the best tuned seed models stay behind the best baselines, and how much does
    tuning shrink the gap the seeds' own recipes leave? Empty without both settings."""
    protocol, metric = cfg.main_protocol, cfg.main_metric
    if not {"faithful", "tuned"} <= set(cfg.settings):
        return ""
    seed, base = best_pair(data, cfg, protocol, "tuned")
    if not (seed and base):
        return ""
    behind = _behind_count(data, cfg, base["model"]) or (0, 0)
    gap_t = _gap(seed, base, metric)
    text = _stays_behind(seed["model"], base["model"], gap_t, *behind, protocol)
    faithful = _ranked(data, cfg, protocol, "faithful").set_index("model")["mean"]
    if seed["model"] in faithful and base["model"] in faithful:
        gap_f = _gap({"mean": faithful[seed["model"]]}, {"mean": faithful[base["model"]]}, metric)
        text += (f"; tuning shrinks the gap of the best tuned seed model, {seed['model']}, to "
                 f"{base['model']} from {_num(gap_f)} with its faithful recipe to {_num(gap_t)} "
                 f"{metric_label(metric)}")  # fmt: skip
        f_seed, f_base = best_pair(data, cfg, protocol, "faithful")
        if f_seed and f_base and (f_seed["model"], f_base["model"]) != (seed["model"], base["model"]):
            text += (f", and the gap between the best seed model and the best baseline from "
                     f"{_num(_gap(f_seed, f_base, metric))} to {_num(gap_t)}")  # fmt: skip
    return latex_escape(text + ".")


def _stays_behind(seed: str, base: str, gap: float, k: int, n: int, protocol: str) -> str:
    """Whether the tuned seed models stay behind the best baseline ``base`` under ``protocol``:
    ``k`` of the ``n`` significantly; ``seed`` is the best of them, ``gap`` its distance
    (positive: behind)."""
    when = f"Under the {protocol} protocol, after tuning"
    if gap <= 0:
        return f"{when}, the best seed model, {seed}, overtakes the best baseline, {base}"
    if n == 1:
        return (f"{when}, the only seed model, {seed}, stays {'significantly ' if k else ''}"
                f"behind the best baseline, {base}")  # fmt: skip
    text = f"{when}, every seed model stays below the best baseline, {base}"
    if k == n:
        return text + f", all {n} of them significantly"
    if k == 0:
        return text + ", but none of them significantly"
    verb = "is" if k == 1 else "are"
    return text + f", but only {count_of(k, n, 'seed model')} {verb} significantly behind it"


def _behind_count(data: ReportData, cfg: PaperConfig, base: str) -> tuple[int, int] | None:
    """``(k, n)``: of the ``n`` tuned seed models, ``k`` are significantly behind ``base``."""
    ranked = _ranked(data, cfg, cfg.main_protocol, "tuned")
    seeds = [m for m in ranked["model"] if is_seed(m)]
    if not seeds:
        return None
    tests = [_test(data, cfg, cfg.main_protocol, "tuned", base, m) for m in seeds]
    k = sum(1 for t in tests if t and t["significant"] and t["diff"] * _direction(cfg) > 0)
    return k, len(seeds)


def _direction(cfg: PaperConfig) -> float:
    return 1.0 if higher_is_better(cfg.main_metric) is not False else -1.0


def recipe_sentence(data: ReportData, cfg: PaperConfig) -> str:
    """The faithful (tutorial-scale) recipes against the baselines, when the main setting is
    tuned: the best seed model's and best baseline's faithful scores and their test."""
    if cfg.main_setting == "faithful" or "faithful" not in cfg.settings:
        return ""
    seed, base = best_pair(data, cfg, cfg.main_protocol, "faithful")
    if not (seed and base):
        return ""
    clause = _pair_clause(data, cfg, cfg.main_protocol, "faithful", seed, base)
    return latex_escape(f"With the seeds' own recipes, {clause}.")


# --------------------------------------------------------------------------- protocols


def _rho(a: pd.Series, b: pd.Series) -> float | None:
    from scipy.stats import spearmanr

    x, y = a.align(b, join="inner")
    return float(spearmanr(x, y).statistic) if len(x) > 2 else None


def rho_text(rho: float) -> str:
    """A rank correlation with two decimals, or three where two would round an imperfect one
    to 1.00 (or -1.00)."""
    return f"{rho:.3f}" if abs(rho) < 1 and round(abs(rho), 2) == 1 else f"{rho:.2f}"


def protocol_rows(data: ReportData, cfg: PaperConfig) -> pd.DataFrame:
    """Per (protocol, setting): evaluated users, leader, ties with the leader, Spearman's rho of
    the model ranking with the main protocol's (same setting), and whether the best baseline is
    significantly ahead of the best seed model."""
    rows = []
    for setting in cfg.settings:
        main = _ranked(data, cfg, cfg.main_protocol, setting).set_index("model")["mean"]
        for protocol in cfg.protocols:
            ranked = _ranked(data, cfg, protocol, setting)
            if ranked.empty:
                continue
            tied, n = ties(data, cfg, protocol, setting)
            seed, base = best_pair(data, cfg, protocol, setting)
            test = _test(data, cfg, protocol, setting, base["model"], seed["model"]) \
                if seed and base else {}
            tests = select(data.pairwise, **_where(cfg, protocol, setting), metric=cfg.main_metric)
            rows.append({
                "protocol": protocol, "setting": setting, "leader": ranked["model"].iloc[0],
                "users": int(tests["n_users"].max()) if len(tests) else None,
                "tied": tied, "tested": n, "models": len(ranked),
                "rho": None if protocol == cfg.main_protocol else
                _rho(ranked.set_index("model")["mean"], main),
                "baseline_ahead": bool(test) and test["significant"] and test["diff"] * _direction(cfg) > 0,
            })  # fmt: skip
    return pd.DataFrame(rows)


def protocol_sentence(data: ReportData, cfg: PaperConfig, exploratory: bool = False) -> str:
    """RQ4, one sentence per protocol (the exploratory ones if ``exploratory``): its users,
    leaders, ties with the leader and rank agreement with the main protocol, by setting."""
    rows = protocol_rows(data, cfg)
    if rows.empty:
        return ""
    out = []
    for protocol in cfg.protocols:
        if (protocol in cfg.exploratory_protocols) != exploratory:
            continue
        part = rows[rows["protocol"] == protocol]
        if part.empty:
            continue
        users = part["users"].dropna()
        head = f"Under the {protocol} protocol"
        if len(users):
            head += f" ({int(users.max()):,} evaluated users)"
        clauses = [_setting_clause(r, cfg, detail=exploratory) for r in part.itertuples()]
        out.append(f"{head}, {'; '.join(clauses)}.")
    return latex_escape(" ".join(out))


def _setting_clause(r: Any, cfg: PaperConfig, detail: bool = False) -> str:
    """``"with tuned hyperparameters X leads and 9 of 19 other models are not significantly
    behind it"``; with ``detail`` also the rank correlation and whether the baselines' lead
    holds (otherwise :func:`agreement_summary` says those)."""
    text = f"with {r.setting} hyperparameters {r.leader} leads"
    if r.tested:
        text += f" and {behind_clause(r.tied, r.tested)}"
    if not detail:
        return text
    if r.rho is not None and not math.isnan(r.rho):
        text += f" (Spearman's rho with the {cfg.main_protocol} protocol's ranking {rho_text(r.rho)})"
    if not r.baseline_ahead:
        text += ", and the best baseline is not significantly ahead of the best seed model"
    return text


def seed_leader_sentence(data: ReportData, cfg: PaperConfig) -> str:
    """Where a seed model, not a baseline, leads a non-exploratory protocol (``""`` if nowhere;
    unescaped)."""
    rows = protocol_rows(data, cfg)
    return _seed_leaders(rows[~rows["protocol"].isin(cfg.exploratory_protocols)]) if len(rows) else ""


def _seed_leaders(rows: pd.DataFrame) -> str:
    """:func:`seed_leader_sentence` of :func:`protocol_rows` already filtered."""
    leads = [r for r in rows.itertuples() if is_seed(r.leader)]
    if not leads:
        return ""
    text = listing([f"under the {r.protocol} protocol with {r.setting} hyperparameters a seed "
                    f"model, {r.leader}, leads" for r in leads])  # fmt: skip
    return f"{text[0].upper()}{text[1:]}."


def agreement_summary(data: ReportData, cfg: PaperConfig) -> str:
    """RQ4's quotable answer over the non-exploratory protocols: the rank correlation of each with
    the main protocol, by setting, and where the best baseline's lead over the best seed model
    holds (significantly) and where it does not."""
    rows = protocol_rows(data, cfg)
    if rows.empty:
        return ""
    rows = rows[~rows["protocol"].isin(cfg.exploratory_protocols)]
    sentences = []
    for protocol, part in rows[rows["protocol"] != cfg.main_protocol].groupby("protocol", sort=False):
        rhos = [f"{rho_text(r.rho)} with {r.setting}" for r in part.itertuples()
                if r.rho is not None and not math.isnan(r.rho)]  # fmt: skip
        if rhos:
            sentences.append(f"The {protocol} protocol's model ranking agrees with the "
                             f"{cfg.main_protocol} protocol's with Spearman's rho = "
                             f"{listing(rhos)} hyperparameters.")  # fmt: skip
    held = [f"{r.protocol} ({r.setting})" for r in rows.itertuples() if r.baseline_ahead]
    failed = [r for r in rows.itertuples() if not r.baseline_ahead]
    if failed:
        where = listing([f"{r.protocol} ({r.setting})" for r in failed])
        lead = "The best baseline is "
        lead += (f"significantly ahead of the best seed model only under {listing(held)}; under "
                 f"{where} it is not" if held else
                 f"not significantly ahead of the best seed model under {where}")  # fmt: skip
        sentences.append(f"{lead}.")
    elif held:
        sentences.append("Under every protocol and setting the best baseline is significantly "
                         "ahead of the best seed model.")
    seed_leads = _seed_leaders(rows)
    if seed_leads:
        sentences.append(seed_leads)
    if sentences:
        answer = "only in part" if failed or seed_leads else "under every protocol"
        sentences.insert(0, f"In answer to RQ4, the main protocol's conclusions hold {answer}.")
    return latex_escape(" ".join(sentences))


def crossed_power_sentence(data: ReportData, cfg: PaperConfig) -> str:
    """How large a gap the primary (crossed) test can detect against the leader: the median
    half-width ``h`` of its 95% intervals (comparison ``vs_best``, main protocol, setting and
    metric) and the gap detectable with 80% power without correction, about
    ``(z_0.975 + z_0.8) / z_0.975 * h = 1.43 h`` (normal approximation)."""
    from statistics import NormalDist

    tests = select(data.pairwise, **_where(cfg, cfg.main_protocol, cfg.main_setting),
                   metric=cfg.main_metric, comparison="vs_best")  # fmt: skip
    half = ((tests["ci_high"] - tests["ci_low"]) / 2).dropna() if len(tests) else pd.Series(dtype=float)
    if half.empty:
        return ""
    h, z = float(half.median()), NormalDist().inv_cdf
    detectable = (z(0.975) + z(0.8)) / z(0.975) * h
    return latex_escape(
        f"The crossed test is less sensitive: its 95% intervals against the leader under the "
        f"{cfg.main_protocol} protocol have a median half-width of {_num(h)}, so even without "
        f"correction it detects a gap of about {_num(detectable)} with 80% power; a tie is "
        f"therefore inconclusive, not evidence of equal quality."
    )


# --------------------------------------------------------------------------- leakage


def leakage_share(split_paths: Sequence[str], protocol: str = "temporal_user") -> float | None:
    """Share of the training ratings of ``protocol``'s (first) split that are later than its
    median test rating: how much of other users' future a per-user time split trains on."""
    parts = {Path(p).stem: p for p in split_paths if Path(p).parent.parent.name == protocol}
    if not {"train", "test"} <= set(parts):
        return None
    train = pd.read_parquet(parts["train"], columns=["timestamp"])["timestamp"]
    test = pd.read_parquet(parts["test"], columns=["timestamp"])["timestamp"]
    if train.empty or test.empty:
        return None
    return float((train > test.median()).mean())


def leakage_sentence(share: float | None, protocol: str = "temporal_user") -> str:
    if share is None:
        return ""
    return latex_escape(
        f"The {protocol} protocol cuts each user's history at their own time, not at one global "
        f"time, so models train on other users' later ratings: {100 * share:.0f}% of its training "
        f"ratings are later than its median test rating."
    )


# --------------------------------------------------------------------------- discussion


def step_range(config: Mapping[str, Any], n_train: int, models: Sequence[str]) -> tuple[int, int] | None:
    """The fewest and most optimiser steps (epochs x batches of ``n_train`` ratings) of the
    faithful recipes of the retrieval models among ``models`` (those with an ``objective``)."""
    from recrepro.core.errors import ConfigError
    from recrepro.models.registry import get_model_class

    steps = []
    for model in models:
        try:
            defaults = dict(get_model_class(model).defaults)
        except ConfigError:
            defaults = {}
        faithful = {**defaults,
                    **((config.get("models") or {}).get(model) or {})}  # fmt: skip
        if {"epochs", "batch_size", "objective"} <= set(faithful) and n_train:
            steps.append(int(faithful["epochs"]) * math.ceil(n_train / int(faithful["batch_size"])))
    return (min(steps), max(steps)) if steps else None


def steps_sentence(config: Mapping[str, Any], n_train: int, cfg: PaperConfig) -> str:
    seeds = [m for m in cfg.models if is_seed(m)]
    found = step_range(config, n_train, seeds)
    if not found:
        return ""
    low, high = found
    span = str(low) if low == high else f"{low} to {high}"
    return latex_escape(
        f"The faithful recipes of the retrieval seed models take {span} optimiser steps on the "
        f"{n_train:,} training ratings of the {cfg.main_protocol} protocol (a few epochs of "
        f"large batches): tutorial-scale training."
    )


def search_choices(records: Mapping[tuple[str, str], Sequence[Mapping[str, Any]]], protocol: str,
                   models: Sequence[str]) -> str:  # fmt: skip
    """What the searches of ``models`` chose on ``protocol``: objectives other than the faithful
    in-batch softmax, and their learning rates and epochs."""
    chosen = [r.get("params") or {} for (p, m), reps in records.items() if p == protocol and m in models
              for r in reps]  # fmt: skip
    objectives = [c["objective"] for c in chosen if "objective" in c]
    rates = [float(c["learning_rate"]) for c in chosen if "learning_rate" in c and "objective" in c]
    epochs = [int(c["epochs"]) for c in chosen if "epochs" in c and "objective" in c]
    if not objectives:
        return ""
    other = sum(1 for o in objectives if o != "in_batch")
    text = (f"The searches of the retrieval seed models chose a corrected or full softmax instead "
            f"of the plain in-batch softmax in {count_of(other, len(objectives), 'search')}")  # fmt: skip
    if rates and epochs:
        text += (f", learning rates of {format_number(min(rates), 3)} to "
                 f"{format_number(max(rates), 3)} and {min(epochs)} to {max(epochs)} epochs")  # fmt: skip
    return latex_escape(text + ".")


def ablation_sentence(ablation: pd.DataFrame | None, cfg: PaperConfig) -> str:
    """Each seed model's own addition on the main metric, by setting: which models gain from it
    and which do better without it (crossed test per ablation, Holm-adjusted over the table)."""
    if ablation is None or ablation.empty:
        return ""
    rows = ablation[ablation["metric"] == cfg.main_metric]
    alpha = cfg.alpha or 0.05
    parts = []
    for setting in (s for s in ("faithful", "tuned") if s in set(rows["setting"])):
        p = rows["p_adj"] if "p_adj" in rows else rows["p_value"]
        part = rows[(rows["setting"] == setting) & (p < alpha)]
        gain = part["gain"] * _direction(cfg)
        helps, hurts = sorted(part.loc[gain > 0, "model"]), sorted(part.loc[gain < 0, "model"])
        clauses = ([f"only {listing(helps)} significantly gains from its addition"] if helps else
                   ["no model significantly gains from its addition"])  # fmt: skip
        if hurts:
            verb = "does" if len(hurts) == 1 else "do"
            clauses.append(f"{listing(hurts)} {verb} significantly better without it")
        parts.append(f"with {setting} hyperparameters {' while '.join(clauses)}")
    if not parts:
        return ""
    n = rows["ablation"].nunique() if "ablation" in rows else len(rows)
    return latex_escape(
        f"Whether what each seed adds to the tutorials' two-tower model carries its accuracy is what "
        f"the ablation measures: of the {plural(n, 'seed addition')} removed one at a time "
        f"({metric_label(cfg.main_metric)}, crossed test, Holm-adjusted), {'; '.join(parts)}."
    )


def cause_sentence(reproduction: pd.DataFrame) -> str:
    """The reproduction's one-change cause steps: how many change their seed system's value by
    more than their interval (:func:`step_effects`), and the largest of them."""
    steps = step_effects(reproduction)
    if steps.empty:
        return ""
    moved = steps[(steps["low"] > 0) | (steps["high"] < 0)]
    top = steps.loc[steps["effect"].abs().sort_values(ascending=False).index[:3]]
    largest = listing([f"{r.system} ({r.effect:+.3f})" for r in top.itertuples()])
    return latex_escape(
        f"Of the reproduction's {plural(len(steps), 'one-change step')} that start from a seed "
        f"system and are measured on its metric, {len(moved) or 'none'} "
        f"{'changes' if len(moved) == 1 else 'change'} its value by more than the 95% interval; "
        f"the largest changes are {largest}."
    )


# --------------------------------------------------------------------------- cost and provenance


def cost_sentence(cost: pd.DataFrame | None, data: ReportData, cfg: PaperConfig) -> str:
    """RQ5: the model with the longest mean fit and the one that costs the most CPU time in
    all (runs and tuning), which need not be the same."""
    where = _where(cfg, cfg.main_protocol, cfg.main_setting)
    fit = ranking(select(data.summary, **where), "fit_seconds")
    parts = []
    if len(fit):
        slow = fit.iloc[-1]
        parts.append(f"the longest fit on average is {slow['model']}'s ({_num(slow['mean'])} s "
                     f"wall-clock, {cfg.main_protocol} protocol, {cfg.main_setting} setting)")  # fmt: skip
    if cost is not None and len(cost) and float(cost["total_cpu_seconds"].sum()) > 0:
        top = cost.sort_values("total_cpu_seconds", ascending=False).iloc[0]
        share = 100 * top["total_cpu_seconds"] / cost["total_cpu_seconds"].sum()
        parts.append(f"the most CPU time in all, runs and tuning together, goes to {top['model']} "
                     f"({share:.0f}% of the study's)")  # fmt: skip
    return latex_escape("Of the models, " + "; ".join(parts) + ".") if parts else ""


def provenance_sentence(provenance: Sequence[Mapping[str, Any]]) -> str:
    """The code revisions the runs ran at, with how many runs each, and how many had uncommitted
    changes (from the runs' provenance records)."""
    if not provenance:
        return "The runs recorded no provenance."
    commits: dict[str, int] = {}
    for record in provenance:
        commit = str(record.get("git_commit") or "unknown")[:10]
        commits[commit] = commits.get(commit, 0) + 1
    dirty = sum(1 for r in provenance if r.get("git_dirty"))
    revisions = listing([f"\\texttt{{{c}}} ({plural(n, 'run')})" for c, n in
                         sorted(commits.items(), key=lambda kv: -kv[1])])  # fmt: skip
    where = (f"at code revision \\texttt{{{next(iter(commits))}}}" if len(commits) == 1
             else f"at code revisions {revisions}")  # fmt: skip
    state = ("none with uncommitted changes" if dirty == 0 else
             f"{count_of(dirty, len(provenance), 'run')} with uncommitted changes")  # fmt: skip
    return f"The {plural(len(provenance), 'run')} ran {where}, {state}."


# --------------------------------------------------------------------------- abstract and conclusion


def study_sentence(cfg: PaperConfig, dataset: str) -> str:
    """What was evaluated, with counts that agree in number."""
    seeds = sum(1 for m in cfg.models if is_seed(m))
    others = len(cfg.models) - seeds
    kinds = listing([plural(n, noun) for n, noun in ((seeds, "seed model"), (others, "baseline")) if n])
    return latex_escape(
        f"We evaluate {plural(len(cfg.models), 'model')} ({kinds}) on {dataset} under "
        f"{plural(len(cfg.protocols), 'evaluation protocol')} with {plural(len(cfg.seeds), 'seed')}, "
        f"full-catalogue ranking and paired tests over users and seeds."
    )


def budget_sentence(cfg: PaperConfig, config: Mapping[str, Any]) -> str:
    """The shared search budget, when the study tunes."""
    if "tuned" not in cfg.settings:
        return ""
    trials = search_trials(config)
    return (f"Every model gets the same budget: for each seed its own seeded Optuna search of "
            f"{trials} trials on that seed's validation data.")  # fmt: skip


def aa_row(data: ReportData, cfg: PaperConfig, setting: str | None = None) -> dict:
    """The A/A control's main-metric row on the main protocol (``setting``: default main)."""
    aa = data.aa_control
    if aa is None or aa.empty:
        return {}
    rows = select(aa, dataset=cfg.dataset, protocol=cfg.main_protocol,
                  setting=setting or cfg.main_setting, metric=cfg.main_metric)  # fmt: skip
    return rows.iloc[0].to_dict() if len(rows) else {}


def noise_short(data: ReportData, cfg: PaperConfig) -> str:
    """The A/A noise floor in one clause-sized sentence."""
    row = aa_row(data, cfg)
    if not row:
        return ""
    return latex_escape(
        f"Two functionally identical models ({row['model']} and {row['other']}, an "
        f"A/A control) differ by {_num(row['diff_mean'])} {metric_label(cfg.main_metric)} (95% "
        f"interval [{_num(row['ci_low'])}, {_num(row['ci_high'])}]) with {cfg.main_setting} "
        f"hyperparameters, the study's noise floor."
    )


def exploratory_note(data: ReportData, cfg: PaperConfig) -> str:
    """Which protocols are exploratory (too few users for firm decisions) and where they are."""
    parts = []
    for protocol in cfg.exploratory_protocols:
        tests = select(data.pairwise, dataset=cfg.dataset, protocol=protocol)
        users = f" evaluates only {int(tests['n_users'].max()):,} users and" if len(tests) else ""
        parts.append(f"The {protocol} protocol{users} is reported as exploratory, in the supplement.")
    return latex_escape(" ".join(parts))


def takeaway_sentence(data: ReportData, cfg: PaperConfig) -> str:
    """The conclusion's summary: how far the seeds' recipes understate their models, and the
    remaining gap against the A/A noise floor (different words from the RQ answers)."""
    if not {"faithful", "tuned"} <= set(cfg.settings):
        return ""
    rows = select(data.summary, dataset=cfg.dataset, protocol=cfg.main_protocol, metric=cfg.main_metric)
    wide = rows.pivot_table(index="model", columns="setting", values="mean").dropna()
    wide = wide[[is_seed(m) for m in wide.index]]
    seed, base = best_pair(data, cfg, cfg.main_protocol, "tuned")
    if wide.empty or not (seed and base):
        return ""
    gains = (wide["tuned"] - wide["faithful"]) * _direction(cfg)
    top = gains.idxmax()
    text = (f"A seed project's own recipe understates its model by up to {_num(gains[top])} "
            f"{metric_label(cfg.main_metric)} ({top})")  # fmt: skip
    gap = _gap(seed, base, cfg.main_metric)
    test = _test(data, cfg, cfg.main_protocol, "tuned", base["model"], seed["model"])
    if test and gap > 0:
        low, high = sorted((test["low"], test["high"]))
        verdict = "significant" if test["significant"] else "not significant"
        text += (f"; once every model is tuned alike (under the {cfg.main_protocol} protocol), "
                 f"the best seed model trails the best baseline by {_num(gap)} (unadjusted 95% "
                 f"interval [{_num(low)}, {_num(high)}], {verdict} after {test['correction']}'s "
                 f"correction)")  # fmt: skip
        aa = aa_row(data, cfg, "tuned")
        if aa:
            text += (f", while two copies of one model differ by {_num(aa['diff_mean'])} "
                     f"[{_num(aa['ci_low'])}, {_num(aa['ci_high'])}]")  # fmt: skip
    return latex_escape(text + ".")


def limits_sentence(cfg: PaperConfig, config: Mapping[str, Any], cpu_minutes: str = "") -> str:
    """The compute budget behind the study, for the Limitations."""
    spent = f" ({cpu_minutes} CPU minutes in all)" if cpu_minutes and cpu_minutes != "n/a" else ""
    text = (f"The study is sized for CPUs{spent} and runs {plural(len(cfg.seeds), 'seed')} per "
            f"configuration, so the seed term of each test has few degrees of freedom")  # fmt: skip
    if "tuned" in cfg.settings:
        trials = search_trials(config)
        text += f", and each search has {trials} trials"
    return latex_escape(text + ".")
