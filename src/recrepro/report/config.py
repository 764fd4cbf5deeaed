"""The reporting layer's view of the workflow configuration (``config["paper"]`` plus the
study-wide keys it needs), with defaults and one-line errors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from recrepro.core.config import block_defaults
from recrepro.core.errors import ConfigError
from recrepro.evaluation.catalogue import MAIN_K, main_cutoff, parse

EXAMPLE_FIGURES = ("pie", "polygon", "column")
_PAPER = block_defaults("paper")  # the schema's defaults (their one home)
DEFAULT_EXAMPLE_MODELS = _PAPER["example_models"]


@dataclass(frozen=True)
class PaperConfig:
    """Everything the tables, figures and numbers need to know about the study."""

    dataset: str
    models: tuple[str, ...]
    protocols: tuple[str, ...]
    settings: tuple[str, ...]
    seeds: tuple[int, ...]
    ks: tuple[int, ...]
    main_protocol: str
    main_setting: str
    main_metric: str
    headline_metrics: tuple[str, ...]
    per_k_families: tuple[str, ...] = tuple(_PAPER["per_k_metrics"])
    example_user: int = _PAPER["example_user"]
    example_models: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_EXAMPLE_MODELS))
    distribution_metric: str = ""
    #: The study's main cut-off: the K of ``paper.main_metric`` if it has one, else MAIN_K if
    #: evaluated, else the first of evaluation.ks (figures, captions and numbers use it for "top K").
    main_k: int = MAIN_K
    popularity_k: int = MAIN_K  # default main_k
    valid_fraction: float = 0.1
    test_fraction: float = 0.1
    alpha: float | None = None
    permutations: int = 0  # resamples of the randomization tests (their smallest p is 1/(B+1))
    exploratory_protocols: tuple[str, ...] = tuple(_PAPER["exploratory_protocols"])

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> PaperConfig:
        """Build from the Snakemake config dict; missing paper keys take their defaults."""
        paper = block_defaults("paper", config.get("paper"))
        datasets = _strings(config, "datasets", ("ml-100k",))
        protocols = _strings(config, "protocols", ("random",))
        settings = _strings(config, "settings", ("faithful",))
        ks = tuple(int(k) for k in block_defaults("evaluation", config.get("evaluation"))["ks"])
        if not ks:
            raise ConfigError("evaluation.ks is empty; list at least one cut-off K")
        # the main metric: paper.main_metric, else the metric the study tunes on (tuning.metric);
        # the main K: its cut-off, else MAIN_K if evaluated, else the first of evaluation.ks
        tuned_on = block_defaults("tuning", config.get("tuning"))["metric"]
        main_metric = str(paper.get("main_metric") or tuned_on)
        k = parse(main_metric).k or main_cutoff(ks)
        if k not in ks:
            raise ConfigError(
                f"the main metric '{main_metric}' (paper.main_metric, else tuning.metric) is at K = {k}, "
                f"which evaluation.ks ({', '.join(map(str, ks))}) does not compute; use one of those cut-offs"
            )
        headline = tuple(dict.fromkeys([
            main_metric, *(f"{family}@{k}" for family in ("ndcg", "recall", "hit", "map", "coverage")),
            "rmse", "mae", "fit_seconds",
        ]))  # fmt: skip
        split = block_defaults("split", config.get("split"))
        cfg = cls(
            dataset=str(paper.get("dataset", datasets[0])),
            models=tuple(str(m) for m in (config.get("models") or {})),
            protocols=protocols,
            settings=settings,
            seeds=tuple(int(s) for s in config.get("seeds", ())),
            ks=ks,
            main_protocol=str(paper.get("main_protocol", protocols[0])),
            # the fair comparison leads: every model with the same search budget, when tuned
            main_setting=str(paper.get("main_setting", "tuned" if "tuned" in settings else settings[0])),
            main_metric=main_metric,
            headline_metrics=tuple(str(m) for m in paper.get("headline_metrics", headline)),
            per_k_families=tuple(str(f) for f in paper["per_k_metrics"]),
            example_user=_int(paper["example_user"], "paper.example_user"),
            example_models=dict(paper["example_models"]),
            distribution_metric=str(paper.get("distribution_metric", main_metric)),
            main_k=k,
            popularity_k=_int(paper.get("popularity_k", k), "paper.popularity_k"),
            valid_fraction=float(split["valid_fraction"]),
            test_fraction=float(split["test_fraction"]),
            alpha=block_defaults("stats", config.get("stats"))["alpha"],
            permutations=int(block_defaults("stats", config.get("stats"))["permutations"]),
            exploratory_protocols=tuple(
                p for p in paper["exploratory_protocols"] if p in protocols
            ),
        )
        cfg.check()
        return cfg

    def check(self) -> None:
        """Raise ConfigError if the paper keys contradict the study keys."""
        for key, value, allowed in (
            ("main_protocol", self.main_protocol, self.protocols),
            ("main_setting", self.main_setting, self.settings),
        ):
            if value not in allowed:
                raise ConfigError(
                    f"paper.{key} '{value}' is not configured; use one of: "
                    f"{', '.join(allowed)}"
                )
        if self.main_metric not in self.headline_metrics:
            raise ConfigError(
                f"paper.main_metric '{self.main_metric}' must be one of "
                "paper.headline_metrics"
            )
        unknown = sorted(set(self.example_models) - set(EXAMPLE_FIGURES))
        if unknown:
            raise ConfigError(
                f"paper.example_models has unknown figure(s) {', '.join(unknown)}; "
                f"known: {', '.join(EXAMPLE_FIGURES)}"
            )


def _strings(config: Mapping[str, Any], key: str, default: Sequence[str]) -> tuple[str, ...]:
    raw = config.get(key)
    values = tuple(str(v) for v in (default if raw is None else raw))
    if not values:
        raise ConfigError(f"{key} is empty; list at least one")
    return values


def _int(value: Any, key: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be an integer, got {value!r}") from None


def search_trials(config: Mapping[str, Any]) -> int:
    """Trials per search of the study's ``tuning`` block (its schema default when unset)."""
    return int(block_defaults("tuning", config.get("tuning"))["trials"])
