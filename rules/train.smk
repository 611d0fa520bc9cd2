# DED stage 5: full-parameter SFT with LlamaFactory, one model folder per experiment (and per select_<teacher>, the
# quick SFT of teacher selection). Input functions live in the "Training" section of rules/common.smk.
#   corpus JSONL -> R/train/{model}/dataset/{train.json,dataset_info.json} -> R/train/{model}/train.yaml
#   -> llamafactory-cli train -> R/models/{model}/ (weights, config, tokenizer, trainer logs)

import shlex
import sys

from snakemake.settings.types import DeploymentMethod

# Without --sdm conda, the venv that runs Snakemake is not on the jobs' PATH: call its tools by path.
TRAIN_BIN = (
    ""
    if DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method
    else str(Path(sys.executable).parent) + "/"
)
TRAIN_MULTINODE = int(config["training"].get("nodes", 1)) > 1


def train_launch(wildcards, input):
    """The llamafactory-cli command line with the environment LlamaFactory's launcher reads.

    llamafactory/launcher.py starts torchrun when FORCE_TORCHRUN=1 (required with DeepSpeed) or when it sees more
    than one GPU, with NNODES, NODE_RANK, NPROC_PER_NODE, MASTER_ADDR and MASTER_PORT. On several nodes one
    launcher runs per node (srun, one task per node): NODE_RANK is that node's SLURM_NODEID and MASTER_ADDR the first
    host of SLURM_JOB_NODELIST. gpus_per_node 0 (the tiny world) trains on CPU: CUDA_VISIBLE_DEVICES is set empty
    so that GPUs a scheduler hands the job (real or fake) are never picked up.
    """
    p = train_params(wildcards.model)
    nodes, gpus = int(p.get("nodes", 1)), int(p.get("gpus_per_node", 0))
    cli = f"{TRAIN_BIN}llamafactory-cli train {shlex.quote(str(input.config))}"
    if gpus == 0:
        if nodes > 1:
            raise ValueError("training: nodes > 1 needs gpus_per_node > 0")
        return f"CUDA_VISIBLE_DEVICES= {cli}"
    port = "$((29500 + ${SLURM_JOB_ID:-0} % 1000))"
    if nodes == 1:
        torchrun = "1" if (gpus > 1 or p.get("deepspeed")) else "0"
        return (f"FORCE_TORCHRUN={torchrun} NNODES=1 NODE_RANK=0 NPROC_PER_NODE={gpus} "
                f"MASTER_ADDR=127.0.0.1 MASTER_PORT={port} {cli}")
    # The Slurm job-step plugin strips SLURM_* (but the job id) from this shell: the node list exists only inside
    # the srun task, so MASTER_ADDR is resolved there; each per-node launcher gets that node's share of the CPUs.
    per_node = shlex.quote(
        'export MASTER_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1); '
        "export NODE_RANK=$SLURM_NODEID; exec " + cli)
    return (f"cpn=$(( $(squeue -h -j $SLURM_JOB_ID -o %C) / {nodes} )); "
            f"srun --nodes={nodes} --ntasks={nodes} --ntasks-per-node=1 --gpus-per-node={gpus} "
            f"--cpus-per-task=$cpn --kill-on-bad-exit=1 "
            f"env FORCE_TORCHRUN=1 NNODES={nodes} NPROC_PER_NODE={gpus} MASTER_PORT={port} bash -c {per_node}")


def train_provenance(wildcards, input, output):
    """`python -m ded.provenance record` arguments for this shell job."""
    args = [
        "--rule", "train",
        "--wildcards", json.dumps({"model": wildcards.model}),
        "--params", json.dumps(train_params(wildcards.model), sort_keys=True),
        "--command", f"llamafactory-cli train {input.config}",
        "--results-dir", R,
        "--input", *[str(p) for p in input],
        "--output", str(output),
    ]
    return " ".join(shlex.quote(a) for a in args)


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
    wildcard_constraints:
        model="|".join(TRAINED_MODELS),
    log:
        f"{R}/logs/llamafactory_dataset/{{model}}.log",
    benchmark:
        f"{R}/runtime/llamafactory_dataset/{{model}}.tsv"
    priority: selection_path_priority
    conda:
        envfile("training")
    script:
        "../scripts/llamafactory_dataset.py"


rule train_template_check:
    input:
        lambda wc: model_key_input(wc.student),
    output:
        f"{R}/train/template_check/{{student}}.json",
    wildcard_constraints:
        student="|".join(STUDENTS),
    log:
        f"{R}/logs/train_template_check/{{student}}.log",
    benchmark:
        f"{R}/runtime/train_template_check/{{student}}.tsv"
    params:
        training={k: config["training"].get(k) for k in ("template", "default_system", "templates")},
        model=lambda wc: dedcfg.model_spec(config, wc.student),
    priority: selection_path_priority
    conda:
        envfile("training")
    script:
        "../scripts/train_template_check.py"


rule train_config:
    input:
        check=lambda wc: f"{R}/train/template_check/{train_student(wc.model)}.json",
    output:
        f"{R}/train/{{model}}/train.yaml",
    wildcard_constraints:
        model="|".join(TRAINED_MODELS),
    log:
        f"{R}/logs/train_config/{{model}}.log",
    benchmark:
        f"{R}/runtime/train_config/{{model}}.tsv"
    params:
        training=lambda wc: train_params(wc.model),
        student=lambda wc: train_student(wc.model),
        model=lambda wc: dedcfg.model_spec(config, train_student(wc.model)),
        dataset_dir=lambda wc: f"{R}/train/{wc.model}/dataset",
        staging=lambda wc: f"{R}/train/{wc.model}/staging",
        mode=config["mode"],
    priority: selection_path_priority
    conda:
        envfile("training")
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
    wildcard_constraints:
        model="|".join(TRAINED_MODELS),
    log:
        f"{R}/logs/train/{{model}}.log",
    benchmark:
        f"{R}/runtime/train/{{model}}.tsv"
    params:
        staging=lambda wc: f"{R}/train/{wc.model}/staging",
        launch=train_launch,
        provenance=train_provenance,
    threads: 1 if config["mode"] == "tiny" else 16
    resources:
        gpu=int(config["training"]["nodes"]) * int(config["training"]["gpus_per_node"]),
        # several nodes: the job's shell runs srun itself (the Slurm jobstep plugin must not wrap it in `srun -n1`)
        **({"nodes": int(config["training"]["nodes"]), "mpi": "srun"} if TRAIN_MULTINODE else {}),
    priority: selection_path_priority
    conda:
        envfile("training")
    shell:
        # LlamaFactory writes into a staging folder (output_dir of train.yaml); one rename publishes the model, so
        # an interrupted run never leaves a folder that looks trained.
        "started=$(date +%s.%N); rm -rf {params.staging}; "
        "{params.launch} > {log} 2>&1; "
        "{TRAIN_BIN}python -m ded.train finalize {params.staging} {output} >> {log} 2>&1; "
        "{TRAIN_BIN}python -m ded.provenance record --started $started {params.provenance} >> {log} 2>&1"
