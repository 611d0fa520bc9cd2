# Tables 1-7 in LaTeX: this run's (R/tables/tableN.tex, with its long form tableN.csv), the paper's own numbers
# through the same generator (R/tables/paper/tableN.tex), the two side by side (R/tables/reproduction_vs_paper:
# a target in paper mode only, where it means something) and the paper's claims checked with paired intervals
# (R/tables/claims).
# Every job reads exactly the files its plan names (ded.reporting.plan, ded.reporting.claims.claim_inputs).
# Local rules: under Slurm they run on the login node, in seconds. Also the report's front page (`report:` below):
# `snakemake --report report.zip` collects every output marked with report() in the figure and table rules.


report: "../report/workflow.rst"


localrules:
    table,
    paper_tables,
    reproduction_vs_paper,
    claims,


rule table:
    input:
        unpack(table_input),
    output:
        tex=report(
            f"{R}/tables/{{table}}.tex",
            caption="../report/table.rst",
            category="Tables",
            subcategory="This run",
            labels={"table": "{table}", "format": "LaTeX"},
        ),
        csv=report(
            f"{R}/tables/{{table}}.csv",
            caption="../report/table.rst",
            category="Tables",
            subcategory="This run",
            labels={"table": "{table}", "format": "CSV (long)"},
        ),
    log:
        f"{R}/logs/table/{{table}}.log",
    benchmark:
        f"{R}/runtime/table/{{table}}.tsv"
    wildcard_constraints:
        table="table[1-7]",
    conda:
        envfile("analysis")
    params:
        rows=table_plan,
        names=lambda wc: dedplan.label_names(config, dedplan.table_experiments(config, wc.table)),
        benchmarks=BENCHMARKS,
        ood_tasks=list(config["ood"]["tasks"]),
        ref_dir=reference_dir,
        mode=config["mode"],
    script:
        "../scripts/table_run.py"


rule paper_tables:
    input:
        reference=[f"{REFERENCE}/{dedlayout.REFERENCE_FILES[t]}" for t in dedlayout.TABLES],
    output:
        [
            report(
                f"{R}/tables/paper/{t}.tex",
                caption="../report/paper_table.rst",
                category="Tables",
                subcategory="Paper (reference)",
                labels={"table": t, "format": "LaTeX"},
            )
            for t in dedlayout.TABLES
        ],
    log:
        f"{R}/logs/paper_tables/all.log",
    benchmark:
        f"{R}/runtime/paper_tables/all.tsv"
    conda:
        envfile("analysis")
    params:
        ref_dir=reference_dir,
        tables=list(dedlayout.TABLES),
    script:
        "../scripts/table_paper.py"


rule reproduction_vs_paper:
    input:
        run=[f"{R}/tables/{t}.csv" for t in dedlayout.TABLES],
        reference=[f"{REFERENCE}/{dedlayout.REFERENCE_FILES[t]}" for t in dedlayout.TABLES],
    output:
        csv=report(
            f"{R}/tables/reproduction_vs_paper.csv",
            caption="../report/reproduction_vs_paper.rst",
            category="Tables",
            subcategory="This run vs paper",
            labels={"table": "all", "format": "CSV"},
        ),
        tex=report(
            f"{R}/tables/reproduction_vs_paper.tex",
            caption="../report/reproduction_vs_paper.rst",
            category="Tables",
            subcategory="This run vs paper",
            labels={"table": "all", "format": "LaTeX"},
        ),
    log:
        f"{R}/logs/reproduction_vs_paper/all.log",
    benchmark:
        f"{R}/runtime/reproduction_vs_paper/all.tsv"
    conda:
        envfile("analysis")
    params:
        ref_dir=reference_dir,
        tables=list(dedlayout.TABLES),
        mode=config["mode"],
    script:
        "../scripts/table_reproduction.py"


rule claims:
    input:
        unpack(claims_input),
    output:
        csv=report(
            f"{R}/tables/claims.csv",
            caption="../report/claims.rst",
            category="Claims",
            labels={"table": "claims", "format": "CSV"},
        ),
        tex=report(
            f"{R}/tables/claims.tex",
            caption="../report/claims.rst",
            category="Claims",
            labels={"table": "claims", "format": "LaTeX"},
        ),
    log:
        f"{R}/logs/claims/all.log",
    benchmark:
        f"{R}/runtime/claims/all.tsv"
    conda:
        envfile("analysis")
    params:
        rows=dedclaims.expand_rows(config["claims"], TEACHERS),
        files={**CLAIM_FILES, "selected": SELECTION.get("teacher")},
        teachers=config["teachers"],
        first_runs=CLAIM_FIRST_RUNS,
        selection_benchmarks=SELECTION["benchmarks"],
        settings={k: config["claims"][k] for k in ("bootstrap", "seed", "level", "margin")},
        ref_dir=reference_dir,
        mode=config["mode"],
    script:
        "../scripts/claims.py"
