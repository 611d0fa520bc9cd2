# DED stage 6: pass@1 of each model on its benchmarks (one job per model: the model loads once), and the lm-evaluation-harness OOD suite of Table 6.
# Models: an experiment, select_<teacher> (teacher selection), base_<student> (the untrained student, in place) or
# teacher_<teacher> (a teacher itself), each replicate r > 0 as <name>.rep<r> (ded.config.parse_model_name).
# Input functions live in the "Evaluation" section of rules/common.smk.


rule evaluate:
    input:
        benchmarks=get_eval_benchmarks,
        model=get_eval_model_input,
        preflight=preflight_input(),
    output:
        samples=f"{R}/eval/{{model}}/samples.csv",
        summary=f"{R}/eval/{{model}}/summary.csv",
    log:
        f"{R}/logs/evaluate/{{model}}.log",
    benchmark:
        f"{R}/runtime/evaluate/{{model}}.tsv"
    wildcard_constraints:
        model="|".join(EVAL_MODELS),
    priority: job_priority("evaluate")
    conda:
        envfile("sampling")
    threads: 1 if config["mode"] == "tiny" else 16
    resources:
        gpu=lambda wc: dedcfg.model_gpus(eval_spec(wc)),
    params:
        spec=eval_spec,
        # benchmark -> samples per problem, in the order of input.benchmarks
        benchmarks=lambda wc: {b: config["benchmarks"][b]["samples"] for b in model_benchmarks(wc.model)},
        decoding=lambda wc: dedcfg.sampling_params(config, config["evaluation"]["params"], eval_spec(wc)),
        evaluation=eval_settings,
        filtering=config["filtering"],
    script:
        "../scripts/evaluate.py"


# Generating the tiny OOD task data takes a second: on the submit host.
localrules:
    ood_task_data,


rule ood_task_data:
    output:
        f"{R}/ood/{{task}}.jsonl",
    log:
        f"{R}/logs/ood_task_data/{{task}}.log",
    benchmark:
        f"{R}/runtime/ood_task_data/{{task}}.tsv"
    wildcard_constraints:
        task="|".join(dedood.local_tasks()),
    conda:
        envfile("data")
    params:
        n=config["ood"]["data_n"],
        seed=config["ood"]["seed"],
    script:
        "../scripts/ood_task_data.py"


rule ood_eval:
    input:
        data=lambda wc: list(ood_data_files(wc).values()),
        model=get_eval_model_input,
        preflight=preflight_input(),
    output:
        results=f"{R}/eval/{{model}}/ood.csv",
        samples=f"{R}/eval/{{model}}/ood_samples.csv",
    log:
        f"{R}/logs/ood_eval/{{model}}.log",
    benchmark:
        f"{R}/runtime/ood_eval/{{model}}.tsv"
    wildcard_constraints:
        model="|".join(EVAL_MODELS),
    conda:
        envfile("sampling")
    threads: 1 if config["mode"] == "tiny" else 16
    resources:
        gpu=ood_gpus,
    params:
        spec=eval_spec,
        ood=config["ood"],
        data_files=ood_data_files,
    script:
        "../scripts/ood_eval.py"


rule evaluate_all:
    """Every evaluation the tables and figures read: benchmark summaries and the OOD suite."""
    input:
        all_eval_summaries(),
        all_ood_outputs(),
