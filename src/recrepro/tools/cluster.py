"""Jobs a cluster killed for exceeding their memory or time limit, explained in one line each.

The SLURM executor plugin reports such a job as failed with its SLURM state; the reason is in
the state (OUT_OF_MEMORY, TIMEOUT) or, when SLURM killed only the job step that ran the rule, in
the job's SLURM log. The workflow's ``onerror`` handler calls :func:`killed_job_lines` on
Snakemake's log so the user reads which job, why, and the config key to raise.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# (pattern in the plugin's message or SLURM's job log, what happened, the resource to raise)
_KILLS = (
    (
        re.compile(r"'OUT_OF_MEMORY'|oom-kill event|Out Of Memory|Exceeded job memory limit"),
        "out of memory",
        "mem_mb",
    ),
    (re.compile(r"'TIMEOUT'|DUE TO TIME LIMIT"), "over its time limit", "runtime"),
)
_ERROR = re.compile(r"^Error in rule (\w+):$")
_SLURM_JOB = re.compile(r"SLURM-job '([\w.]+)' failed")


@dataclass(frozen=True)
class KilledJob:
    rule: str
    slurm_id: str
    target: str  # where the job writes (its outputs' common folder, or its only output)
    reason: str
    resource: str  # mem_mb | runtime


def _field(block: list[str], name: str) -> str:
    prefix = f"{name}: "
    return next((line.strip()[len(prefix) :] for line in block if line.strip().startswith(prefix)), "")


def _read(path: str) -> str:
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""


def _killed(rule: str, block: list[str]) -> KilledJob | None:
    match = _SLURM_JOB.search(_field(block, "message"))
    if match is None:
        return None
    slurm_id = match.group(1)
    logs = [p.rstrip(",") for p in _field(block, "log").split() if p.rstrip(",").endswith(f"{slurm_id}.log")]
    evidence = _field(block, "message") + "".join(_read(path) for path in logs)
    outputs = [p.rstrip(",") for p in _field(block, "output").split()]
    target = os.path.commonpath(outputs) if len(outputs) > 1 else "".join(outputs)
    for pattern, reason, resource in _KILLS:
        if pattern.search(evidence):
            return KilledJob(rule, slurm_id, target, reason, resource)
    return None


def killed_jobs(snakemake_log: str) -> list[KilledJob]:
    """The jobs of a Snakemake log that SLURM killed for memory or time (in order, no repeats)."""
    lines = snakemake_log.splitlines()
    found: dict[str, KilledJob] = {}
    for i, line in enumerate(lines):
        match = _ERROR.match(line.strip())
        if match is None:
            continue
        block = []
        for following in lines[i + 1 :]:
            if not following.startswith(" "):
                break
            block.append(following)
        job = _killed(match.group(1), block)
        if job is not None:
            found.setdefault(job.slurm_id, job)
    return list(found.values())


def explain(job: KilledJob, resources: Mapping[str, Mapping[str, Any]]) -> str:
    """One line: the job, the reason and the config key (or profile setting) to raise."""
    if job.rule in resources:
        current = resources[job.rule].get(job.resource)
        fix = f"raise resources: {{{job.rule}: {{{job.resource}: ...}}}} in the config (now {current})"
    else:
        fix = f"raise {job.resource} for {job.rule} under set-resources in the Snakemake profile"
    return (
        f"recrepro: error: SLURM killed job {job.rule} ({job.target}, SLURM job {job.slurm_id}): "
        f"{job.reason}; {fix}, then rerun: finished jobs are kept"
    )


def killed_job_lines(logs: str | Iterable[str], resources: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Explanations of every killed job in the Snakemake log file(s) ``logs``."""
    paths = [logs] if isinstance(logs, str) else list(logs)
    return [explain(job, resources) for path in paths for job in killed_jobs(_read(path))]
