from ded.runtime import snakemake_job

with snakemake_job(snakemake) as log:
    from ded.reporting.paper import write_comparison

    write_comparison(
        dict(zip(snakemake.params.tables, snakemake.input.run)),
        snakemake.params.ref_dir,
        out_csv=snakemake.output.csv,
        out_tex=snakemake.output.tex,
        mode=snakemake.params.mode,
    )
