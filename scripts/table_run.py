from ded.runtime import snakemake_job

with snakemake_job(snakemake) as log:
    from ded.tables import write_run_table

    write_run_table(
        snakemake.config,
        snakemake.wildcards.table,
        snakemake.config["results_dir"],
        snakemake.params.ref_dir,
        out_tex=snakemake.output.tex,
        out_csv=snakemake.output.csv,
        selection=snakemake.input.selection[0] if snakemake.input.selection else None,
    )
