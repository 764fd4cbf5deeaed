# One job per (dataset, protocol, model, setting): fit and evaluate the model on every seed's
# split in one process (TensorFlow, 4-5 CPU-s to import, is imported once), writing each run's
# files in its run folder (recrepro.core.layout.run_dir). The job's CPU record (recrepro.core.cputime) sits
# beside its benchmark file. Every path is recrepro.core.layout's.
from recrepro.core import layout
from recrepro.core.layout import RUN_FILES

GROUP_KEY = layout.group_key("{dataset}", "{protocol}", "{model}", "{setting}")  # one job's runs
SEARCH_KEY = layout.search_key("{dataset}", "{protocol}", "{model}")  # one job's searches
SEEDS = config["seeds"]


TUNING_RECORD = layout.tuning_record("{dataset}", "{protocol}", "{model}", "{seed}")


def tuned_params(wildcards):
    """The tuned setting reads each seed's own search's winner (`tune_model`)."""
    if wildcards.setting != "tuned":
        return []
    return expand(TUNING_RECORD, seed=SEEDS, dataset=wildcards.dataset,
                  protocol=wildcards.protocol, model=searched_model(wildcards.model))


def cpu_record(rule, key):
    """The job's exact CPU seconds, beside its benchmark file (recrepro.core.cputime)."""
    from recrepro.core.cputime import record_path

    return str(record_path(layout.benchmark_file(rule, key)))


TUNING = config["tuning"]  # defaults filled in by the schema


def tuning_metric(model):
    """The validation metric the study tunes `model` on (`tuning.metrics`, else `tuning.metric`):
    the search selects on it, and every fit (search trial and run) validates and early-stops on it."""
    from recrepro.study.tuning import selection_metric

    return selection_metric(TUNING, model)


rule train_and_evaluate:
    input:
        data=layout.data_files("{dataset}"),
        split=layout.split_files("{dataset}", "{protocol}", SEEDS),
        tuned=tuned_params,
    output:
        [
            f"{layout.run_dir('{dataset}', '{protocol}', '{model}', '{setting}', seed)}/{name}"
            for seed in SEEDS
            for name in RUN_FILES
        ],
    params:
        model=lambda w: as_json_arg(model_params(w.model)),
        evaluation=as_json_arg(config["evaluation"]),
        # "{seed}" is left for recrepro to fill in per run: each seed reads its own search (an
        # ablation its model's, with the removal fixed on top)
        tuned=lambda w: (
            "--params-file '" + TUNING_RECORD.format(
                seed="{seed}", dataset=w.dataset, protocol=w.protocol, model=searched_model(w.model)
            ) + "'" + (" --fixed " + as_json_arg(config["ablations"][w.model])
                       if w.model in config["ablations"] else "")
            if w.setting == "tuned" else ""
        ),
        seeds=" ".join(str(seed) for seed in SEEDS),
        # per-epoch validation and early stopping follow the metric the study tunes on
        metric=lambda w: tuning_metric(searched_model(w.model)),
        # "{seed}" is left for recrepro to fill in per run
        split=lambda w: layout.split_dir(w.dataset, w.protocol, "{seed}"),
        out=lambda w: layout.run_dir(w.dataset, w.protocol, w.model, w.setting, "{seed}"),
    threads: config["threads_per_job"]
    resources:
        mem_mb=config["resources"]["train_and_evaluate"]["mem_mb"],
        runtime=config["resources"]["train_and_evaluate"]["runtime"],
    log:
        main=layout.job_log("train_and_evaluate", GROUP_KEY),
        cpu=cpu_record("train_and_evaluate", GROUP_KEY),
    benchmark:
        layout.benchmark_file("train_and_evaluate", GROUP_KEY)
    shell:
        "recrepro --threads {threads} --log {log.main} --cpu-record {log.cpu} train-evaluate"
        " --dataset {wildcards.dataset} --protocol {wildcards.protocol} --model {wildcards.model}"
        " --setting {wildcards.setting} --seed {params.seeds}"
        " --params {params.model} {params.tuned} --evaluation {params.evaluation}"
        " --validation-metric {params.metric} --data " + layout.data_dir("{wildcards.dataset}") +
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


# One search per seed, each on that seed's train/valid parts, in one process per (dataset,
# protocol, model) (TensorFlow is imported once). The test part is never an input here.
rule tune_model:
    input:
        data=layout.data_files("{dataset}"),
        # the test part is never an input of model selection
        split=layout.split_files("{dataset}", "{protocol}", SEEDS, parts=("train", "valid")),
    output:
        [TUNING_RECORD.replace("{seed}", str(seed)) for seed in SEEDS],
    # Tuning jobs are the longest and gate every tuned run: start them before the runs, or the
    # last search finishes alone on an otherwise idle machine.
    priority: 10
    params:
        model=lambda w: as_json_arg(config["models"][w.model]),
        space=lambda w: as_json_arg(TUNING["spaces"].get(w.model, {})),
        pruning=as_json_arg(TUNING["pruning"]),
        trials=TUNING["trials"],
        tuning_seed=TUNING["seed"],
        seeds=" ".join(str(seed) for seed in SEEDS),
        metric=lambda w: tuning_metric(w.model),
        split=lambda w: layout.split_dir(w.dataset, w.protocol, "{seed}"),
        out=lambda w: layout.tuning_record(w.dataset, w.protocol, w.model, "{seed}"),
    threads: config["threads_per_job"]
    resources:
        mem_mb=config["resources"]["tune_model"]["mem_mb"],
        runtime=config["resources"]["tune_model"]["runtime"],
    log:
        main=layout.job_log("tune_model", SEARCH_KEY),
        cpu=cpu_record("tune_model", SEARCH_KEY),
    benchmark:
        layout.benchmark_file("tune_model", SEARCH_KEY)
    shell:
        "recrepro --threads {threads} --log {log.main} --cpu-record {log.cpu} tune"
        " --dataset {wildcards.dataset} --protocol {wildcards.protocol} --model {wildcards.model}"
        " --seed {params.seeds} --params {params.model} --space {params.space}"
        " --trials {params.trials} --metric {params.metric} --tuning-seed {params.tuning_seed}"
        " --pruning {params.pruning} --data " + layout.data_dir("{wildcards.dataset}") +
        " --split '{params.split}' --out '{params.out}'"


localrules:
    tuning_curves,


# After tuning and the tuned runs: every search's incumbent after n trials, and per model the
# plateau rule, the replicate spread and the search's CPU (the tuning-budget figure). Reads
# tuning records (validation only) and the tuned runs' metrics; fits nothing.
rule tuning_curves:
    input:
        records=[
            layout.tuning_record(d, p, m, s)
            for d in config["datasets"]
            for p in config["protocols"]
            for m in config["models"]
            for s in SEEDS
        ] if "tuned" in config["settings"] else [],
        tuned_runs=run_files("metrics.json", setting="tuned"),
    output:
        curves=layout.tuning_table("curves"),
        convergence=layout.tuning_table("convergence"),
    params:
        main_metric=lambda w: PAPER.main_metric,  # paper.smk
    log:
        "results/logs/tuning_curves.log",
    shell:
        "recrepro --log {log} tuning-curves --main-metric {params.main_metric}"
        " --curves {output.curves} --convergence {output.convergence}"
        " --tuned-runs {input.tuned_runs} --records {input.records}"
