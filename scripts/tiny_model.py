"""Pretrain one tiny model and score it on held-out tiny tasks (rule tiny_model)."""

import torch

from ded.runtime import snakemake_job
from ded.tinyworld.models import build_model

with snakemake_job(snakemake) as log:  # noqa: F821
    torch.set_num_threads(max(1, snakemake.threads))
    scores = build_model(snakemake.input.tokenizer, snakemake.output[0], dict(snakemake.params.spec),
                         snakemake.params.seed, dict(snakemake.params.sampling), snakemake.params.max_tokens, log=log,
                         init=snakemake.input.init[0] if snakemake.input.init else None)
