"""The config check: the schema (:mod:`recrepro.core.config`) and what it cannot say: known
datasets, protocols, models and their hyperparameters, experiments, ablations and search spaces.
It lives above the libraries it asks (data, models, experiments)."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema

from recrepro.core.config import _coerce, _schema, _with_defaults, describe
from recrepro.core.errors import ConfigError


def check_config(config: dict[str, Any]) -> dict[str, Any]:
    """Validate ``config`` against :data:`SCHEMA` and return a copy with defaults filled in."""
    schema = _schema()
    config = _coerce(schema, copy.deepcopy(config))
    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if error is not None:
        raise ConfigError(describe(error))
    config = _with_defaults(schema, config)
    config["models"] = {name: params or {} for name, params in config["models"].items()}
    _check_semantics(config)
    return config


def _check_semantics(config: dict[str, Any]) -> None:
    from recrepro.data.movielens import DATASETS
    from recrepro.data.splits import check_protocol
    from recrepro.models.registry import build_model

    for dataset in config["datasets"]:
        if dataset not in DATASETS:
            raise ConfigError(f"unknown dataset '{dataset}'; known: {', '.join(DATASETS)}")
    split = config["split"]
    if split["valid_fraction"] + split["test_fraction"] >= 1:
        raise ConfigError(
            f"split fractions valid={split['valid_fraction']} + test={split['test_fraction']} "
            "leave nothing to train on; they must sum to less than 1"
        )
    for protocol in config["protocols"]:
        for dataset in config["datasets"]:
            check_protocol(protocol, dataset, config["settings"])  # unknown / impossible -> stop
    for name, params in config["models"].items():
        build_model(name, params)  # unknown model or hyperparameter -> ConfigError
    if config["experiments"]:
        from recrepro.experiments import EXPERIMENTS

        unknown = [name for name in config["experiments"] if name not in EXPERIMENTS]
        if unknown:
            raise ConfigError(f"unknown experiment(s) {', '.join(unknown)}; known: {', '.join(EXPERIMENTS)}")
    for name, removal in config["ablations"].items():
        model = name.split("__")[0]
        if model not in config["models"]:
            raise ConfigError(
                f"ablation '{name}' removes a part of model '{model}', which is not in models; "
                f"add {model} to models or drop the ablation"
            )
        build_model(model, {**config["models"][model], **removal})  # unknown hyperparameter
    if "tuned" in config["settings"]:
        _check_spaces(config)


def _check_spaces(config: dict[str, Any]) -> None:
    """Every model of a tuned study has a valid search space if it has hyperparameters: the
    config's ``tuning.spaces.<model>``, else the model's declared ``search_space``, which is
    filled in here (:func:`recrepro.models.spaces.model_space`), so the workflow reads every space
    from the checked config."""
    from recrepro.core.search_space import search_space
    from recrepro.models.registry import build_model
    from recrepro.models.spaces import model_space

    spaces = config["tuning"]["spaces"]
    for name, params in config["models"].items():
        faithful = build_model(name, params).params
        space = model_space(config["tuning"], name)
        if faithful and not space:
            raise ConfigError(
                f"model '{name}' has hyperparameters ({', '.join(sorted(faithful))}) but no search "
                f"space; declare search_space on its class or add tuning.spaces.{name} to the config"
            )
        search_space(name, space, faithful)  # unknown names, bad ranges
        if space:
            spaces.setdefault(name, space)
