"""Snakemake script of rule sample_shard (rules/sample.smk): one resumable shard of samples."""

from ded.config import model_spec
from ded.runtime import snakemake_job
from ded.sampling import run_shard

with snakemake_job(snakemake) as log:  # noqa: F821 (injected by Snakemake)
    run_shard(
        questions_path=snakemake.input.seeds,  # noqa: F821
        output=snakemake.output[0],  # noqa: F821
        model_key=snakemake.wildcards.model,  # noqa: F821
        # the full entry (endpoint concurrency, tensor parallelism...); params.model holds the part that
        # determines the samples, so that only that part triggers a rerun
        model_spec=model_spec(snakemake.config, snakemake.wildcards.model),  # noqa: F821
        shard=int(snakemake.wildcards.shard),  # noqa: F821
        shard_size=snakemake.params.shard_size,  # noqa: F821
        n=snakemake.params.n,  # noqa: F821
        params=snakemake.params.sampling,  # noqa: F821
        base_seed=snakemake.params.seed,  # noqa: F821
        backend_options={"num_threads": snakemake.threads, "seed": snakemake.params.seed},  # noqa: F821
        log=log,
    )
