# Raw GroupLens files -> tidy Parquet tables -> one split per (dataset, protocol, seed).


rule prepare_data:
    output:
        expand("results/data/{{dataset}}/{table}.parquet", table=["ratings", "items", "users"]),
    params:
        data_dir=config["data_dir"] or "",
    log:
        "results/logs/prepare_data/{dataset}.log",
    benchmark:
        "results/benchmarks/prepare_data/{dataset}.tsv"
    shell:
        "recrepro --log {log} prepare-data --dataset {wildcards.dataset}"
        " --data-dir '{params.data_dir}' --cache-dir data/raw --out results/data/{wildcards.dataset}"


rule split_data:
    input:
        "results/data/{dataset}/ratings.parquet",
    output:
        expand(
            "results/splits/{{dataset}}/{{protocol}}/seed{{seed}}/{part}.parquet",
            part=["train", "valid", "test"],
        ),
    params:
        valid=config["split"]["valid_fraction"],
        test=config["split"]["test_fraction"],
    log:
        "results/logs/split_data/{dataset}/{protocol}/seed{seed}.log",
    benchmark:
        "results/benchmarks/split_data/{dataset}/{protocol}/seed{seed}.tsv"
    shell:
        "recrepro --log {log} split --dataset {wildcards.dataset} --protocol {wildcards.protocol}"
        " --seed {wildcards.seed} --valid {params.valid} --test {params.test}"
        " --data results/data/{wildcards.dataset}"
        " --out results/splits/{wildcards.dataset}/{wildcards.protocol}/seed{wildcards.seed}"
