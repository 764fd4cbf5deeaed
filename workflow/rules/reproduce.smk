# Reproduction check: this run's numbers against the ones committed under reported/.
#   snakemake verify            runs the study if needed, then compares results/summary.csv with
#                               reported/summary.csv (tolerances: the config's verify: block)
#   snakemake publish_reported  refreshes reported/ from this run (summary, stats, paper, environment)
# Neither is in `rule all`. Needs as_json_arg() (common.smk) and compute_stats (stats.smk).
import hashlib

REPORTED = "reported"


def file_sha256(path):
    """SHA-256 of a file, or "missing"."""
    path = Path(path)
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"


localrules:
    verify,
    publish_reported,


rule verify:
    input:
        "results/summary.csv",
    output:
        "results/verify.csv",
    params:
        # reported/summary.csv is deliberately not an input: it is an output of publish_reported, so
        # Snakemake would first refresh it from this very run, and the check would always pass. Its
        # checksum, as a param, still reruns verify whenever reported/ changes.
        reported=f"{REPORTED}/summary.csv",
        reported_sha256=file_sha256(f"{REPORTED}/summary.csv"),
        tolerances=as_json_arg(config["verify"]),
    log:
        "results/logs/verify.log",
    shell:
        "recrepro --log {log} verify --current {input} --reported {params.reported}"
        " --tolerances {params.tolerances} --out {output}"


PUBLISHED_TABLES = [p for p in registry.outputs(PAPER, "table") if p.endswith(".md")]


rule publish_reported:
    input:
        summary="results/summary.csv",
        stats=rules.compute_stats.output,
        paper="paper/main.pdf",
        tables=PUBLISHED_TABLES,  # the paper's tables as Markdown
    output:
        summary=f"{REPORTED}/summary.csv",
        stats=[f"{REPORTED}/stats/{Path(path).name}" for path in rules.compute_stats.output],
        tables=[f"{REPORTED}/tables/{Path(path).name}" for path in PUBLISHED_TABLES],
        paper=f"{REPORTED}/main.pdf",
        environment=f"{REPORTED}/environment.txt",
    log:
        "results/logs/publish_reported.log",
    shell:
        "recrepro --log {log} publish-reported --summary {input.summary} --stats {input.stats}"
        " --tables {input.tables} --paper {input.paper} --out {REPORTED}"
