"""Rule ood_eval: lm-evaluation-harness on one model -> R/eval/{model}/ood.csv (Table 6)."""

from ded.evaluate import check_local_model
from ded.ood import run_ood
from ded.runtime import snakemake_job

with snakemake_job(snakemake) as log:  # noqa: F821 - injected by Snakemake
    p = snakemake.params  # noqa: F821
    ood, spec = dict(p.ood), dict(p.spec)
    check_local_model(spec, snakemake.config["results_dir"])  # noqa: F821
    run_ood(model=spec["model"], revision=spec.get("revision"), tasks=list(ood["tasks"]),
            out_csv=snakemake.output.results, samples_csv=snakemake.output.samples,  # noqa: F821
            backend=ood["backend"], data_files=dict(p.data_files),
            limit=ood.get("limit"), num_fewshot=ood.get("num_fewshot"),
            tensor_parallel_size=int(ood.get("tensor_parallel_size", 1)), max_model_len=spec.get("max_model_len"),
            apply_chat_template=bool(ood.get("apply_chat_template", False)), seed=int(ood.get("seed", 0)),
            max_gen_toks=ood.get("max_gen_toks"), think_end_token=ood.get("think_end_token"),
            system_instruction=ood.get("system_instruction"), gen_kwargs=ood.get("gen_kwargs"))
