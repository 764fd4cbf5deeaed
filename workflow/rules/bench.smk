# Where the time went: every job's Snakemake benchmark file -> tables and a figure.
#   snakemake bench   runs the study if needed, then writes results/benchmarks/summary.csv
#                     (per job), by_rule_model.csv and summary.png/.pdf. Not part of `rule all`.
# Benchmark files are outputs of the rules that declare them, so they are listed from the same
# config lists and RUNS as the study's own targets (never globbed). Include after every other rule.

BENCH_DIR = "results/benchmarks"


def _benchmark(name):
    """Rule `name`'s benchmark pattern, or None if it has no benchmark: directive."""
    return getattr(rules, name).benchmark if workflow.get_rule(name).benchmark else None


def study_benchmarks():
    """The benchmark file of every job `rule all` runs (rules without a benchmark are skipped)."""
    datasets, protocols, seeds = config["datasets"], config["protocols"], config["seeds"]
    jobs = {
        "prepare_data": [{"dataset": d} for d in datasets],
        "split_data": [
            {"dataset": d, "protocol": p, "seed": s}
            for d in datasets
            for p in protocols
            for s in seeds
        ],
        "train_and_evaluate": [run.as_dict() for run in RUNS],
        "tune_model": [
            {"dataset": d, "protocol": p, "model": m}
            for d in datasets
            for p in protocols
            for m in config["models"]
            if "tuned" in config["settings"]
        ],
        **{
            name: [{}]
            for name in ("compute_stats", "figure_data", "make_figures", "compile_paper", "compile_supplement")
            if not name.startswith("compile_") or COMPILE_PAPER
        },
    }
    files = []
    for name, wildcards in jobs.items():
        pattern = _benchmark(name)
        if pattern is not None:
            files += [str(pattern).format(**values) for values in wildcards]
    return list(dict.fromkeys(files))  # one per job: a train_and_evaluate job runs every seed


def benchmark_layouts():
    """Rule name -> benchmark path pattern relative to BENCH_DIR, for every rule that has one."""
    return {
        each.name: str(_benchmark(each.name)).removeprefix(f"{BENCH_DIR}/")
        for each in workflow.rules
        if each.benchmark
    }


localrules:
    bench,


rule bench:
    input:
        study_benchmarks(),
    output:
        summary=f"{BENCH_DIR}/summary.csv",
        by_rule_model=f"{BENCH_DIR}/by_rule_model.csv",
        figure=multiext(f"{BENCH_DIR}/summary", ".png", ".pdf"),
    params:
        layouts=lambda wildcards: as_json_arg(benchmark_layouts()),
    log:
        "results/logs/bench.log",
    shell:
        "recrepro --log {log} bench --benchmarks {BENCH_DIR} --out {output.summary}"
        " --layouts {params.layouts} {input}"
