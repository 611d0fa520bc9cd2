# DED section 4.4: why one teacher's corpus suits the student better than another's.
#   token_entropy: the student's token entropy over each analysis.entropy teacher's corpus (Figure 3)
#   pca_shift:     PCA shift of the student's representations after training (Figure 4, after Huan et al. 2025)


rule token_entropy:
    input:
        corpora=list(entropy_corpora().values()),
        model=model_key_input(ENTROPY.get("student", "student")),
    output:
        entropy=f"{R}/analysis/entropy.csv",
        hist=f"{R}/analysis/entropy_hist.csv",
        responses=f"{R}/analysis/entropy_responses.csv",
    log:
        f"{R}/logs/token_entropy/all.log",
    benchmark:
        f"{R}/runtime/token_entropy/all.tsv"
    conda:
        envfile("analysis")
    resources:
        gpu=ANALYSIS_GPUS,
    params:
        entropy=ENTROPY,
        corpora=entropy_corpora(),
        model=dedcfg.model_spec(config, ENTROPY.get("student", "student")),
    script:
        "../scripts/token_entropy.py"


rule pca_shift:
    input:
        benchmarks=[f"{R}/benchmarks/{b}.jsonl" for b in PCA.get("benchmarks", [])],
        models=[p for m in pca_models().values() for p in local_model_input(m["base"]) + [m["tuned"]]],
        selection=analysis_selection_input(PCA.get("experiments", [])),
    output:
        shift=f"{R}/analysis/pca_shift.csv",
        points=f"{R}/analysis/pca_points.csv",
    log:
        f"{R}/logs/pca_shift/all.log",
    benchmark:
        f"{R}/runtime/pca_shift/all.tsv"
    conda:
        envfile("analysis")
    resources:
        gpu=ANALYSIS_GPUS,
    params:
        pca=PCA,
        models=pca_models(),
        benchmarks={b: f"{R}/benchmarks/{b}.jsonl" for b in PCA.get("benchmarks", [])},
    script:
        "../scripts/pca_shift.py"
