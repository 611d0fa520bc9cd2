"""Rule train_config: training params -> the LlamaFactory YAML of one SFT run."""

from ded.io import read_json
from ded.runtime import snakemake_job
from ded.train import make_train_config

with snakemake_job(snakemake) as log:  # noqa: F821 - injected by Snakemake
    p = snakemake.params  # noqa: F821
    cfg = make_train_config(snakemake.output[0], dict(p.training), model_spec=dict(p.model), student=p.student,  # noqa: F821
                            dataset_dir=p.dataset_dir, staging=p.staging, mode=p.mode,
                            checked=read_json(snakemake.input.check))  # noqa: F821
    log.info("per-device batch %d x accumulation %d, template %s", cfg["per_device_train_batch_size"],
             cfg["gradient_accumulation_steps"], cfg["template"])
