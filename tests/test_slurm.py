"""The study on a real SLURM cluster: a one-node SLURM 22.05 cluster (munge, slurmctld, slurmd)
started on this machine by the test runs config/smoke.yaml through ``profiles/slurm`` to the paper.

Needs root and the Debian packages slurmctld, slurmd, slurm-client and munge (``.ci/run``
installs them). Every daemon runs from a temporary folder and is stopped by pid when the tests
end, also when they fail. The plugin's job step strips SLURM_CONF from the environment of the
``srun`` it runs inside each job, so the cluster's configuration is also linked where a configless
slurmd keeps it, /run/slurm/conf (removed again at the end).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, run_snakemake, workflow_copy
from recrepro.core.config import block_defaults
from recrepro.tools.cluster import KilledJob, explain, killed_job_lines, killed_jobs

CLIENT_CONF = Path("/run/slurm/conf")  # where SLURM's clients look after SLURM_CONF and /etc/slurm
PROGRAMS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "scancel", "sinfo")


# -- the one-line explanation of a killed job (no cluster needed) ------------------------------
def _snakemake_log(tmp_path: Path, slurm_log: str, state: str = "FAILED") -> Path:
    """A Snakemake log as the SLURM plugin writes it when job 17 fails."""
    job_log = tmp_path / "results/logs/slurm/rule_train_and_evaluate/ml-100k_random_ease_faithful_1/17.log"
    job_log.parent.mkdir(parents=True)
    job_log.write_text(slurm_log)
    run = "results/runs/ml-100k/random/ease/faithful/seed1"
    log = tmp_path / "snakemake.log"
    log.write_text(
        "Error in rule train_and_evaluate:\n"
        f"    message: SLURM-job '17' failed, SLURM status is: '{state}'. Detailed failure reason"
        " unavailable (status command is not 'sacct').For further error details see the cluster/cloud log.\n"
        "    jobid: 12\n"
        f"    output: {run}/metrics.json, {run}/per_user.parquet\n"
        f"    log: results/logs/train_and_evaluate/x.log, {job_log} (check log file(s) for error details)\n"
        "    shell:\n        recrepro train-evaluate\n"
        "    external_jobid: 17\n"
        "Shutting down, this might take some time.\n"
    )
    return log


def test_a_job_killed_in_its_step_for_memory_is_explained_in_one_line(tmp_path: Path) -> None:
    slurm_log = (
        "slurmstepd-vm: error: Detected 1 oom-kill event(s) in StepId=17.0. Some of your processes"
        " may have been killed by the cgroup out-of-memory handler.\nsrun: error: vm: task 0: Out Of Memory\n"
    )
    log = _snakemake_log(tmp_path, slurm_log)
    assert killed_jobs(log.read_text()) == [
        KilledJob("train_and_evaluate", "17", "results/runs/ml-100k/random/ease/faithful/seed1",
                  "out of memory", "mem_mb")
    ]  # fmt: skip
    lines = killed_job_lines([str(log)], {"train_and_evaluate": {"mem_mb": 300, "runtime": 60}})
    assert lines == [
        "recrepro: error: SLURM killed job train_and_evaluate (results/runs/ml-100k/random/ease/faithful/"
        "seed1, SLURM job 17): out of memory; raise resources: {train_and_evaluate: {mem_mb: ...}} in the"
        " config (now 300), then rerun: finished jobs are kept"
    ]


def test_a_timed_out_job_names_runtime_and_other_failures_say_nothing(tmp_path: Path) -> None:
    log = _snakemake_log(
        tmp_path, "slurmstepd: error: *** JOB 17 ON vm CANCELLED AT 2026 DUE TO TIME LIMIT ***"
    )
    (job,) = killed_jobs(log.read_text())
    assert (job.reason, job.resource) == ("over its time limit", "runtime")
    assert "raise runtime for train_and_evaluate under set-resources" in explain(job, {})
    (tmp_path / "again").mkdir()
    log = _snakemake_log(tmp_path / "again", "recrepro: error: model 'x' diverged")
    assert killed_jobs(log.read_text()) == []
    (tmp_path / "oom").mkdir()
    log = _snakemake_log(tmp_path / "oom", "", state="OUT_OF_MEMORY")
    assert [j.reason for j in killed_jobs(log.read_text())] == ["out of memory"]


# -- a one-node cluster ---------------------------------------------------------------------
@dataclass
class Cluster:
    root: Path
    conf: Path

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def run(self, *command: str) -> str:
        return subprocess.run(
            command, env=self.env, capture_output=True, text=True, check=True, timeout=60
        ).stdout

    def job(self, job_id: str) -> dict[str, str]:
        """`scontrol show job` as key -> value."""
        text = self.run("scontrol", "show", "job", "--oneliner", job_id)
        return dict(field.split("=", 1) for field in text.split() if "=" in field)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _slurm_conf(root: Path, node: str) -> str:
    """A minimal slurm.conf: this machine as the only node (its own CPUs and memory, from
    `slurmd -C`), cons_tres scheduling of CPUs and memory, cgroups enforcing both, no accounting."""
    host = socket.gethostname().split(".")[0]
    return f"""\
