"""Models registered by name. Every module in ``recrepro.models`` is imported on first lookup,
so adding a model is one new file with a ``@register("name")`` class (which also declares its
citation, look and search space: :class:`~recrepro.models.base.Recommender`), its test, plus a
config block.

Folders listed in ``RECREPRO_MODEL_PATH`` (``os.pathsep``-separated) are searched too, so a model
file can also live outside the package.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from collections.abc import Callable

from recrepro.core.errors import ConfigError
from recrepro.models.base import TASKS, Recommender

_REGISTRY: dict[str, type[Recommender]] = {}
#: Modules and sub-packages of ``recrepro.models`` that register no model (``tf``: the TF family's
#: shared parts, whose Keras modules import TensorFlow).
_NOT_MODELS = {"base", "registry", "spaces", "tf"}
MODEL_PATH_ENV = "RECREPRO_MODEL_PATH"


def register(name: str) -> Callable[[type[Recommender]], type[Recommender]]:
    """Class decorator: make the model available under ``name``."""

    def decorate(cls: type[Recommender]) -> type[Recommender]:
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"model name '{name}' is registered twice")
        if cls.task not in TASKS:
            raise ValueError(f"model '{name}': task '{cls.task}' is none of {', '.join(TASKS)}")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return decorate


def _discover() -> None:
    import recrepro.models as package

    for folder in filter(None, os.environ.get(MODEL_PATH_ENV, "").split(os.pathsep)):
        if folder not in package.__path__:
            package.__path__.append(folder)
    for module in pkgutil.iter_modules(package.__path__):
        if module.name not in _NOT_MODELS and not module.name.startswith("_"):
            importlib.import_module(f"{package.__name__}.{module.name}")


def available_models() -> list[str]:
    """Sorted names of all registered models."""
    _discover()
    return sorted(_REGISTRY)


#: ``<model>__<variant>`` names a variant of a registered model: the same class under its own
#: name in the config, e.g. ``multitask__rating_only: {retrieval_weight: 0.0}`` (the reproduction
#: table runs the TFRS multitask tutorial's three loss weightings this way).
VARIANT_SEPARATOR = "__"


def get_model_class(name: str) -> type[Recommender]:
    """The class registered as ``name`` (or as the part of ``name`` before ``__``, a variant);
    a clear error lists the known names otherwise."""
    _discover()
    try:
        return _REGISTRY[name if name in _REGISTRY else name.split(VARIANT_SEPARATOR)[0]]
    except KeyError:
        raise ConfigError(
            f"unknown model '{name}'; registered models: {', '.join(sorted(_REGISTRY))}"
        ) from None


def build_model(name: str, params: dict | None = None) -> Recommender:
    """Instantiate model ``name`` with hyperparameter overrides ``params``."""
    return get_model_class(name)(**(params or {}))
