# The ablation table (config `ablations:`): each seed model's addition removed, on the main
# protocol, faithful and tuned (the model's own searches' winners with the removal fixed on top,
# no search of its own: recrepro.stats.ablation). The runs go through train_and_evaluate
# (runs.smk's model_params/searched_model give an ablation its hyperparameters); they are not
# study models, so no table, test or figure of the study sees them.
from recrepro.core.layout import package_code

ABLATION_PROTOCOL = PAPER.main_protocol
# the per-user ranking metrics of the main table (not rating errors, coverage or cost)
ABLATION_METRICS = [PAPER.main_metric] + [
    m for m in PAPER.headline_metrics
    if m != PAPER.main_metric and m.split("@")[0] in ("recall", "hit", "map", "ndcg", "precision")
]


def ablation_per_user():
    """per_user.parquet of every ablation and of its model, every setting and seed."""
    models = list(config["ablations"]) + [searched_model(a) for a in config["ablations"]]
    return [
        str(RunKey(dataset, ABLATION_PROTOCOL, model, setting, seed).path() / "per_user.parquet")
        for dataset in config["datasets"][:1]
        for model in dict.fromkeys(models)
        for setting in config["settings"]
        for seed in config["seeds"]
    ]


ABLATION_TARGETS = ["results/ablation/ablation.csv", "results/ablation/ablation.md"] \
    if config["ablations"] else []


localrules:
    ablation_table,


rule ablation_table:
    input:
        per_user=ablation_per_user(),
        recrepro_code=package_code("stats"),  # not read: editing the statistics code reruns the rule
    output:
        csv="results/ablation/ablation.csv",
        md="results/ablation/ablation.md",
    params:
        ablations=as_json_arg(config["ablations"]),
        metrics=" ".join(ABLATION_METRICS),
    log:
        "results/logs/ablation_table.log",
    shell:
        "recrepro --log {log} ablation --ablations {params.ablations} --metrics {params.metrics}"
        " --out {output.csv} --markdown {output.md} {input.per_user}"