ClusterName=recrepro
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
AuthType=auth/munge
AuthInfo=socket={root}/munge/munge.socket
CredType=cred/munge
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
ProctrackType=proctrack/cgroup
TaskPlugin=task/cgroup
JobAcctGatherType=jobacct_gather/cgroup
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MinJobAge=3600
ReturnToService=2
MpiDefault=none
{node} NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


CGROUP_CONF = "CgroupPlugin=cgroup/v1\nConstrainCores=yes\nConstrainRAMSpace=yes\nConstrainSwapSpace=yes\n"


def _start(cluster: list[subprocess.Popen], root: Path, *command: str) -> None:
    log = open(root / "log" / f"{Path(command[0]).name}.out", "w")  # noqa: SIM115 (closed with the process)
    env = {**os.environ, "SLURM_CONF": str(root / "etc" / "slurm.conf")}
    cluster.append(
        subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    )
    log.close()


def _wait(what: str, ready, root: Path, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if ready():
            return
        time.sleep(0.5)
    logs = "\n".join(f"== {p.name}\n{p.read_text()[-1500:]}" for p in sorted((root / "log").glob("*")))
    pytest.fail(f"SLURM test cluster: {what} did not come up within {timeout:.0f} s\n{logs}")


def _node_idle(root: Path) -> bool:
    env = {**os.environ, "SLURM_CONF": str(root / "etc" / "slurm.conf")}
    proc = subprocess.run(["sinfo", "-h", "-o", "%t"], env=env, capture_output=True, text=True)
    return proc.stdout.strip() == "idle"


def _stop(cluster: list[subprocess.Popen], root: Path) -> None:
    """Cancel every job, then stop the daemons newest first (by pid), and drop the client link."""
    env = {**os.environ, "SLURM_CONF": str(root / "etc" / "slurm.conf")}
    if len(cluster) == 3:
        subprocess.run(["scancel", "--user", str(os.getuid())], env=env, capture_output=True, timeout=30)
        end = time.monotonic() + 30
        while time.monotonic() < end:
            squeue = subprocess.run(["squeue", "-h", "-t", "RUNNING,PENDING,COMPLETING"], env=env,
                                    capture_output=True, text=True, timeout=30)  # fmt: skip
            if squeue.returncode or not squeue.stdout.strip():
                break
            time.sleep(1)
    for process in reversed(cluster):
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
    if CLIENT_CONF.is_symlink() and os.readlink(CLIENT_CONF) == str(root / "etc"):
        CLIENT_CONF.unlink()


def _claim_client_conf(etc: Path) -> None:
    """Link /run/slurm/conf to our configuration, unless a real SLURM install uses it."""
    if Path("/etc/slurm/slurm.conf").exists():
        pytest.fail("SLURM test cluster: /etc/slurm/slurm.conf exists; this machine has its own SLURM")
    if CLIENT_CONF.is_symlink() and not CLIENT_CONF.exists():
        CLIENT_CONF.unlink()  # left by an earlier run that was killed
    if CLIENT_CONF.exists():
        pytest.fail(f"SLURM test cluster: {CLIENT_CONF} is in use (another SLURM test running?)")
    CLIENT_CONF.parent.mkdir(parents=True, exist_ok=True)
    CLIENT_CONF.symlink_to(etc)


@pytest.fixture(scope="module")
def slurm_cluster() -> Iterator[Cluster]:
    missing = [p for p in PROGRAMS if shutil.which(p) is None]
    if missing:
        pytest.fail(f"SLURM test cluster: {', '.join(missing)} not found; apt-get install slurmctld slurmd "
                    "slurm-client munge")  # fmt: skip
    if os.geteuid() != 0:
        pytest.fail("SLURM test cluster: slurmd must run as root (it creates the jobs' cgroups)")
    root = Path(tempfile.mkdtemp(prefix="recrepro-slurm-"))
    root.chmod(0o755)  # munged requires a socket path everyone can traverse
    cluster: list[subprocess.Popen] = []
    try:
        for sub in ("munge", "state", "spool", "log", "etc"):
            (root / sub).mkdir(mode=0o755)
        key = root / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        munge = root / "munge"
        _start(cluster, root, "munged", "--foreground", f"--key-file={key}", f"--socket={munge}/munge.socket",
               f"--pid-file={munge}/munged.pid", f"--seed-file={munge}/munged.seed",
               f"--log-file={root}/log/munged.log")  # fmt: skip
        _wait("munged", (munge / "munge.socket").exists, root)
        node = subprocess.run(
            ["slurmd", "-C"], capture_output=True, text=True, check=True
        ).stdout.splitlines()[0]
        (root / "etc" / "slurm.conf").write_text(_slurm_conf(root, node))
        (root / "etc" / "cgroup.conf").write_text(CGROUP_CONF)
        _claim_client_conf(root / "etc")
        _start(cluster, root, "slurmctld", "-D")
        _start(cluster, root, "slurmd", "-D")
        _wait("the node", lambda: _node_idle(root), root)
        yield Cluster(root, root / "etc" / "slurm.conf")
    finally:
        _stop(cluster, root)
        shutil.rmtree(root, ignore_errors=True)


# -- the smoke study under SLURM -------------------------------------------------------------
PROFILE = ("--profile", "profiles/slurm", "--configfile", "config/smoke.yaml")
SUBMITTED = re.compile(r"submitted with SLURM jobid (\d+) \(log: \S*/rule_(\w+)/")
KILLED = re.compile(
    r"^recrepro: error: SLURM killed job train_and_evaluate "
    r"\(results/runs/ml-100k/random/two_tower/faithful, SLURM job \d+\): out of memory; "
    r"raise resources: \{train_and_evaluate: \{mem_mb: \.\.\.\}\} in the config \(now 450\), "
    r"then rerun: finished jobs are kept$",
    re.M,
)


@pytest.mark.slow
def test_smoke_study_on_slurm_matches_the_local_run_and_resumes_after_a_kill(
    slurm_cluster: Cluster, smoke_run: Path, tmp_path: Path, shared_data_dir: str
) -> None:
    workdir = workflow_copy(tmp_path / "work")
    shutil.copytree(ROOT / "profiles", workdir / "profiles")
    env = {"SLURM_CONF": str(slurm_cluster.conf)}

    # 1. Training jobs limited to 450 MB in the config (popularity fits; two_tower's TensorFlow
    #    does not: its RSS is ~0.85 GB, much of it file-backed pages the cgroup can reclaim, so
    #    800 MB did not kill it): SLURM kills two_tower, and the workflow
    #    stops with one line naming the job, the reason and the config key.
    config = yaml.safe_load((workdir / "config" / "smoke.yaml").read_text())
    config["resources"] = {"train_and_evaluate": {"mem_mb": 450}}
    (workdir / "config" / "lowmem.yaml").write_text(yaml.safe_dump(config))
    runs = [
        f"results/runs/ml-100k/random/{model}/faithful/seed1/metrics.json"
        for model in ("popularity", "two_tower")
    ]
    lowmem = (*runs, *PROFILE[:-1], "config/lowmem.yaml")  # targets first: --configfile takes a list
    killed = run_snakemake(workdir, *lowmem, data_dir=shared_data_dir, **env)
    assert killed.returncode != 0
    assert len(KILLED.findall(killed.stderr)) == 1, killed.stderr[-3000:]
    assert (workdir / runs[0]).is_file() and not (workdir / runs[1]).exists()
    done = [workdir / runs[0], *sorted((workdir / "results").glob("[ds]*/**/*.parquet"))]
    kept = {path: path.stat().st_mtime_ns for path in done}

    # 2. The README's command, with the default limits, resumes from the finished jobs.
    proc = run_snakemake(workdir, *PROFILE, data_dir=shared_data_dir, **env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert {path: path.stat().st_mtime_ns for path in done} == kept
    submitted = SUBMITTED.findall(proc.stderr)
    assert "prepare_data" not in {rule for _, rule in submitted}
    for pdf in ("main.pdf", "supplement.pdf"):
        assert (workdir / "paper" / pdf).read_bytes()[:5] == b"%PDF-", pdf

    # The SLURM run's numbers are the local run's, to the last digit.
    verify = subprocess.run(
        ["recrepro", "verify", "--current", str(workdir / "results" / "summary.csv"),
         "--reported", str(smoke_run / "results" / "summary.csv"), "--all-exact", "--atol", "0",
         "--rtol", "0"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert verify.returncode == 0, verify.stderr

    # A training job got the rule's threads, memory and runtime from SLURM.
    declared = block_defaults("resources")["train_and_evaluate"]  # the schema's defaults
    threads = yaml.safe_load((ROOT / "config" / "smoke.yaml").read_text())["threads_per_job"]
    job_id = next(job for job, rule in submitted if rule == "train_and_evaluate")
    job = slurm_cluster.job(job_id)
    assert job["JobState"] == "COMPLETED"
    assert int(job["NumCPUs"]) == int(job["CPUs/Task"]) == threads
    mem_mb, minutes = declared["mem_mb"], declared["runtime"]
    assert job["MinMemoryNode"] == f"{mem_mb}M"
    assert job["TimeLimit"] == f"{minutes // 60:02d}:{minutes % 60:02d}:00"
    assert job["Comment"].startswith("rule_train_and_evaluate_wildcards_")


def test_the_partition_and_account_lines_of_the_cluster_profile_reach_every_job(
    tmp_path: Path, shared_data_dir: str
) -> None:
    """README: uncomment slurm_partition / slurm_account in profiles/slurm/config.yaml (dry run)."""
    workdir = workflow_copy(tmp_path)
    shutil.copytree(ROOT / "profiles", workdir / "profiles")
    profile = workdir / "profiles" / "slurm" / "config.yaml"
    text = profile.read_text()
    for key in ("slurm_partition", "slurm_account"):
        assert f"  # {key}: " in text
        text = text.replace(f"  # {key}: ", f"  {key}: ")
    profile.write_text(text)
    proc = run_snakemake(workdir, "-n", *PROFILE, data_dir=shared_data_dir)
    assert proc.returncode == 0, proc.stderr[-2000:]
    jobs = re.findall(r"^rule (\w+):\n((?:    .*\n)+)", proc.stdout + proc.stderr, re.M)
    assert {rule for rule, _ in jobs} >= {"prepare_data", "train_and_evaluate", "compute_stats"}
    for rule, block in jobs:
        if rule not in {"summarize", "make_tables", "make_numbers", "make_figures", "compile_paper",
                        "compile_supplement", "all"}:
            assert "slurm_partition=standard" in block and "slurm_account=my_project" in block, rule
