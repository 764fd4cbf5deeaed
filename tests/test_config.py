"""Config validation: every mistake stops with one line naming it."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from recrepro.config import check_config, load_yaml
from recrepro.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def default_config() -> dict:
    return load_yaml(ROOT / "config" / "config.yaml")


@pytest.mark.parametrize("name", ["config.yaml", "smoke.yaml"])
def test_shipped_configs_are_valid(name: str) -> None:
    config = check_config(load_yaml(ROOT / "config" / name))
    assert config["evaluation"]["user_batch_size"] == 1024  # default filled in


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c["models"].update(nope={}), "unknown model 'nope'"),
        (lambda c: c["models"].update(ease={"lambda": 3}), "unknown hyperparameter"),
        (lambda c: c.update(seeds=[]), r"config error at 'seeds'"),
        (lambda c: c.update(seeds=[1, 1]), r"config error at 'seeds'.*non-unique"),
        (lambda c: c["evaluation"].update(ks=[0, 10]), r"'evaluation/ks/0'.*minimum"),
        (lambda c: c["evaluation"].update(ks=[5, "ten"]), r"'evaluation/ks/1'"),
        (lambda c: c.update(datasets=["ml-3k"]), "unknown dataset 'ml-3k'"),
        (lambda c: c.update(protocols=["leave_one_out"]), r"unknown protocol 'leave_one_out'; known: random"),
        (lambda c: c.update(protocols=["random", "grouplens_u1"]), "tuned setting cannot apply"),
        (lambda c: c.update(protocols=["tfrs_tutorial"], settings=["faithful"], datasets=["ml-1m"]),
         "published split of ml-100k only"),
        (lambda c: c.update(split={"valid_fraction": 0.5, "test_fraction": 0.5}), "sum to less than 1"),
        (lambda c: c.update(colour="blue"), "Additional properties"),
    ],
)
def test_bad_configs_are_rejected(default_config: dict, change, message: str) -> None:
    config = copy.deepcopy(default_config)
    change(config)
    with pytest.raises(ConfigError, match=message):
        check_config(config)


def test_malformed_yaml(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("models: [ease\nseeds: 1\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_yaml(bad)
