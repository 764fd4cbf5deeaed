# Significance testing over the per-user metrics of every run (recrepro.stats).
# Needs RUNS / run_files() from common.smk; the stats: block of the config is passed as a param,
# so changing it re-runs the rule, and the code of recrepro.stats is an input, so editing it does.
from recrepro.core.layout import package_code


rule compute_stats:
    input:
        per_user=run_files("per_user.parquet"),
        metrics=run_files("metrics.json"),
        recrepro_code=package_code("stats"),  # not read: editing the statistics code reruns the rule
    output:
        pairwise="results/stats/pairwise.csv",
        friedman="results/stats/friedman.csv",
        ranks="results/stats/ranks.csv",
        cd_cliques="results/stats/cd_cliques.csv",
        seed_level="results/stats/seed_level.csv",
        power="results/stats/power.csv",
        agreement="results/stats/agreement.csv",
        calibration="results/stats/calibration.csv",
        aa_control="results/stats/aa_control.csv",
    params:
        stats=config["stats"],
    log:
        "results/logs/compute_stats.log",
    benchmark:
        "results/benchmarks/compute_stats.tsv"
    threads: 1
    script:
        "../scripts/compute_stats.py"
