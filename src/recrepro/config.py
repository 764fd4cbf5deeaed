"""Study configuration: JSON-schema validation plus the checks a schema cannot express.

Every problem stops the workflow before any job runs, with one line naming it.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from recrepro.errors import ConfigError

DEFAULT_SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file; malformed YAML is a ConfigError."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"config {path} is not valid YAML{where}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config {path} must be a mapping of settings")
    return data


def _with_defaults(schema: dict[str, Any], data: Any) -> Any:
    """Fill in the schema's ``default`` values for missing object properties (recursively)."""
    if not isinstance(data, dict) or schema.get("type") != "object":
        return data
    for key, sub in schema.get("properties", {}).items():
        if key not in data and "default" in sub:
            data[key] = copy.deepcopy(sub["default"])
        if key in data:
            data[key] = _with_defaults(sub, data[key])
    return data


def check_config(
    config: dict[str, Any], schema_path: str | Path = DEFAULT_SCHEMA
) -> dict[str, Any]:
    """Validate ``config`` and return a copy with defaults filled in."""
    schema = load_yaml(schema_path)
    config = copy.deepcopy(config)
    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "top level"
        raise ConfigError(f"config error at '{where}': {error.message}")
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
    if "tuned" in config["settings"]:
        _check_spaces(config)


def _check_spaces(config: dict[str, Any]) -> None:
    """Every model of a tuned study has a valid search space if it has hyperparameters."""
    from recrepro.models.registry import build_model
    from recrepro.tuning import search_space

    spaces = config["tuning"]["spaces"]
    for name, params in config["models"].items():
        faithful = build_model(name, params).params
        if faithful and not spaces.get(name):
            raise ConfigError(
                f"model '{name}' has hyperparameters ({', '.join(sorted(faithful))}) but no search "
                f"space; add tuning.spaces.{name} to the config (see config/config.yaml)"
            )
        search_space(name, spaces.get(name, {}), faithful)  # unknown names, bad ranges
