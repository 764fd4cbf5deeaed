# One job per (dataset, protocol, model, setting, seed): fit, evaluate, write the run's files.
from recrepro.runs import RUN_FILES

RUN_DIR = "results/runs/{dataset}/{protocol}/{model}/{setting}/seed{seed}"


def tuned_params(wildcards):
    """The tuned setting reads the hyperparameters chosen by `tune_model`."""
    if wildcards.setting != "tuned":
        return []
    return f"results/tuning/{wildcards.dataset}/{wildcards.protocol}/{wildcards.model}.json"


rule train_and_evaluate:
    input:
        data=expand(
            "results/data/{{dataset}}/{table}.parquet", table=["ratings", "items", "users"]
        ),
        split=expand(
            "results/splits/{{dataset}}/{{protocol}}/seed{{seed}}/{part}.parquet",
            part=["train", "valid", "test"],
        ),
        tuned=tuned_params,
    output:
        [f"{RUN_DIR}/{name}" for name in RUN_FILES],
    params:
        model=lambda w: as_json_arg(config["models"][w.model]),
        evaluation=as_json_arg(config["evaluation"]),
        tuned=lambda w, input: f"--params-file {input.tuned}" if input.tuned else "",
    threads: config["threads_per_job"]
    resources:
        mem_mb=4000,
        runtime=60,
    log:
        f"results/logs/train_and_evaluate/{RUN_DIR.removeprefix('results/runs/')}.log",
    benchmark:
        f"results/benchmarks/train_and_evaluate/{RUN_DIR.removeprefix('results/runs/')}.tsv"
    shell:
        "recrepro --threads {threads} --log {log} train-evaluate"
        " --dataset {wildcards.dataset} --protocol {wildcards.protocol} --model {wildcards.model}"
        " --setting {wildcards.setting} --seed {wildcards.seed}"
        " --params {params.model} {params.tuned} --evaluation {params.evaluation}"
        " --data results/data/{wildcards.dataset}"
        " --split results/splits/{wildcards.dataset}/{wildcards.protocol}/seed{wildcards.seed}"
        " --out $(dirname {output[0]})"


localrules:
    summarize,


rule summarize:
    input:
        run_files("metrics.json"),
    output:
        summary="results/summary.csv",
        skipped="results/skipped.csv",  # runs whose model refused the dataset, with the reason
    log:
        "results/logs/summarize.log",
    shell:
        "recrepro --log {log} summarize --out {output.summary} --skipped {output.skipped} {input}"


def tuning_metric(model):
    """Rating-only models are tuned on validation RMSE, the others on validation NDCG@10."""
    tuning = config["tuning"]  # validated: trials, seed and metric have their schema defaults
    return tuning.get("metrics", {}).get(model, tuning["metric"])


rule tune_model:
    input:
        data=expand(
            "results/data/{{dataset}}/{table}.parquet", table=["ratings", "items", "users"]
        ),
        split=expand(
            "results/splits/{{dataset}}/{{protocol}}/seed%d/{part}.parquet" % config["seeds"][0],
            part=["train", "valid"],  # the test part is never an input of model selection
        ),
    output:
        "results/tuning/{dataset}/{protocol}/{model}.json",
    params:
        model=lambda w: as_json_arg(config["models"][w.model]),
        space=lambda w: as_json_arg(config["tuning"].get("spaces", {}).get(w.model, {})),
        trials=config["tuning"]["trials"],
        seed=config["tuning"]["seed"],
        metric=lambda w: tuning_metric(w.model),
        split=lambda w, input: Path(input.split[0]).parent,
    threads: config["threads_per_job"]
    resources:
        mem_mb=4000,
        runtime=240,
    log:
        "results/logs/tune_model/{dataset}/{protocol}/{model}.log",
    benchmark:
        "results/benchmarks/tune_model/{dataset}/{protocol}/{model}.tsv"
    shell:
        "recrepro --threads {threads} --log {log} tune --dataset {wildcards.dataset}"
        " --protocol {wildcards.protocol} --model {wildcards.model} --params {params.model}"
        " --space {params.space} --trials {params.trials} --metric {params.metric}"
        " --seed {params.seed} --data results/data/{wildcards.dataset} --split {params.split}"
        " --out {output}"
