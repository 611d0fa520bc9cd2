# DED stage 2, sampling: M responses per question from each teacher (sampling.trajectories, sampling.params), and
# the student's k samples per question that stage 3 turns into pass rates (compression.k, compression.params).
# Both merged with the model's own `sampling` block. One job per shard of sampling.shard_size questions, so that a
# failed job reruns one shard; an interrupted shard job resumes from its partial file (ded.sampling.run_shard).


localrules:
    merge_samples,
    preflight,


rule preflight:
    """ded.preflight on the submit host (paper mode): context limits, training memory, pinned revisions, the HTTP
    teacher's served model, OOD settings and the deployment method, before any GPU job (rules/common.smk)."""
    input:
        deepspeed=sorted({p["deepspeed"] for p in [train_params(m) for m in TRAINED_MODELS] if p.get("deepspeed")}),
    output:
        PREFLIGHT_REPORT,
    log:
        f"{R}/logs/preflight/preflight.log",
    conda:
        envfile("data")
    params:
        # what the checks read; a change reruns the preflight and, through its report, nothing else
        checked={
            k: config.get(k)
            for k in (
                "mode",
                "teachers",
                "students",
                "seeds",
                "benchmarks",
                "sampling",
                "compression",
                "filtering",
                "training",
                "selection",
                "evaluation",
                "ood",
                "preflight",
                "experiments",
            )
        },
        deployment=[str(m).lower() for m in workflow.deployment_settings.deployment_method],
    script:
        "../scripts/preflight.py"


rule sample_shard:
    input:
        seeds=f"{R}/decontam/{{domain}}.jsonl",
        model=lambda w: model_key_input(w.model),
        preflight=preflight_input(),
    output:
        f"{R}/samples/{{model}}/{{domain}}/shard-{{shard}}.jsonl",
    log:
        f"{R}/logs/sample_shard/{{model}}/{{domain}}/shard-{{shard}}.log",
    benchmark:
        f"{R}/runtime/sample_shard/{{model}}/{{domain}}/shard-{{shard}}.tsv"
    wildcard_constraints:
        model="|".join(re.escape(m) for m in SAMPLED_MODELS),
    priority: job_priority("sample_shard")
    conda:
        envfile("sampling")
    threads: lambda w: sample_threads(w.model)
    resources:
        gpu=lambda w: sample_gpus(w.model),
        cpus_per_task=lambda w: sample_cpus(w.model),
        mem_mb=lambda w: sample_mem_mb(w.model),
    params:
        model=lambda w: ded_sampling.generation_spec(dedcfg.model_spec(config, w.model)),
        n=lambda w: samples_per_question(w.model),
        sampling=lambda w: sample_params(w.model),
        shard_size=config["sampling"]["shard_size"],
        seed=config["sampling"]["seed"],
    script:
        "../scripts/sample_shard.py"


rule merge_samples:
    input:
        shards=lambda w: expand(f"{R}/samples/{w.model}/{w.domain}/shard-{{shard}}.jsonl", shard=shard_ids(w.domain)),
        seeds=f"{R}/decontam/{{domain}}.jsonl",
    output:
        f"{R}/samples/{{model}}/{{domain}}.jsonl",
    log:
        f"{R}/logs/merge_samples/{{model}}/{{domain}}.log",
    benchmark:
        f"{R}/runtime/merge_samples/{{model}}/{{domain}}.tsv"
    wildcard_constraints:
        model="|".join(re.escape(m) for m in SAMPLED_MODELS),
    priority: job_priority("merge_samples")
    conda:
        envfile("sampling")
    params:
        n=lambda w: samples_per_question(w.model),
    script:
        "../scripts/merge_samples.py"
