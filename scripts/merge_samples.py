"""Snakemake script of rule merge_samples (rules/sample.smk): a domain's shards into one sorted file."""

from ded.runtime import snakemake_job
from ded.sampling import merge_samples

with snakemake_job(snakemake) as log:  # noqa: F821 (injected by Snakemake)
    merge_samples(
        list(snakemake.input.shards),  # noqa: F821
        snakemake.input.seeds,  # noqa: F821
        snakemake.output[0],  # noqa: F821
        n=snakemake.params.n,  # noqa: F821
        log=log,
    )
