# Configuration checks and the list of runs. Every config problem stops here, before any job.
import json
from pathlib import Path
import shlex
import sys

from recrepro.config import check_config
from recrepro.data.splits import PROTOCOLS
from recrepro.errors import ConfigError
from recrepro.runs import RunKey

try:
    config = check_config(config, workflow.source_path("../schemas/config.schema.yaml"))
except ConfigError as error:
    sys.exit(f"recrepro: config error: {error}")  # e.g. "seeds: [] should be non-empty"

RUNS = [
    RunKey(dataset, protocol, model, setting, seed)
    for dataset in config["datasets"]
    for protocol in config["protocols"]
    for model in config["models"]
    for setting in config["settings"]
    for seed in config["seeds"]
]


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


# A job the cluster killed (memory, time limit): one line naming it, the reason and the key to raise.
onerror:
    from recrepro.cluster import killed_job_lines

    for line in killed_job_lines(log, config["resources"]):
        print(line, file=sys.stderr)
