# One job per (dataset, protocol, model, setting): fit and evaluate the model on every seed's
# split in one process (TensorFlow, 4-5 CPU-s to import, is imported once), writing each run's
# files under RUN_GROUP/seed<N>. The job's CPU record (recrepro.cputime) sits beside its benchmark file.
from recrepro.runs import RUN_FILES

RUN_GROUP = "results/runs/{dataset}/{protocol}/{model}/{setting}"
SEEDS = config["seeds"]


def tuned_params(wildcards):
    """The tuned setting reads the hyperparameters chosen by `tune_model`."""
    if wildcards.setting != "tuned":
        return []
    return f"results/tuning/{wildcards.dataset}/{wildcards.protocol}/{wildcards.model}.json"


def job_log(rule, key):
    return f"results/logs/{rule}/{key}.log"


def cpu_record(rule, key):
    """The job's exact CPU seconds, beside its benchmark file (recrepro.cputime)."""
    return f"results/benchmarks/{rule}/{key}.cpu.json"


rule train_and_evaluate:
    input:
        data=expand(
            "results/data/{{dataset}}/{table}.parquet", table=["ratings", "items", "users"]
        ),
        split=expand(
            "results/splits/{{dataset}}/{{protocol}}/seed{seed}/{part}.parquet",
            seed=SEEDS,
            part=["train", "valid", "test"],
        ),
        tuned=tuned_params,
    output:
        [f"{RUN_GROUP}/seed{seed}/{name}" for seed in SEEDS for name in RUN_FILES],
    params:
        model=lambda w: as_json_arg(config["models"][w.model]),
        evaluation=as_json_arg(config["evaluation"]),
        tuned=lambda w, input: f"--params-file {input.tuned}" if input.tuned else "",
        seeds=" ".join(str(seed) for seed in SEEDS),
        # "{seed}" is left for recrepro to fill in per run
        split=lambda w: f"results/splits/{w.dataset}/{w.protocol}/seed{{seed}}",
        out=lambda w: RUN_GROUP.format(**w) + "/seed{seed}",
    threads: config["threads_per_job"]
    resources:
        mem_mb=config["resources"]["train_and_evaluate"]["mem_mb"],
        runtime=config["resources"]["train_and_evaluate"]["runtime"],
    log:
        main=job_log("train_and_evaluate", RUN_GROUP.removeprefix("results/runs/")),
        cpu=cpu_record("train_and_evaluate", RUN_GROUP.removeprefix("results/runs/")),
    benchmark:
        f"results/benchmarks/train_and_evaluate/{RUN_GROUP.removeprefix('results/runs/')}.tsv"
    shell:
        "recrepro --threads {threads} --log {log.main} --cpu-record {log.cpu} train-evaluate"
        " --dataset {wildcards.dataset} --protocol {wildcards.protocol} --model {wildcards.model}"
        " --setting {wildcards.setting} --seed {params.seeds}"
        " --params {params.model} {params.tuned} --evaluation {params.evaluation}"
        " --data results/data/{wildcards.dataset}"
        " --split '{params.split}' --out '{params.out}'"


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


TUNING = config["tuning"]  # defaults filled in by the schema
FIRST_SEED = config["seeds"][0]  # tuning uses this seed's train/valid parts only


def tuning_metric(model):
    """Rating-only models are tuned on validation RMSE, the others on validation NDCG@10."""
    from recrepro.tuning import selection_metric

    return selection_metric(TUNING, model)


rule tune_model:
    input:
        data=expand(
            "results/data/{{dataset}}/{table}.parquet", table=["ratings", "items", "users"]
        ),
        split=expand(
            "results/splits/{{dataset}}/{{protocol}}/seed%d/{part}.parquet" % FIRST_SEED,
            part=["train", "valid"],  # the test part is never an input of model selection
        ),
    output:
        "results/tuning/{dataset}/{protocol}/{model}.json",
    # Tuning jobs are the longest and gate every tuned run: start them before the runs, or the
    # last search finishes alone on an otherwise idle machine.
    priority: 10
    params:
        model=lambda w: as_json_arg(config["models"][w.model]),
        space=lambda w: as_json_arg(TUNING["spaces"].get(w.model, {})),
        trials=TUNING["trials"],
        seed=TUNING["seed"],
        metric=lambda w: tuning_metric(w.model),
        split=lambda w, input: Path(input.split[0]).parent,
    threads: config["threads_per_job"]
    resources:
        mem_mb=config["resources"]["tune_model"]["mem_mb"],
        runtime=config["resources"]["tune_model"]["runtime"],
    log:
        main=job_log("tune_model", "{dataset}/{protocol}/{model}"),
        cpu=cpu_record("tune_model", "{dataset}/{protocol}/{model}"),
    benchmark:
        "results/benchmarks/tune_model/{dataset}/{protocol}/{model}.tsv"
    shell:
        "recrepro --threads {threads} --log {log.main} --cpu-record {log.cpu} tune"
        " --dataset {wildcards.dataset}"
        " --protocol {wildcards.protocol} --model {wildcards.model} --params {params.model}"
        " --space {params.space} --trials {params.trials} --metric {params.metric}"
        " --seed {params.seed} --data results/data/{wildcards.dataset} --split {params.split}"
        " --out {output}"


# After tuning: the test score of the incumbent after 1, 2, 4, ... trials (tuning-budget figure).
# It reads the test part, so it is a separate rule downstream of tune_model, never part of it.
rule tuning_budget:
    input:
        record="results/tuning/{dataset}/{protocol}/{model}.json",
        final_run=f"results/runs/{{dataset}}/{{protocol}}/{{model}}/tuned/seed{FIRST_SEED}/metrics.json",
        data=expand(
            "results/data/{{dataset}}/{table}.parquet", table=["ratings", "items", "users"]
        ),
        split=expand(
            "results/splits/{{dataset}}/{{protocol}}/seed%d/{part}.parquet" % FIRST_SEED,
            part=["train", "valid", "test"],
        ),
    output:
        "results/tuning/{dataset}/{protocol}/{model}.budget.csv",
    params:
        budgets=as_json_arg(TUNING["budgets"]),
        evaluation=as_json_arg(config["evaluation"]),
        first_seed=FIRST_SEED,
        split=lambda w, input: Path(input.split[0]).parent,
    threads: config["threads_per_job"]
    resources:
        mem_mb=config["resources"]["tuning_budget"]["mem_mb"],
        runtime=config["resources"]["tuning_budget"]["runtime"],
    log:
        main=job_log("tuning_budget", "{dataset}/{protocol}/{model}"),
        cpu=cpu_record("tuning_budget", "{dataset}/{protocol}/{model}"),
    benchmark:
        "results/benchmarks/tuning_budget/{dataset}/{protocol}/{model}.tsv"
    shell:
        "recrepro --threads {threads} --log {log.main} --cpu-record {log.cpu} tuning-budget"
        " --record {input.record}"
        " --budgets {params.budgets} --first-seed {params.first_seed} --final-run {input.final_run}"
        " --evaluation {params.evaluation}"
        " --data results/data/{wildcards.dataset} --split {params.split} --out {output}"
