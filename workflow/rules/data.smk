# Raw GroupLens files -> tidy Parquet tables -> one split per (dataset, protocol, seed).


rule prepare_data:
    output:
        expand("results/data/{{dataset}}/{table}.parquet", table=["ratings", "items", "users"]),
    params:
        # The raw files' verified content (common.smk), not their folder: the same files
        # elsewhere rerun nothing. RECREPRO_DATA_DIR, if set, wins over --data-dir.
        content=lambda wildcards: DATA_CONTENT[wildcards.dataset],
    log:
        "results/logs/prepare_data/{dataset}.log",
    benchmark:
        "results/benchmarks/prepare_data/{dataset}.tsv"
    shell:
        "recrepro --log {log} prepare-data --dataset {wildcards.dataset}"
        " --data-dir {DATA_DIR_ARG} --cache-dir data/raw --out results/data/{wildcards.dataset}"


rule protocol_source:
    # The rows of a published split (recrepro.data.splits: tfrs_tutorial via TFDS, grouplens_*
    # from GroupLens' fold files), written once and shared by every seed's split.
    input:
        "results/data/{dataset}/ratings.parquet",  # the dataset was located and verified
    output:
        "results/data/{dataset}/sources/{protocol}.parquet",
    log:
        "results/logs/protocol_source/{dataset}/{protocol}.log",
    benchmark:
        "results/benchmarks/protocol_source/{dataset}/{protocol}.tsv"
    shell:
        "recrepro --log {log} source --dataset {wildcards.dataset} --protocol {wildcards.protocol}"
        " --data-dir {DATA_DIR_ARG} --cache-dir data/raw --out {output}"


def split_source(wildcards):
    """The source frame of a published split; drawn protocols need none."""
    if not PROTOCOLS[wildcards.protocol].source:
        return []
    return f"results/data/{wildcards.dataset}/sources/{wildcards.protocol}.parquet"


rule split_data:
    input:
        ratings="results/data/{dataset}/ratings.parquet",
        source=split_source,
    output:
        expand(
            "results/splits/{{dataset}}/{{protocol}}/seed{{seed}}/{part}.parquet",
            part=["train", "valid", "test"],
        ),
    params:
        valid=config["split"]["valid_fraction"],
        test=config["split"]["test_fraction"],
        test_seed=config["split"]["test_seed"],
        source=lambda w, input: f"--source {input.source}" if input.source else "",
    log:
        "results/logs/split_data/{dataset}/{protocol}/seed{seed}.log",
    benchmark:
        "results/benchmarks/split_data/{dataset}/{protocol}/seed{seed}.tsv"
    shell:
        "recrepro --log {log} split --dataset {wildcards.dataset} --protocol {wildcards.protocol}"
        " --seed {wildcards.seed} --valid {params.valid} --test {params.test}"
        " --test-seed {params.test_seed} {params.source}"
        " --data results/data/{wildcards.dataset}"
        " --out results/splits/{wildcards.dataset}/{wildcards.protocol}/seed{wildcards.seed}"
