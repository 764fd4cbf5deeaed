# recrepro: from raw GroupLens data to per-run metrics, statistics, tables, figures and the paper.
# Run `snakemake --cores 4` (default study) or `snakemake --cores 2 --configfile config/smoke.yaml`.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/runs.smk"


rule all:
    input:
        "results/summary.csv",
