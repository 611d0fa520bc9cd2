# DED stage 5: full-parameter SFT with LlamaFactory, one model folder per experiment (and per select_<teacher>, the
# quick SFT of teacher selection). Input functions live in the "Training" section of rules/common.smk.
#   corpus JSONL -> R/train/{model}/dataset/{train.json,dataset_info.json} -> R/train/{model}/train.yaml
#   -> llamafactory-cli train -> R/models/{model}/ (weights, config, tokenizer, trainer logs)

from snakemake.settings.types import DeploymentMethod

from ded import train as dedtrain

# Without --sdm conda, the venv that runs Snakemake is not on the jobs' PATH: its tools are called by path.
TRAIN_TOOL_PREFIX = dedtrain.tool_prefix(DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method)


# Writing the dataset files and the YAML is bookkeeping: on the submit host, not worth a Slurm job each.
localrules:
    llamafactory_dataset,
    train_config,


rule llamafactory_dataset:
    input:
        get_train_corpus,
    output:
        data=f"{R}/train/{{model}}/dataset/train.json",
        info=f"{R}/train/{{model}}/dataset/dataset_info.json",
    log:
        f"{R}/logs/llamafactory_dataset/{{model}}.log",
    benchmark:
        f"{R}/runtime/llamafactory_dataset/{{model}}.tsv"
    wildcard_constraints:
        model="|".join(TRAINED_MODELS),
    priority: job_priority("llamafactory_dataset")
    conda:
        envfile("training")
    script:
        "../scripts/llamafactory_dataset.py"


rule train_template_check:
    input:
        lambda wc: model_key_input(wc.student),
    output:
        f"{R}/train/template_check/{{student}}.json",
    log:
        f"{R}/logs/train_template_check/{{student}}.log",
    benchmark:
        f"{R}/runtime/train_template_check/{{student}}.tsv"
    wildcard_constraints:
        student="|".join(STUDENTS),
    priority: job_priority("train_template_check")
    conda:
        envfile("training")
    params:
        training={k: config["training"].get(k) for k in ("template", "default_system", "templates")},
        model=lambda wc: dedcfg.model_spec(config, wc.student),
    script:
        "../scripts/train_template_check.py"


rule train_config:
    input:
        check=lambda wc: f"{R}/train/template_check/{train_student(wc.model)}.json",
    output:
        f"{R}/train/{{model}}/train.yaml",
    log:
        f"{R}/logs/train_config/{{model}}.log",
    benchmark:
        f"{R}/runtime/train_config/{{model}}.tsv"
    wildcard_constraints:
        model="|".join(TRAINED_MODELS),
    priority: job_priority("train_config")
    conda:
        envfile("training")
    params:
        training=lambda wc: train_params(wc.model),
        student=lambda wc: train_student(wc.model),
        model=lambda wc: dedcfg.model_spec(config, train_student(wc.model)),
        dataset_dir=lambda wc, output: dedtrain.dataset_dir(output[0]),
        staging=lambda wc, output: dedtrain.staging_dir(output[0]),
        mode=config["mode"],
    script:
        "../scripts/train_config.py"


rule train:
    input:
        config=f"{R}/train/{{model}}/train.yaml",
        data=f"{R}/train/{{model}}/dataset/train.json",
        info=f"{R}/train/{{model}}/dataset/dataset_info.json",
        deepspeed=get_train_deepspeed,
        base=get_train_base_model,
    output:
        directory(f"{R}/models/{{model}}"),
    log:
        f"{R}/logs/train/{{model}}.log",
    benchmark:
        f"{R}/runtime/train/{{model}}.tsv"
    wildcard_constraints:
        model="|".join(TRAINED_MODELS),
    priority: job_priority("train")
    conda:
        envfile("training")
    threads: dedtrain.job_threads(config["mode"])
    # from the model's own training settings, as the launch: an experiment's nodes/gpus_per_node change both
    resources:
        gpu=lambda wc: dedtrain.job_resources(train_params(wc.model))["gpu"],
        nodes=lambda wc: dedtrain.job_resources(train_params(wc.model))["nodes"],
        mpi=lambda wc: dedtrain.job_resources(train_params(wc.model))["mpi"],
    params:
        staging=lambda wc, input: dedtrain.staging_dir(input.config),
        launch=lambda wc, input: dedtrain.launch_command(train_params(wc.model), input.config, TRAIN_TOOL_PREFIX),
        provenance=lambda wc, input, output: dedtrain.provenance_args(
            model=wc.model,
            params=train_params(wc.model),
            train_yaml=input.config,
            inputs=list(input),
            output=output[0],
            results_dir=R,
        ),
        tool_prefix=TRAIN_TOOL_PREFIX,
    shell:
        # LlamaFactory writes into a staging folder (output_dir of train.yaml); one rename publishes the model, so
        # an interrupted run never leaves a folder that looks trained.
        "started=$(date +%s.%N); rm -rf {params.staging}; "
        "{params.launch} > {log} 2>&1; "
        "{params.tool_prefix}python -m ded.train finalize {params.staging} {output} >> {log} 2>&1; "
        "{params.tool_prefix}python -m ded.provenance record --started $started {params.provenance} >> {log} 2>&1"
