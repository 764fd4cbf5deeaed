# The reproduction table: every published number (config/reference_numbers.csv) beside ours.
#   snakemake reproduce --cores 4 --configfile config/reproduce.yaml
# Builds only the runs the rows need (their models and their nulls on their protocols, faithful
# setting, every seed, through train_and_evaluate), the sources' own code where a row asks for it
# (experiment:<name>, recrepro.experiments; a deterministic one runs the first seed only; one that
# makes its own folds needs no split), then results/reproduction/table.{csv,md}.
# Rows whose model or protocol the config does not run are listed as "not run".
from recrepro.report.reproduction import load_references, needed_results

REFERENCES = "config/reference_numbers.csv"
REPRODUCTION_DATASET = config["datasets"][0]


localrules:
    reproduce,
    reproduction_table,


rule reproduce:
    input:
        "results/reproduction/table.csv",
        "results/reproduction/table.md",


rule reproduction_table:
    input:
        references=REFERENCES,
        results=[
            str(path)
            for path in needed_results(
                load_references(REFERENCES), REPRODUCTION_DATASET, config["seeds"],
                config["models"], config["protocols"], experiments=config["experiments"],
            )
        ],  # fmt: skip
    output:
        csv="results/reproduction/table.csv",
        md="results/reproduction/table.md",
    params:
        seeds=" ".join(str(seed) for seed in config["seeds"]),
    log:
        "results/logs/reproduction_table.log",
    shell:
        "recrepro --log {log} reproduction --references {input.references}"
        " --dataset {REPRODUCTION_DATASET} --seeds {params.seeds} --results results"
        " --out {output.csv} --markdown {output.md}"


def experiment_split(wildcards):
    """The split an experiment runs on; none when the source makes its own folds."""
    from recrepro.experiments import EXPERIMENTS

    if not EXPERIMENTS[wildcards.experiment].needs_split:
        return []
    return expand(
        "results/splits/{dataset}/{protocol}/seed{seed}/{part}.parquet",
        part=["train", "valid", "test"], **wildcards,
    )  # fmt: skip


def experiment_split_arg(wildcards):
    from recrepro.experiments import EXPERIMENTS

    if not EXPERIMENTS[wildcards.experiment].needs_split:
        return ""
    return f"--split results/splits/{wildcards.dataset}/{wildcards.protocol}/seed{wildcards.seed}"


rule reproduction_experiment:
    wildcard_constraints:
        protocol="[a-z0-9_]+",  # a study protocol, or the label of a source's own folds
    input:
        data=expand("results/data/{{dataset}}/{table}.parquet", table=["ratings", "items", "users"]),
        split=experiment_split,
    output:
        "results/reproduction/{dataset}/{protocol}/{experiment}/seed{seed}.json",
    params:
        split=experiment_split_arg,
    log:
        "results/logs/reproduction_experiment/{dataset}/{protocol}/{experiment}/seed{seed}.log",
    benchmark:
        "results/benchmarks/reproduction_experiment/{dataset}/{protocol}/{experiment}/seed{seed}.tsv"
    shell:
        "recrepro --log {log} experiment --name {wildcards.experiment} --seed {wildcards.seed}"
        " --data results/data/{wildcards.dataset} {params.split} --out {output}"


localrules:
    publish_reproduction,


rule publish_reproduction:
    # Writes the table into reported/ and refreshes the README's "Reproduction" block from it.
    # reported/reproduction.{csv,md} are deliberately not outputs: the paper reads the committed
    # table as a source file, so no run of the default study can rebuild it from its own config.
    input:
        references=REFERENCES,
        table="results/reproduction/table.csv",
    output:
        touch("results/reproduction/published.flag"),
    params:
        seeds=" ".join(str(seed) for seed in config["seeds"]),
        csv=f"{REPORTED}/reproduction.csv",
        md=f"{REPORTED}/reproduction.md",
    log:
        "results/logs/publish_reproduction.log",
    shell:
        "recrepro --log {log} reproduction --references {input.references}"
        " --dataset {REPRODUCTION_DATASET} --seeds {params.seeds} --results results"
        " --out {params.csv} --markdown {params.md} --readme README.md"
