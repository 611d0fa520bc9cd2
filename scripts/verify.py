"""Verify sampled responses: length, format and correctness verdicts per sample (ded.verify.stage)."""

from ded.runtime import snakemake_job
from ded.verify.stage import verify_file

with snakemake_job(snakemake) as log:  # noqa: F821 (snakemake is injected by the script directive)
    verify_file(snakemake.input.samples, snakemake.input.seeds, snakemake.output[0],
                filtering=snakemake.params.filtering, tokenizer_spec=snakemake.params.tokenizer,
                workers=snakemake.threads, log=log)
