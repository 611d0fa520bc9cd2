"""Rule llamafactory_dataset: corpus JSONL -> LlamaFactory dataset folder (train.json + dataset_info.json)."""

from ded.runtime import snakemake_job
from ded.train import write_dataset

with snakemake_job(snakemake) as log:  # noqa: F821 - injected by Snakemake
    n = write_dataset(snakemake.input[0], snakemake.output.data, snakemake.output.info)  # noqa: F821
    log.info("%d examples from %s", n, snakemake.input[0])  # noqa: F821
