"""Study configuration: JSON-schema validation plus the checks a schema cannot express.

Every problem stops the workflow before any job runs, with one line naming it. The schema,
the one home of every default, ships inside the package (:data:`SCHEMA`), so the package
works outside the checkout (a wheel install) and the workflow reads the same file.
"""

from __future__ import annotations

import copy
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from recrepro.core.errors import ConfigError

#: The study config's JSON schema (package data: ``recrepro/schemas/config.schema.yaml``).
SCHEMA = resources.files("recrepro") / "schemas" / "config.schema.yaml"


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file; malformed YAML is a ConfigError."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None)
        raise ConfigError(
            f"config {path} is not valid YAML{where}{f': {problem}' if problem else ''}; fix that line"
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"config {path} must be a mapping of settings")
    return data


@cache
def _schema() -> dict[str, Any]:
    """The parsed :data:`SCHEMA` (read once per process)."""
    return yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))


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


_SCALARS = {"integer": int, "number": (int, float), "boolean": bool, "null": type(None)}


def _coerce(schema: dict[str, Any], data: Any) -> Any:
    """Read strings where the schema wants a number, boolean or null as YAML (``"0"`` -> 0).

    ``snakemake --config key=VALUE`` parses nested values with YAML's base loader, which leaves
    every scalar a string: ``--config "paper={compile: false}"`` must mean False.
    """
    if isinstance(data, dict):
        extra = schema.get("additionalProperties")
        for key, value in data.items():
            sub = schema.get("properties", {}).get(key, extra if isinstance(extra, dict) else {})
            data[key] = _coerce(sub, value)
    elif isinstance(data, list) and isinstance(schema.get("items"), dict):
        data[:] = [_coerce(schema["items"], value) for value in data]
    elif isinstance(data, str):
        types = schema.get("type", [])
        wanted = tuple(_SCALARS[t] for t in ([types] if isinstance(types, str) else types) if t in _SCALARS)
        if wanted and "string" not in types:
            try:
                value = yaml.safe_load(data)
            except yaml.YAMLError:
                return data
            if isinstance(value, wanted) and (bool not in wanted or isinstance(value, bool) or value is None):
                return value
    return data


def block_defaults(block: str, values: dict[str, Any] | None = None) -> dict[str, Any]:
    """The config block ``block`` (e.g. ``"stats"``) with the schema's defaults filled in.

    The schema is the one home of every default; code that gets a block outside the workflow
    (an unvalidated dict, or nothing) reads its defaults through this.
    """
    return _with_defaults(_schema()["properties"][block], copy.deepcopy(dict(values or {})))


def _where(path: Any) -> str:
    """``evaluation.ks[0]`` for the path ``evaluation/ks/0``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out


def describe(error: jsonschema.ValidationError) -> str:
    """A schema violation as one plain sentence naming the key and the rule it breaks."""
    where = _where(error.absolute_path)
    if error.validator == "additionalProperties":
        known = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(known))
        return (
            f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
            f"{f'in {where}' if where else 'at the top level'}; known: {', '.join(known)}"
        )
    if error.validator == "required":
        missing = next(key for key in error.validator_value if key not in error.instance)
        return f"missing key '{missing}'" + (f" in {where}" if where else "")
    if not where:
        return error.message
    scalar = not isinstance(error.instance, dict | list)
    if scalar and error.message.startswith(repr(error.instance)):
        return f"{where} = {error.message}"  # evaluation.ks[0] = 0 is less than the minimum of 1
    return f"{where}: {error.message}"  # seeds: [] should be non-empty
