# DED stage 2, verification: every sampled response gets a length, a format and a correctness verdict (all kept;
# the corpus stage decides what to drop). Correctness runs in worker processes (math-verify, the code sandbox of
# ded.verify.sandbox), as many as the job's threads.

import re


rule verify:
    input:
        samples=f"{R}/samples/{{model}}/{{domain}}.jsonl",
        seeds=f"{R}/decontam/{{domain}}.jsonl",
        tokenizer=model_key_input(config["filtering"]["tokenizer_of"]),
    output:
        f"{R}/verified/{{model}}/{{domain}}.jsonl",
    log:
        f"{R}/logs/verify/{{model}}/{{domain}}.log",
    benchmark:
        f"{R}/runtime/verify/{{model}}/{{domain}}.tsv"
    wildcard_constraints:
        model="|".join(re.escape(m) for m in TEACHERS + [s for s in STUDENTS if s not in TEACHERS]),
    priority: job_priority("verify")
    conda:
        # the judge is a generation backend (vllm or HTTP), which only the sampling environment has
        envfile("sampling") if config["filtering"].get("judge") else envfile("data")
    threads: 1 if config["mode"] == "tiny" else 16  # tiny: one worker, so that it never waits for both cores
    resources:
        # the judge, when configured, is loaded inside this job, and only for math answers math-verify cannot read
        # (ded.verify.judge): code and choice samples never call it
        gpu=lambda w: dedcfg.model_gpus(config["filtering"]["judge"]) if w.domain == "math" and JUDGE else 0,
    params:
        filtering=config["filtering"],
        # only what loads the tokenizer: renaming the student in tables must not rerun verification
        tokenizer={
            k: dedcfg.model_spec(config, config["filtering"]["tokenizer_of"]).get(k)
            for k in ("model", "revision", "tokenizer")
        },
    script:
        "../scripts/verify.py"
