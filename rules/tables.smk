# Tables 1-7 in LaTeX: this run's (R/tables/tableN.tex, with its long form tableN.csv), the paper's own numbers
# through the same generator (R/tables/paper/tableN.tex) and the two side by side (R/tables/reproduction_vs_paper).
# Local rules: under Slurm they run on the login node, in seconds. Also the report's front page (`report:` below):
# `snakemake --report report.zip` collects every output marked with report() in the figure and table rules.

from ded import tables as dedtables


report: "../report/workflow.rst"


localrules:
    table,
    paper_tables,
    reproduction_vs_paper,


def table_input(wildcards):
    files = dedtables.table_inputs(config, wildcards.table, R)
    files["reference"] = [f"{REFERENCE}/{dedtables.REFERENCE_FILES[wildcards.table]}"]
    files["selection"] = (
        [f"{R}/selection/chosen.json"] if dedtables.needs_selection(config, [wildcards.table]) else []
    )
    return files


def table_params(wildcards):
    """The config a table depends on: its experiments and how their rows are labelled."""
    names = dedtables.table_experiments(config, wildcards.table)
    return {
        "experiments": {n: config["experiments"][n] for n in names},
        "students": {s: config["students"][s] for s in dict.fromkeys(config["experiments"][n]["student"] for n in names)},
        "teachers": config["teachers"],
        "benchmarks": list(config["benchmarks"]),
        "ood_tasks": (config.get("ood") or {}).get("tasks"),
        "mode": config["mode"],
    }


rule table:
    input:
        unpack(table_input),
    output:
        tex=report(f"{R}/tables/{{table}}.tex", caption="../report/table.rst", category="Tables",
                   subcategory="This run", labels={"table": "{table}", "format": "LaTeX"}),
        csv=report(f"{R}/tables/{{table}}.csv", caption="../report/table.rst", category="Tables",
                   subcategory="This run", labels={"table": "{table}", "format": "CSV (long)"}),
    wildcard_constraints:
        table="table[1-7]",
    log:
        f"{R}/logs/table/{{table}}.log",
    benchmark:
        f"{R}/runtime/table/{{table}}.tsv"
    params:
        table=table_params,
        ref_dir=REFERENCE,
    conda:
        envfile("analysis")
    script:
        "../scripts/table_run.py"


rule paper_tables:
    input:
        [f"{REFERENCE}/{dedtables.REFERENCE_FILES[t]}" for t in dedtables.TABLES],
    output:
        [report(f"{R}/tables/paper/{t}.tex", caption="../report/paper_table.rst", category="Tables",
                subcategory="Paper (reference)", labels={"table": t, "format": "LaTeX"}) for t in dedtables.TABLES],
    log:
        f"{R}/logs/paper_tables/all.log",
    benchmark:
        f"{R}/runtime/paper_tables/all.tsv"
    params:
        ref_dir=REFERENCE,
        tables=list(dedtables.TABLES),
    conda:
        envfile("analysis")
    script:
        "../scripts/table_paper.py"


rule reproduction_vs_paper:
    input:
        run=[f"{R}/tables/{t}.csv" for t in dedtables.TABLES],
        reference=[f"{REFERENCE}/{dedtables.REFERENCE_FILES[t]}" for t in dedtables.TABLES],
    output:
        csv=report(f"{R}/tables/reproduction_vs_paper.csv", caption="../report/reproduction_vs_paper.rst",
                   category="Tables", subcategory="This run vs paper", labels={"table": "all", "format": "CSV"}),
        tex=report(f"{R}/tables/reproduction_vs_paper.tex", caption="../report/reproduction_vs_paper.rst",
                   category="Tables", subcategory="This run vs paper", labels={"table": "all", "format": "LaTeX"}),
    log:
        f"{R}/logs/reproduction_vs_paper/all.log",
    benchmark:
        f"{R}/runtime/reproduction_vs_paper/all.tsv"
    params:
        ref_dir=REFERENCE,
        tables=list(dedtables.TABLES),
        mode=config["mode"],
    conda:
        envfile("analysis")
    script:
        "../scripts/table_reproduction.py"
