"""Rule ood_task_data: the generated data of a local lm-evaluation-harness task (the tiny world's tiny_arith)."""

from ded.ood import write_task_data
from ded.runtime import snakemake_job

with snakemake_job(snakemake) as log:  # noqa: F821 - injected by Snakemake
    p = snakemake.params  # noqa: F821
    n = write_task_data(snakemake.wildcards.task, snakemake.output[0], n=int(p.n), seed=int(p.seed))  # noqa: F821
    log.info("%s: %d items", snakemake.wildcards.task, n)  # noqa: F821
