from ded.runtime import snakemake_job

with snakemake_job(snakemake) as log:
    from ded.figures.figure3_entropy import plot_entropy

    plot_entropy(
        entropy_csv=snakemake.input.entropy,
        hist_csv=snakemake.input.hist,
        reference_csv=snakemake.input.reference,
        teachers=snakemake.params.teachers,
        student=snakemake.params.student,
        pdf=snakemake.output.pdf,
        png=snakemake.output.png,
    )
