# Configuration checks and the list of runs. Every config problem stops here, before any job.
import json
from pathlib import Path
import shlex
import sys

from recrepro.study.config_check import check_config
from recrepro.data.identity import content_id
from recrepro.data.splits import PROTOCOLS
from recrepro.core.errors import ConfigError, DataError
from recrepro.core.layout import RunKey

try:
    config = check_config(config)  # against the schema shipped in the package (recrepro.study.config_check)
except ConfigError as error:
    sys.exit(f"recrepro: config error: {error}")  # e.g. "seeds: [] should be non-empty"

# Each dataset's raw files, verified before any job and identified by content (data.smk's
# prepare_data): another folder with the same files reruns nothing; a bad one stops here.
try:
    DATA_CONTENT = {dataset: content_id(dataset, config["data_dir"]) for dataset in config["datasets"]}
except DataError as error:
    sys.exit(f"recrepro: error: {error}")
# The folder reaches the jobs through their command line, not as a param or input.
DATA_DIR_ARG = shlex.quote(config["data_dir"] or "")

RUNS = [
    RunKey(dataset, protocol, model, setting, seed)
    for dataset in config["datasets"]
    for protocol in config["protocols"]
    for model in config["models"]
    for setting in config["settings"]
    for seed in config["seeds"]
]


def model_params(model):
    """A configured model's hyperparameters; an ablation's (`ablations:`): its model's, with the
    removal on top."""
    if model in config["models"]:
        return config["models"][model]
    return {**config["models"][searched_model(model)], **config["ablations"][model]}


def searched_model(model):
    """The model whose searches a run's tuned setting reads: an ablation reads its model's."""
    return model.split("__")[0] if model in config["ablations"] else model


def run_files(name, **only):
    """Paths of file `name` of every configured run (optionally only runs matching `only`)."""
    return [
        str(run.path() / name)
        for run in RUNS
        if all(getattr(run, field) == value for field, value in only.items())
    ]


def as_json_arg(value):
    """A JSON value quoted for the shell."""
    return shlex.quote(json.dumps(value, sort_keys=True))


wildcard_constraints:
    dataset="[a-z0-9-]+",
    protocol="|".join(config["protocols"]),
    setting="faithful|tuned",
    model="[A-Za-z0-9_]+",
    seed=r"\d+",


# A stop on request (Ctrl-C, SIGTERM) says so, instead of Snakemake's "At least one job did not
# complete successfully"; a job the cluster killed (memory, time limit): one line naming it, the
# reason and the key to raise.
onerror:
    from recrepro.tools.cluster import killed_job_lines
    from recrepro.core.stop import STOPPED, stopped_on_request

    if stopped_on_request(log):
        sys.exit(STOPPED)  # Snakemake's lock is released on the way out
    for line in killed_job_lines(log, config["resources"]):
        print(line, file=sys.stderr)
