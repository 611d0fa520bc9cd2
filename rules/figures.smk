# The paper's figures from what the workflow measured: figures/<name>.{pdf,png}, each a target of its own
# (`snakemake figures/figure3_entropy.pdf` redraws one from the CSVs that exist). Local rules: under Slurm they run
# on the login node, in seconds.


localrules:
    figure1_scaling,
    figure3_entropy,
    figure4_pca_shift,


rule figure1_scaling:
    input:
        unpack(get_figure1_inputs),
        reference=f"{REFERENCE}/table2_math_methods.csv",
    output:
        pdf=report(
            f"{FIG}/figure1_scaling.pdf",
            caption="../report/figure1_scaling.rst",
            category="Figures",
            labels={"figure": "Figure 1", "format": "PDF"},
        ),
        png=report(
            f"{FIG}/figure1_scaling.png",
            caption="../report/figure1_scaling.rst",
            category="Figures",
            labels={"figure": "Figure 1", "format": "PNG"},
        ),
    log:
        f"{R}/logs/figure1_scaling/all.log",
    benchmark:
        f"{R}/runtime/figure1_scaling/all.tsv"
    conda:
        envfile("analysis")
    params:
        rows=figure1_plan,
        names=lambda wc: dedplan.label_names(config, dedplan.table_experiments(config, "figure1")),
        mode=config["mode"],
    script:
        "../scripts/figure_figure1_scaling.py"


rule figure3_entropy:
    input:
        entropy=f"{R}/analysis/entropy.csv",
        hist=f"{R}/analysis/entropy_hist.csv",
        reference=f"{REFERENCE}/figure3_entropy_stats.csv",
    output:
        pdf=report(
            f"{FIG}/figure3_entropy.pdf",
            caption="../report/figure3_entropy.rst",
            category="Figures",
            labels={"figure": "Figure 3", "format": "PDF"},
        ),
        png=report(
            f"{FIG}/figure3_entropy.png",
            caption="../report/figure3_entropy.rst",
            category="Figures",
            labels={"figure": "Figure 3", "format": "PNG"},
        ),
    log:
        f"{R}/logs/figure3_entropy/all.log",
    benchmark:
        f"{R}/runtime/figure3_entropy/all.tsv"
    conda:
        envfile("analysis")
    params:
        teachers={t: config["teachers"][t] for t in ENTROPY.get("teachers", [])},
        student=dedcfg.model_spec(config, ENTROPY.get("student", "student")).get("display_name")
        or ENTROPY.get("student", "student"),
    script:
        "../scripts/figure_figure3_entropy.py"


rule figure4_pca_shift:
    input:
        shift=f"{R}/analysis/pca_shift.csv",
        points=f"{R}/analysis/pca_points.csv",
    output:
        pdf=report(
            f"{FIG}/figure4_pca_shift.pdf",
            caption="../report/figure4_pca_shift.rst",
            category="Figures",
            labels={"figure": "Figure 4", "format": "PDF"},
        ),
        png=report(
            f"{FIG}/figure4_pca_shift.png",
            caption="../report/figure4_pca_shift.rst",
            category="Figures",
            labels={"figure": "Figure 4", "format": "PNG"},
        ),
    log:
        f"{R}/logs/figure4_pca_shift/all.log",
    benchmark:
        f"{R}/runtime/figure4_pca_shift/all.tsv"
    conda:
        envfile("analysis")
    params:
        labels={e: config["experiments"][e].get("label") for e in PCA.get("experiments", [])},
        teachers={t: spec.get("display_name") or t for t, spec in config["teachers"].items()},
        benchmark_names={b: dedlayout.BENCHMARK_TITLES.get(b, b) for b in PCA.get("benchmarks", [])},
        student=", ".join(
            dict.fromkeys(
                config["students"][config["experiments"][e]["student"]].get("display_name")
                or config["experiments"][e]["student"]
                for e in PCA.get("experiments", [])
            )
        ),
    script:
        "../scripts/figure_figure4_pca_shift.py"
