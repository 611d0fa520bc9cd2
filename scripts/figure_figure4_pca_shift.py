from ded.runtime import snakemake_job

with snakemake_job(snakemake) as log:
    from ded.figures.figure4_pca_shift import plot_pca_shift

    plot_pca_shift(
        shift_csv=snakemake.input.shift,
        points_csv=snakemake.input.points,
        labels=snakemake.params.labels,
        teachers=snakemake.params.teachers,
        benchmark_names=snakemake.params.benchmark_names,
        student=snakemake.params.student,
        pdf=snakemake.output.pdf,
        png=snakemake.output.png,
    )
