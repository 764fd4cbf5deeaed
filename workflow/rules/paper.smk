# The paper (showyourwork style): scripts write tables, figures and numbers.tex from the result
# tables; paper/main.tex only \input's them. Figures are split into a compute step
# (figure_data: per-run files -> small tables) and a plotting step that reads tables only.
# Needs RUNS / run_files() from common.smk and the outputs of summarize and compute_stats.
import sys

from recrepro.errors import ConfigError
from recrepro.report.config import PaperConfig
from recrepro.report.figures import FIGURES
from recrepro.report.tables import table_names
from recrepro.texcheck import TexMissing, check_paper

try:
    PAPER = PaperConfig.from_config(config)
except ConfigError as error:
    sys.exit(f"recrepro: config error: {error}")
# paper: {compile: false} makes everything but the PDF (machines without TeX).
COMPILE_PAPER = config["paper"]["compile"]


def tex_checked(wildcards):
    """compile_paper's main.tex, once TeX was found able to compile it. Input functions run while
    Snakemake builds the DAG, before any job, and only when the PDF is wanted: without TeX the
    study stops there with one line naming the missing piece and the install command."""
    try:
        check_paper("paper/main.tex")
    except TexMissing as error:
        print(f"recrepro: error: {error}", file=sys.stderr)
        sys.exit(1)  # not an exception: Snakemake would wrap that in a multi-line report
    return "paper/main.tex"
TABLES_DIR = "paper/generated/tables"
FIGURES_DIR = "figures"
FIGDATA_DIR = "results/report"
STAT_TABLES = ("seed_summary", "pairwise", "friedman", "ranks")
STATS_INPUTS = {
    "summary": "results/summary.csv",
    "skipped": "results/skipped.csv",
    **{name: f"results/stats/{name}.csv" for name in STAT_TABLES},
}
DATA_INPUTS = {
    "ratings": f"results/data/{PAPER.dataset}/ratings.parquet",
    "item_table": f"results/data/{PAPER.dataset}/items.parquet",
}
FIGDATA = {
    "history": f"{FIGDATA_DIR}/history.csv",
    "per_user": f"{FIGDATA_DIR}/per_user.parquet",
    "popularity": f"{FIGDATA_DIR}/popularity.csv",
    "example_user": f"{FIGDATA_DIR}/example_user.csv",
}

# Light steps; on a cluster they run on the submitting node (where TeX is installed), not as jobs.
localrules:
    make_tables,
    make_numbers,
    make_figures,
    compile_paper,


report: "../report/workflow.rst"


def main_run_files(name):
    """File `name` of every run of the paper's dataset, main protocol and main setting."""
    return run_files(
        name, dataset=PAPER.dataset, protocol=PAPER.main_protocol, setting=PAPER.main_setting
    )


rule figure_data:
    input:
        history=main_run_files("history.csv"),
        per_user=main_run_files("per_user.parquet"),
        topk=main_run_files("topk.parquet"),
        **DATA_INPUTS,
    output:
        **FIGDATA,
    log:
        "results/logs/paper/figure_data.log",
    benchmark:
        "results/benchmarks/paper/figure_data.tsv"
    script:
        "../scripts/make_figure_data.py"


rule make_tables:
    input:
        references="config/reference_numbers.csv",
        **STATS_INPUTS,
    output:
        expand(f"{TABLES_DIR}/{{name}}.{{ext}}", name=table_names(PAPER.protocols), ext=["tex", "md"]),
        [
            report(f"{TABLES_DIR}/{name}.csv", caption="../report/table.rst", category="Tables",
                   labels={"table": name})
            for name in table_names(PAPER.protocols)
        ],  # fmt: skip
        f"{TABLES_DIR}/protocols.tex",
    params:
        outdir=TABLES_DIR,
    log:
        "results/logs/paper/make_tables.log",
    script:
        "../scripts/make_tables.py"


rule make_figures:
    input:
        **STATS_INPUTS,
        **{f"figdata_{name}": path for name, path in FIGDATA.items()},
    output:
        pdf=expand(f"{FIGURES_DIR}/{{name}}.pdf", name=FIGURES),
        png=[
            report(f"{FIGURES_DIR}/{name}.png", caption="../report/figure.rst", category="Figures",
                   labels={"figure": name})
            for name in FIGURES
        ],  # fmt: skip
    params:
        outdir=FIGURES_DIR,
    log:
        "results/logs/paper/make_figures.log",
    benchmark:
        "results/benchmarks/paper/make_figures.tsv"
    script:
        "../scripts/make_figures.py"


rule make_numbers:
    input:
        references="config/reference_numbers.csv",
        provenance=run_files("provenance.json"),
        figdata_example_user=FIGDATA["example_user"],
        **STATS_INPUTS,
        **DATA_INPUTS,
    output:
        "paper/generated/numbers.tex",
    log:
        "results/logs/paper/make_numbers.log",
    script:
        "../scripts/make_numbers.py"


rule compile_paper:
    input:
        tex=tex_checked,
        bib="paper/references.bib",
        tables=rules.make_tables.output,
        figures=rules.make_figures.output,
        numbers=rules.make_numbers.output,
    output:
        report("paper/main.pdf", caption="../report/paper.rst", category="Paper"),
    log:
        "results/logs/paper/compile_paper.log",
    benchmark:
        "results/benchmarks/paper/compile_paper.tsv"
    shell:
        # Fixed dates and PDF ids make the PDF reproducible; -g always rebuilds on request.
        "SOURCE_DATE_EPOCH=0 FORCE_SOURCE_DATE=1 latexmk -pdf -g -cd -interaction=nonstopmode"
        " -halt-on-error paper/main.tex > {log} 2>&1"


# What rule all asks of this file: the PDF, or without TeX everything the PDF is made from.
PAPER_TARGETS = (
    ["paper/main.pdf"]
    if COMPILE_PAPER
    else [*rules.make_tables.output, *rules.make_figures.output, *rules.make_numbers.output]
)
