"""Rule table: this run's Table N from the files its plan names -> R/tables/tableN.{tex,csv}."""

from ded.reporting.run_tables import write_run_table
from ded.runtime import snakemake_job

with snakemake_job(snakemake) as log:  # noqa: F821 - injected by Snakemake
    p = snakemake.params  # noqa: F821
    write_run_table(snakemake.wildcards.table, list(p.rows), dict(p.names), benchmarks=list(p.benchmarks),  # noqa: F821
                    ood_tasks=list(p.ood_tasks), ref_dir=p.ref_dir, out_tex=snakemake.output.tex,  # noqa: F821
                    out_csv=snakemake.output.csv, mode=p.mode,  # noqa: F821
                    selection=snakemake.input.selection[0] if snakemake.input.selection else None)  # noqa: F821
