"""Search spaces (declared on each model's class as ``search_space``; ``tuning.spaces`` in the
config overrides them, :func:`recrepro.models.spaces.model_space`): each hyperparameter's list
of choices, range or fixed value, with the faithful point always inside (see
:mod:`recrepro.study.tuning`). The config check (:mod:`recrepro.study.config_check`), the
searches and the report's table of spaces all parse them here; nothing here runs a search."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from recrepro.core.errors import ConfigError


@dataclass(frozen=True)
class Dimension:
    """One hyperparameter of a search space: ``choices``, a ``low``-``high`` range, or fixed."""

    name: str
    choices: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False
    fixed: Any = None

    def suggest(self, trial: Any) -> Any:
        """This dimension's value in an Optuna trial (None for a fixed value)."""
        if self.choices is not None:
            encoded = trial.suggest_categorical(self.name, [encode_choice(c) for c in self.choices])
            return self.choices[[encode_choice(c) for c in self.choices].index(encoded)]
        if self.integer:
            return int(trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log))
        return trial.suggest_float(self.name, float(self.low), float(self.high), log=self.log)

    @property
    def searched(self) -> bool:
        return self.choices is not None or self.low is not None

    def as_config(self) -> Any:
        """The dimension written back in the config's notation (for the tuning record)."""
        if self.choices is not None:
            return list(self.choices)
        if self.low is None:
            return self.fixed
        return {"low": self.low, "high": self.high, "log": self.log}


def encode_choice(value: Any) -> Any:
    """Optuna choices must be scalars: lists (e.g. ``hidden_units``) travel as JSON text."""
    return json.dumps(value) if isinstance(value, list | dict) else value


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def search_space(model: str, space: Mapping[str, Any], faithful: Mapping[str, Any]) -> list[Dimension]:
    """Parse a model's config space, with the faithful point added (see the module docstring).

    Raises ConfigError (one line) for an unknown hyperparameter or an impossible range.
    """
    dims = []
    for name in sorted(space):
        spec, where = space[name], f"tuning space of '{model}', '{name}'"
        if name not in faithful:
            raise ConfigError(
                f"{where}: unknown hyperparameter; known: {', '.join(sorted(faithful)) or 'none'}"
            )
        base = faithful[name]
        if isinstance(spec, list):
            choices = tuple(spec) if base in spec else (*spec, base)
            dims.append(Dimension(name, choices=choices))
        elif isinstance(spec, Mapping):
            low, high, log_scale = spec["low"], spec["high"], bool(spec.get("log"))
            if low > high:
                raise ConfigError(f"{where}: low={low} is above high={high}")
            integer = _is_int(low) and _is_int(high)
            if not isinstance(base, int | float) or isinstance(base, bool):
                raise ConfigError(f"{where}: faithful value {base!r} is not a number; use a list")
            if log_scale and (low <= 0 or base <= 0):
                raise ConfigError(
                    f"{where}: a log range needs positive values (faithful {base}, low {low}); "
                    "use a list such as [0.0, 1.0e-5, 1.0e-4] to include 0"
                )
            if integer and not _is_int(base):
                raise ConfigError(f"{where}: integer range but faithful value {base!r}; use floats")
            low, high = min(low, base), max(high, base)
            dims.append(Dimension(name, low=low, high=high, log=log_scale, integer=integer))
        else:
            dims.append(Dimension(name, fixed=spec))
    return dims
