"""A model's search space: the config's ``tuning.spaces.<model>`` wins, then a variant's base
model's entry, then the space the model's class declares (``search_space``)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from recrepro.core.errors import ConfigError


def model_space(tuning: Mapping[str, Any], model: str) -> dict[str, Any]:
    """The search space of ``model`` in the config's notation: ``tuning.spaces[model]`` (the
    config block ``tuning``), else that of the model a ``<model>__<variant>`` name varies, else
    the model's declared ``search_space`` ({} if it declares none, or is not registered)."""
    from recrepro.models.registry import VARIANT_SEPARATOR, get_model_class

    spaces = tuning.get("spaces") or {}
    base = model.split(VARIANT_SEPARATOR)[0]
    if model in spaces or base in spaces:
        return copy.deepcopy(dict(spaces.get(model, spaces.get(base)) or {}))
    try:
        declared = get_model_class(model).search_space
    except ConfigError:  # an unknown model: the config check names it
        return {}
    return copy.deepcopy(dict(declared))
