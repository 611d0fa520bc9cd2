"""Build the tiny world's shared tokenizer (rule tiny_tokenizer)."""

from ded.runtime import snakemake_job
from ded.tinyworld.tokenizer import save_tokenizer

with snakemake_job(snakemake) as log:  # noqa: F821
    summary = save_tokenizer(snakemake.output[0], snakemake.params.tokenizer["vocab_size"], snakemake.params.seed)
    log.info("tokenizer: %s", summary)
