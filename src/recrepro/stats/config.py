"""The ``stats`` block of the study configuration, and which direction of a metric is better."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from recrepro.core.config import block_defaults
from recrepro.core.errors import ConfigError
from recrepro.evaluation import catalogue

_DEFAULTS = block_defaults("stats")  # the schema's defaults (their one home)
TESTS = ("crossed", "signflip", "wilcoxon", "ttest")
CORRECTIONS = ("holm", "fdr_bh")
#: Metrics tested when ``stats.metrics`` is not set (each only where the per-user files have it):
#: every per-user metric of the catalogue, at the main K (``catalogue.MAIN_K``) where it has a cut-off.
DEFAULT_METRICS = tuple(
    f"{family}@{catalogue.MAIN_K}" if spec.at_k else family
    for family, spec in catalogue.CATALOGUE.items()
    if spec.per_user
)


def higher_is_better(metric: str) -> bool | None:
    """The catalogue's direction of ``metric`` (None: neither direction is better)."""
    return catalogue.higher_is_better(metric)


@dataclass(frozen=True)
class StatsConfig:
    """Settings of the statistics layer; ``metrics=None`` means :data:`DEFAULT_METRICS`."""

    test: str = _DEFAULTS["test"]
    correction: str = _DEFAULTS["correction"]
    alpha: float = _DEFAULTS["alpha"]
    reference: str | None = _DEFAULTS["reference"]
    bootstrap: int = _DEFAULTS["bootstrap"]
    permutations: int = _DEFAULTS["permutations"]
    power: float = _DEFAULTS["power"]
    metrics: tuple[str, ...] | None = None
    calibration_metrics: tuple[str, ...] = tuple(_DEFAULTS["calibration_metrics"])
    calibration_draws: int = _DEFAULTS["calibration_draws"]
    aa_pair: tuple[str, str] | None = tuple(_DEFAULTS["aa_pair"])  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.test not in TESTS:
            raise ConfigError(f"stats.test is {self.test!r}; use one of {', '.join(TESTS)}")
        if self.correction not in CORRECTIONS:
            raise ConfigError(
                f"stats.correction is {self.correction!r}; use one of {', '.join(CORRECTIONS)}"
            )
        if not _is_number(self.alpha) or not 0 < self.alpha < 1:
            raise ConfigError(f"stats.alpha is {self.alpha}; use a number between 0 and 1")
        if not _is_number(self.bootstrap) or not float(self.bootstrap).is_integer() \
                or self.bootstrap < 0:
            raise ConfigError(
                f"stats.bootstrap is {self.bootstrap!r}; use a whole number of resamples >= 0"
            )
        object.__setattr__(self, "bootstrap", int(self.bootstrap))
        if not _is_number(self.permutations) or not float(self.permutations).is_integer() \
                or self.permutations < 1:
            raise ConfigError(
                f"stats.permutations is {self.permutations!r}; use a whole number >= 1"
            )
        object.__setattr__(self, "permutations", int(self.permutations))
        if not _is_number(self.power) or not 0 < self.power < 1:
            raise ConfigError(f"stats.power is {self.power}; use a number between 0 and 1")
        if self.metrics is not None and (
            not self.metrics or not all(isinstance(m, str) for m in self.metrics)
        ):
            raise ConfigError("stats.metrics must be a non-empty list of metric names")
        if not all(isinstance(m, str) for m in self.calibration_metrics):
            raise ConfigError("stats.calibration_metrics must be a list of metric names")
        if not _is_number(self.calibration_draws) or self.calibration_draws < 1 \
                or not float(self.calibration_draws).is_integer():
            raise ConfigError(
                f"stats.calibration_draws is {self.calibration_draws!r}; use a whole number >= 1"
            )
        object.__setattr__(self, "calibration_draws", int(self.calibration_draws))
        if self.aa_pair is not None and (
            len(self.aa_pair) != 2 or len(set(self.aa_pair)) != 2
            or not all(isinstance(m, str) for m in self.aa_pair)
        ):
            raise ConfigError(f"stats.aa_pair is {self.aa_pair!r}; use two different model names")

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | StatsConfig | None) -> StatsConfig:
        """Build from the configuration's ``stats`` block (missing keys take the defaults)."""
        if isinstance(mapping, StatsConfig):
            return mapping
        values = dict(mapping or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(
                f"unknown stats option(s) {', '.join(unknown)}; use {', '.join(sorted(known))}"
            )
        for key in ("metrics", "calibration_metrics", "aa_pair"):
            if values.get(key) is not None:
                names = values[key]
                values[key] = (names,) if isinstance(names, str) else tuple(names)
        return cls(**values)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
