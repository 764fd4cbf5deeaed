"""Published reference numbers (``config/reference_numbers.csv``) beside ours.

Each reference row names the system, our model that reproduces it, our metric name that matches
the published one, the published value with its range, and where it was published. Our side is
the model's result under the faithful setting of the row's protocol.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd

from recrepro.errors import ConfigError
from recrepro.report.data import lookup

REFERENCE_COLUMNS = (
    "system",
    "model",
    "metric",
    "protocol",
    "setting",
    "value",
    "low",
    "high",
    "split",
    "epochs",
    "source",
    "url",
    "cite_key",
    "note",
)


def load_references(path: str | os.PathLike) -> pd.DataFrame:
    """Read and check the reference-number table."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path} is missing; restore config/reference_numbers.csv from git")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in REFERENCE_COLUMNS if c not in frame.columns]
    if missing:
        raise ConfigError(f"{path} lacks column(s) {', '.join(missing)}; see its header in git")
    for column in ("value", "low", "high"):
        numbers = pd.to_numeric(frame[column].replace("", "nan"), errors="coerce")
        if column == "value" and numbers.isna().any():
            raise ConfigError(f"{path}: every row needs a numeric 'value'")
        frame[column] = numbers
    frame["low"] = frame["low"].fillna(frame["value"])
    frame["high"] = frame["high"].fillna(frame["value"])
    if not frame["cite_key"].str.fullmatch(r"[A-Za-z0-9:_-]+").all():
        raise ConfigError(f"{path}: every row needs a BibTeX key in 'cite_key' (letters, digits)")
    return frame


def reproduction_frame(
    references: pd.DataFrame,
    summary: pd.DataFrame,
    seed_summary: pd.DataFrame,
    dataset: str,
    default_protocol: str,
) -> pd.DataFrame:
    """References with our mean, s.d., 95% CI and whether the CI meets the reference range."""
    rows = []
    for ref in references.to_dict("records"):
        key = {
            "dataset": dataset,
            "protocol": ref["protocol"] or default_protocol,
            "setting": ref["setting"] or "faithful",
            "model": ref["model"],
            "metric": ref["metric"],
        }
        mean = lookup(summary, "mean", **key)
        std = lookup(summary, "std", **key)
        ci_low = lookup(seed_summary, "ci_low", **key)
        ci_high = lookup(seed_summary, "ci_high", **key)
        rows.append(
            {
                **ref,
                "protocol": key["protocol"],
                "setting": key["setting"],
                "ours_mean": mean,
                "ours_std": std,
                "ours_ci_low": ci_low,
                "ours_ci_high": ci_high,
                "within": _within(mean, ci_low, ci_high, ref["low"], ref["high"]),
            }
        )
    columns = list(REFERENCE_COLUMNS) + [
        "ours_mean",
        "ours_std",
        "ours_ci_low",
        "ours_ci_high",
        "within",
    ]
    return pd.DataFrame.from_records(rows, columns=columns)


def _within(mean: float, ci_low: float, ci_high: float, low: float, high: float) -> bool | None:
    """Does our CI (or the mean, without a CI) overlap the reference range? None if no result."""
    if not math.isfinite(mean):
        return None
    if not (math.isfinite(ci_low) and math.isfinite(ci_high)):
        ci_low = ci_high = mean
    return bool(ci_low <= high and ci_high >= low)
