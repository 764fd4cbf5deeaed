# recrepro: from raw GroupLens data to per-run metrics, statistics, tables, figures and the paper.
# Run `snakemake --cores 4` (default study) or `snakemake --cores 2 --configfile config/smoke.yaml`.
import sys

from snakemake.utils import min_version

from recrepro.core.config import load_yaml
from recrepro.core.errors import ConfigError

min_version("9.0")


# The default study, unless --configfile names another one. (Snakemake would otherwise merge the
# two, and e.g. the smoke config would inherit every model of the default study.)
if not workflow.overwrite_configfiles:
    # Snakemake's own reader says neither file nor line of malformed YAML; this one does.
    try:
        load_yaml("config/config.yaml")
    except ConfigError as error:
        sys.exit(f"recrepro: config error: {error}")

    configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/runs.smk"
include: "workflow/rules/stats.smk"
include: "workflow/rules/paper.smk"
include: "workflow/rules/ablation.smk"  # each seed model's addition removed (config ablations:)
include: "workflow/rules/reproduce.smk"  # verify, publish_reported (not in rule all)
include: "workflow/rules/reproduction.smk"  # reproduce: the reproduction table (not in rule all)
include: "workflow/rules/bench.smk"  # bench (not in rule all); keep last


rule all:
    input:
        "results/summary.csv",
        rules.compute_stats.output,
        PAPER_TARGETS,
        ABLATION_TARGETS,
