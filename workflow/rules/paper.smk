# The paper (showyourwork style): scripts write tables, figures and numbers.tex from the result
# tables; paper/main.tex only \input's them. Figures are split into a compute step
# (figure_data: per-run files -> small tables) and a plotting step that reads tables only.
# Needs RUNS / run_files() from common.smk and the outputs of summarize and compute_stats.
# Each rule also lists the code of recrepro.report as an input (REPORT_CODE, not read by the
# scripts), so editing a report module reruns the steps it draws, writes or counts.
import sys

from recrepro.core.errors import ConfigError
from recrepro.core.layout import package_code
from recrepro.report import registry
from recrepro.report.bibliography import MODEL_BIB
from recrepro.report.config import PaperConfig
from recrepro.tools.texcheck import TexMissing, check_paper

try:
    PAPER = PaperConfig.from_config(config)
except ConfigError as error:
    sys.exit(f"recrepro: config error: {error}")
# Every figure and table is declared once in recrepro.report (see recrepro.report.registry):
# the inputs and outputs below are derived from those declarations.
PAPER_INPUTS = registry.input_paths(config)
# The published reproduction table (reported/reproduction.csv) is made by `snakemake reproduce`
# (its own config) and publish_reproduction; no rule outputs it, so the paper reads the committed
# file as a source and the default study never rebuilds it from its own config.
FIGDATA = {name: PAPER_INPUTS[f"figdata_{name}"] for name in registry.FIGDATA}
REPORT_CODE = package_code("report")
# paper: {compile: false} makes everything but the PDFs (machines without TeX).
COMPILE_PAPER = config["paper"]["compile"]


def tex_checked(tex):
    """An input function giving ``tex`` (main.tex or supplement.tex) once TeX was found able to
    compile it. Input functions run while Snakemake builds the DAG, before any job, and only when
    the PDF is wanted: without TeX the study stops there with one line naming the missing piece
    and the install command."""

    def checked(wildcards):
        try:
            check_paper(tex)
        except TexMissing as error:
            print(f"recrepro: error: {error}", file=sys.stderr)
            sys.exit(1)  # not an exception: Snakemake would wrap that in a multi-line report
        return tex

    return checked


# Light steps; on a cluster they run on the submitting node (where TeX is installed), not as jobs.
localrules:
    make_tables,
    make_numbers,
    make_figures,
    compile_paper,
    compile_supplement,


report: "../report/workflow.rst"


def reported(paths, kind):
    """Mark the PNG figures and CSV tables for the Snakemake report."""
    caption = "../report/figure.rst" if kind == "figure" else "../report/table.rst"
    category = "Figures" if kind == "figure" else "Tables"
    shown = ".png" if kind == "figure" else ".csv"
    return [(report(p, caption=caption, category=category, labels={kind: Path(p).stem})
             if p.endswith(shown) else p) for p in paths]  # fmt: skip


rule figure_data:
    input:
        **{n: PAPER_INPUTS[n] for n in ("main_history", "main_per_user", "main_topk", "ratings", "item_table")},
        recrepro_code=REPORT_CODE,
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
        **registry.rule_inputs("table", PAPER_INPUTS),
        recrepro_code=REPORT_CODE,
    output:
        reported(registry.outputs(PAPER, "table"), "table"),
        MODEL_BIB,  # the models' declared citations, which the models table cites
    params:
        outdir=registry.TABLES_DIR,
        sections=registry.SECTIONS_DIR,
        bibliography=MODEL_BIB,
        # not read by the script: a change of the registered artefacts re-runs the rule
        artefacts=registry.names(PAPER, "table") + registry.names(PAPER, "figure"),
    log:
        "results/logs/paper/make_tables.log",
    script:
        "../scripts/make_tables.py"


rule make_figures:
    input:
        **registry.rule_inputs("figure", PAPER_INPUTS),
        recrepro_code=REPORT_CODE,
    output:
        reported(registry.outputs(PAPER, "figure"), "figure"),
    params:
        outdir=registry.FIGURES_DIR,
        texdir=registry.FIGURE_TEX_DIR,
    log:
        "results/logs/paper/make_figures.log",
    benchmark:
        "results/benchmarks/paper/make_figures.tsv"
    script:
        "../scripts/make_figures.py"


rule make_numbers:
    input:
        **{n: PAPER_INPUTS[n] for n in registry.NUMBER_INPUTS},
        recrepro_code=REPORT_CODE,
    output:
        "paper/generated/numbers.tex",
    log:
        "results/logs/paper/make_numbers.log",
    script:
        "../scripts/make_numbers.py"


# What the paper and its supplement are compiled from, besides their own .tex file.
TEX_SOURCES = {
    "bib": ["paper/references.bib", MODEL_BIB],
    "tables": rules.make_tables.output,
    "figures": rules.make_figures.output,
    "numbers": rules.make_numbers.output,
}


rule compile_paper:
    input:
        tex=tex_checked("paper/main.tex"),
        **TEX_SOURCES,
    output:
        report("paper/main.pdf", caption="../report/paper.rst", category="Paper"),
    log:
        "results/logs/paper/compile_paper.log",
    benchmark:
        "results/benchmarks/paper/compile_paper.tsv"
    shell:
        # latexmk runs in a fresh copy of paper/ and figures/ (no stale .aux/.bbl is ever read),
        # with fixed dates and PDF ids (a reproducible PDF); the PDF is moved into place at once.
        "python -m recrepro.tools.texbuild paper/main.tex {output} --with figures --log {log}"


# The venue's page limit leaves the long tables and the extra figures to a supplement: the same
# generated files (artefacts registered with supplement=True), compiled as compile_paper does.
rule compile_supplement:
    input:
        tex=tex_checked("paper/supplement.tex"),
        **TEX_SOURCES,
    output:
        report("paper/supplement.pdf", caption="../report/supplement.rst", category="Paper"),
    log:
        "results/logs/paper/compile_supplement.log",
    benchmark:
        "results/benchmarks/paper/compile_supplement.tsv"
    shell:
        "python -m recrepro.tools.texbuild paper/supplement.tex {output} --with figures --log {log}"


# What rule all asks of this file: the PDFs, or without TeX everything the PDFs are made from.
PAPER_TARGETS = (
    ["paper/main.pdf", "paper/supplement.pdf"]
    if COMPILE_PAPER
    else [*rules.make_tables.output, *rules.make_figures.output, *rules.make_numbers.output]
)
