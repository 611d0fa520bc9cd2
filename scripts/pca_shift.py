import json

from ded.runtime import snakemake_job

with snakemake_job(snakemake) as log:
    from ded import config as dedcfg
    from ded.analysis.pca import run_pca_shift

    pca = snakemake.params.pca
    selected = None
    if snakemake.input.selection:
        with open(snakemake.input.selection[0], encoding="utf-8") as fh:
            selected = json.load(fh)["teacher"]
    experiments = {name: {**m, "teacher": dedcfg.resolve_teacher(snakemake.config, m["teacher"], selected)}
                   for name, m in snakemake.params.models.items()}
    run_pca_shift(
        experiments=experiments,
        benchmarks=snakemake.params.benchmarks,
        k=pca.get("k", 100),
        seed=pca.get("seed", 42),
        max_length=pca.get("max_length", 2048),
        out_shift=snakemake.output.shift,
        out_points=snakemake.output.points,
    )
