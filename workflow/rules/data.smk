# Raw GroupLens files -> tidy Parquet tables -> one split per (dataset, protocol, seed). Every path
# is recrepro.core.layout's (the one home of the results layout).
from recrepro.core import layout


rule prepare_data:
    output:
        layout.data_files("{dataset}"),
    params:
        # The raw files' verified content (common.smk), not their folder: the same files
        # elsewhere rerun nothing. RECREPRO_DATA_DIR, if set, wins over --data-dir.
        content=lambda wildcards: DATA_CONTENT[wildcards.dataset],
    log:
        layout.job_log("prepare_data", "{dataset}"),
    benchmark:
        layout.benchmark_file("prepare_data", "{dataset}")
    shell:
        "recrepro --log {log} prepare-data --dataset {wildcards.dataset}"
        " --data-dir {DATA_DIR_ARG} --cache-dir data/raw --out " + layout.data_dir("{wildcards.dataset}")


rule protocol_source:
    # The rows of a published split (recrepro.data.splits: tfrs_tutorial via TFDS, grouplens_*
    # from GroupLens' fold files), written once and shared by every seed's split.
    input:
        layout.data_file("{dataset}", "ratings"),  # the dataset was located and verified
    output:
        layout.source_file("{dataset}", "{protocol}"),
    log:
        layout.job_log("protocol_source", "{dataset}/{protocol}"),
    benchmark:
        layout.benchmark_file("protocol_source", "{dataset}/{protocol}")
    shell:
        "recrepro --log {log} source --dataset {wildcards.dataset} --protocol {wildcards.protocol}"
        " --data-dir {DATA_DIR_ARG} --cache-dir data/raw --out {output}"


def split_source(wildcards):
    """The source frame of a published split; drawn protocols need none."""
    if not PROTOCOLS[wildcards.protocol].source:
        return []
    return layout.source_file(wildcards.dataset, wildcards.protocol)


rule split_data:
    input:
        ratings=layout.data_file("{dataset}", "ratings"),
        source=split_source,
    output:
        layout.split_files("{dataset}", "{protocol}", "{seed}"),
    params:
        valid=config["split"]["valid_fraction"],
        test=config["split"]["test_fraction"],
        test_seed=config["split"]["test_seed"],
        source=lambda w, input: f"--source {input.source}" if input.source else "",
    log:
        layout.job_log("split_data", layout.split_key("{dataset}", "{protocol}", "{seed}")),
    benchmark:
        layout.benchmark_file("split_data", layout.split_key("{dataset}", "{protocol}", "{seed}"))
    shell:
        "recrepro --log {log} split --dataset {wildcards.dataset} --protocol {wildcards.protocol}"
        " --seed {wildcards.seed} --valid {params.valid} --test {params.test}"
        " --test-seed {params.test_seed} {params.source}"
        " --data " + layout.data_dir("{wildcards.dataset}") + " --out "
        + layout.split_dir("{wildcards.dataset}", "{wildcards.protocol}", "{wildcards.seed}")
