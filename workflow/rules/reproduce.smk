# Reproduction check: this run's numbers against the ones committed under reported/.
#   snakemake verify            runs the study if needed, then checks results/summary.csv against
#                               reported/ (recrepro.tools.verify: each model's numbers by its rule, exact or
#                               a seed-spread margin, and the best-model conclusions on
#                               paper.main_metric; constants: the config's verify: block)
#   snakemake publish_reported  refreshes reported/ from this run (summary, stats, every run's per-user
#                               values in reported/per_user/, the figure data in reported/figdata/
#                               and what they read of the figures' runs in reported/figure_inputs/,
#                               paper, environment); `recrepro verify --stats` recomputes
#                               reported/stats/ and reported/figdata/ from reported/ alone (and the
#                               user's own copy of the dataset: ratings and titles are never published)
# Neither is in `rule all`. Needs as_json_arg() (common.smk), compute_stats (stats.smk) and
# PAPER, PAPER_INPUTS, FIGDATA (paper.smk).
import hashlib

from recrepro.report import published as figure_published
from recrepro.report.figdata import figure_settings

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
        numbers="results/verify.csv",
        conclusions="results/verify_conclusions.csv",
    params:
        # reported/ is deliberately not an input: it is an output of publish_reported, so Snakemake
        # would first refresh it from this very run, and the check would always pass. Its
        # checksums, as params, still rerun verify whenever reported/ changes.
        reported=f"{REPORTED}/summary.csv",
        reported_sha256=file_sha256(f"{REPORTED}/summary.csv"),
        pairwise=f"{REPORTED}/stats/pairwise.csv",
        pairwise_sha256=file_sha256(f"{REPORTED}/stats/pairwise.csv"),
        metric=PAPER.main_metric,
        tolerances=as_json_arg(config["verify"]),
    log:
        "results/logs/verify.log",
    shell:
        "recrepro --log {log} verify --current {input} --reported {params.reported}"
        " --pairwise {params.pairwise} --metric {params.metric} --tolerances {params.tolerances}"
        " --out {output.numbers} --conclusions-out {output.conclusions}"


PUBLISHED_TABLES = [p for p in registry.outputs(PAPER, "table") if p.endswith(".md")]
PUBLISHED_TABLES += ABLATION_TARGETS  # the ablation table (ablation.smk), CSV and Markdown
# the searches' convergence (curves.csv, convergence.csv) when the study tunes
PUBLISHED_TUNING = list(rules.tuning_curves.output) if "tuned" in config["settings"] else []


# the per-user values of every run, one compact file per (dataset, protocol) (recrepro.stats.published)
PUBLISHED_PER_USER = [
    f"{REPORTED}/per_user/{dataset}/{protocol}.parquet"
    for dataset in config["datasets"]
    for protocol in config["protocols"]
]
# what the figure data depend on besides the runs (recrepro.report.figdata.figure_settings); its
# per-user metrics are kept beside the tested ones
FIGURE_SETTINGS = figure_settings(PAPER)
FIGURE_METRICS = " ".join(FIGURE_SETTINGS["per_user_metrics"])
# what the figure data read of the figures' runs, compact (recrepro.report.published)
FIGURE_INPUTS = [f"{REPORTED}/{figure_published.FOLDER}/{name}" for name in
                 (figure_published.HISTORIES, figure_published.TOPK, figure_published.CONFIG_FILE)]  # fmt: skip


rule publish_reported:
    input:
        summary="results/summary.csv",
        stats=rules.compute_stats.output,
        per_user=run_files("per_user.parquet"),
        paper=["paper/main.pdf", "paper/supplement.pdf"],
        tables=PUBLISHED_TABLES,  # the paper's tables as Markdown
        tuning=PUBLISHED_TUNING,
        figure_data=list(FIGDATA.values()),
        history=PAPER_INPUTS["main_history"],  # in the figure_data rule's order
        topk=PAPER_INPUTS["main_topk"],
        provenance=run_files("provenance.json"),  # README.md describes these runs
    output:
        summary=f"{REPORTED}/summary.csv",
        stats=[f"{REPORTED}/stats/{Path(path).name}" for path in rules.compute_stats.output],
        tables=[f"{REPORTED}/tables/{Path(path).name}" for path in PUBLISHED_TABLES],
        tuning=[f"{REPORTED}/tuning/{Path(path).name}" for path in PUBLISHED_TUNING],
        per_user=PUBLISHED_PER_USER,
        per_user_config=f"{REPORTED}/per_user/stats_config.json",
        figure_data=[f"{REPORTED}/{figure_published.TABLES_FOLDER}/{Path(path).name}" for path in FIGDATA.values()],
        figure_inputs=FIGURE_INPUTS,
        paper=[f"{REPORTED}/main.pdf", f"{REPORTED}/supplement.pdf"],
        environment=f"{REPORTED}/environment.txt",
        readme=f"{REPORTED}/README.md",
    params:
        stats=as_json_arg(config["stats"]),  # the tests' settings, recorded beside the per-user values
        figure_metrics=FIGURE_METRICS,
        figure_settings=as_json_arg(FIGURE_SETTINGS),
        exploratory=" ".join(PAPER.exploratory_protocols),
    log:
        "results/logs/publish_reported.log",
    shell:
        "recrepro --log {log} publish-reported --summary {input.summary} --stats {input.stats}"
        " --tables {input.tables} --tuning {input.tuning} --paper {input.paper} --out {REPORTED}"
        " --per-user {input.per_user} --stats-config {params.stats}"
        " --figure-metrics {params.figure_metrics} --figure-data {input.figure_data}"
        " --history {input.history} --topk {input.topk} --figure-settings {params.figure_settings}"
        " --provenance {input.provenance} --exploratory {params.exploratory}"
