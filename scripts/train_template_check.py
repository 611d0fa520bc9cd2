"""Rule train_template_check: a student's base model has weights and LlamaFactory's template renders its prompts
exactly as the chat template that evaluation uses (once per student, before any training job)."""

from ded.runtime import snakemake_job
from ded.train import write_template_check

with snakemake_job(snakemake) as log:  # noqa: F821 - injected by Snakemake
    p = snakemake.params  # noqa: F821
    rec = write_template_check(snakemake.output[0], dict(p.training), model_spec=dict(p.model),  # noqa: F821
                               student=snakemake.wildcards.student,  # noqa: F821
                               results_dir=snakemake.config["results_dir"])  # noqa: F821
    log.info("%s: template %s, default_system %r, checked %s", rec["model"], rec["template"], rec["default_system"],
             rec["checked"])
