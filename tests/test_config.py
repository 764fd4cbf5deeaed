"""Config validation: every mistake stops with one line naming it."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from recrepro.core.config import block_defaults, load_yaml
from recrepro.core.errors import ConfigError
from recrepro.study.config_check import check_config

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
        (lambda c: c.update(datasets=["ml-3k"]), "unknown dataset 'ml-3k'"),
        (lambda c: c.update(protocols=["leave_one_out"]), r"unknown protocol 'leave_one_out'; known: random"),
        (lambda c: c.update(protocols=["random", "grouplens_u1"]), "tuned setting cannot apply"),
        (lambda c: c.update(protocols=["tfrs_tutorial"], settings=["faithful"], datasets=["ml-1m"]),
         "published split of ml-100k only"),
        (lambda c: c.update(split={"valid_fraction": 0.5, "test_fraction": 0.5}), "sum to less than 1"),
    ],
)
def test_bad_configs_are_rejected(default_config: dict, change, message: str) -> None:
    config = copy.deepcopy(default_config)
    change(config)
    with pytest.raises(ConfigError, match=message):
        check_config(config)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.update(seeds=[]), "seeds: [] should be non-empty"),
        (lambda c: c.update(seeds=[1, 1]), "seeds: [1, 1] has non-unique elements"),
        (lambda c: c["evaluation"].update(ks=[0, 10]), "evaluation.ks[0] = 0 is less than the minimum of 1"),
        (lambda c: c["evaluation"].update(ks=[5, "ten"]),
         "evaluation.ks[1] = 'ten' is not of type 'integer'"),
        (lambda c: c.update(settings=["best"]), "settings[0] = 'best' is not one of ['faithful', 'tuned']"),
        (lambda c: c.update(tuning={"trials": 0}), "tuning.trials = 0 is less than the minimum of 1"),
        (lambda c: c.update(paper={"compile": "maybe"}), "paper.compile = 'maybe' is not of type 'boolean'"),
        (lambda c: c.pop("models"), "missing key 'models'"),
        (lambda c: c["split"].update(train=0.8),
         "unknown key 'train' in split; known: test_fraction, test_seed, valid_fraction"),
    ],
)  # fmt: skip
def test_schema_errors_read_naturally(default_config: dict, change, message: str) -> None:
    """One sentence naming the key as written in YAML (dots, [index]) and the rule; no prefix."""
    config = copy.deepcopy(default_config)
    change(config)
    with pytest.raises(ConfigError) as error:
        check_config(config)
    assert str(error.value) == message


def test_strings_from_snakemake_config_flag_are_read_as_yaml(default_config: dict) -> None:
    """`snakemake --config "paper={compile: false}"` passes nested values as strings."""
    config = check_config({**default_config, "paper": {"compile": "false"}, "seeds": ["1", "2"]})
    assert config["paper"]["compile"] is False and config["seeds"] == [1, 2]
    with pytest.raises(ConfigError, match=r"^evaluation.ks\[0\] = 0 is less than the minimum of 1$"):
        check_config({**default_config, "evaluation": {"ks": ["0"]}})


def test_unknown_top_level_key_lists_the_known_ones(default_config: dict) -> None:
    with pytest.raises(ConfigError) as error:
        check_config({**default_config, "colour": "blue"})
    assert str(error.value).startswith(
        "unknown key 'colour' at the top level; known: ablations, data_dir, datasets,")


def test_every_block_has_its_defaults_in_the_schema() -> None:
    """A config with only the required keys gets every block, with the schema's values."""
    config = check_config(
        {"datasets": ["ml-100k"], "protocols": ["random"], "seeds": [1], "settings": ["faithful"],
         "models": {"popularity": None}}
    )  # fmt: skip
    assert {key: config["tuning"][key] for key in ("trials", "seed", "metric")} == {
        "trials": 64, "seed": 0, "metric": "ndcg@10"}  # fmt: skip
    assert config["split"] == {"valid_fraction": 0.1, "test_fraction": 0.1, "test_seed": 0}
    assert config["evaluation"]["ks"] == [5, 10, 20, 50, 100]
    assert config["paper"]["compile"] is True and config["paper"]["example_user"] == 42
    assert config["stats"]["test"] == "crossed" and config["verify"]["rtol"] == 1.0e-9
    assert config["models"] == {"popularity": {}}
    assert block_defaults("tuning", {"trials": 3})["trials"] == 3


def test_code_defaults_come_from_the_schema() -> None:
    """StatsConfig, PaperConfig and the CLI read the schema's defaults, not copies of them."""
    from recrepro.cli import build_parser
    from recrepro.report.config import PaperConfig
    from recrepro.stats.config import StatsConfig

    stats = block_defaults("stats")
    assert (StatsConfig().test, StatsConfig().alpha, StatsConfig().bootstrap) == (
        stats["test"], stats["alpha"], stats["bootstrap"])  # fmt: skip
    paper = PaperConfig.from_config({"datasets": ["ml-100k"], "models": {"a": {}}, "seeds": [1]})
    assert paper.example_models == block_defaults("paper")["example_models"]
    assert paper.ks == tuple(block_defaults("evaluation")["ks"]) and paper.alpha == stats["alpha"]
    tune = build_parser().parse_args(["tune", "--dataset", "d", "--protocol", "p", "--model", "m",
                                      "--seed", "1", "--data", "x", "--split", "y", "--out", "z"])
    assert (tune.trials, tune.tuning_seed, tune.metric) == (64, 0, "ndcg@10")
    assert json.loads(tune.pruning) == block_defaults("tuning")["pruning"]


def test_malformed_yaml(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("models: [ease\nseeds: 1\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_yaml(bad)
