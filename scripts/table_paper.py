from ded.runtime import snakemake_job

with snakemake_job(snakemake) as log:
    from ded.reporting.paper import render_paper_tables

    render_paper_tables(snakemake.params.ref_dir, dict(zip(snakemake.params.tables, snakemake.output)))
