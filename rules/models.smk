# The tiny world's own models (ded.tinyworld): a shared byte-level BPE and tiny Qwen2 models pretrained on CPU on
# generated chain-of-thought text in their style, saved with save_pretrained so every later rule loads them by path
# exactly as it would load a hub id. Absent in paper mode (no `tinyworld` section).

from ded.tinyworld.models import cost_estimate

TINY_MODELS = list((config.get("tinyworld") or {}).get("models", {}))


rule tiny_tokenizer:
    output:
        directory(f"{R}/tinyworld/tokenizer"),
    log:
        f"{R}/logs/tiny_tokenizer/tokenizer.log",
    benchmark:
        f"{R}/runtime/tiny_tokenizer/tokenizer.tsv"
    conda:
        envfile("analysis")
    params:
        tokenizer=lambda wc: config["tinyworld"]["tokenizer"],
        seed=lambda wc: config["tinyworld"]["seed"],
    script:
        "../scripts/tiny_tokenizer.py"


rule tiny_model:
    input:
        tokenizer=f"{R}/tinyworld/tokenizer",
        init=get_tiny_model_init,
    output:
        directory(f"{R}/tinyworld/models/{{name}}"),
    log:
        f"{R}/logs/tiny_model/{{name}}.log",
    benchmark:
        f"{R}/runtime/tiny_model/{{name}}.tsv"
    wildcard_constraints:
        name="|".join(TINY_MODELS) if TINY_MODELS else "^$",
    # Teacher selection waits for every tiny model; the costliest starts first, so that with 2 cores the other two
    # share the second one.
    priority: lambda wc: dedsched.SELECTION_PATH + round(cost_estimate(config["tinyworld"]["models"][wc.name]) / 1000)
    conda:
        envfile("analysis")
    threads: get_tiny_model_threads
    params:
        spec=lambda wc: config["tinyworld"]["models"][wc.name],
        seed=lambda wc: config["tinyworld"]["seed"],
        sampling=lambda wc: config["sampling"]["params"],
        max_tokens=lambda wc: config["filtering"]["max_tokens"],
    script:
        "../scripts/tiny_model.py"
