"""Write the provenance summary of one figure or table (lineage, models, datasets, commits, audit findings)."""

from ded.audit import summary_text
from ded.io import write_text
from ded.runtime import snakemake_job

with snakemake_job(snakemake) as log:  # noqa: F821 (snakemake is injected by the script directive)
    write_text(snakemake.output[0], summary_text(snakemake.input[0], snakemake.params.results_dir))
