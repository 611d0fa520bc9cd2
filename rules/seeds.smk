# Seed questions (DED's input) and evaluation benchmarks: one normalised JSONL per config entry (ded.seeds).
# Real sources are read from the hub (or a local_path) only inside these jobs, so `snakemake -n` needs no network.
# The entry minus `samples` is the rule's params: changing the source, revision, split, n or seed rebuilds the file,
# changing only how many samples evaluation draws does not.


# Seeds and benchmarks download from the hub: on a cluster they run on the login node, which has the network.
localrules:
    seeds,
    benchmark,


rule seeds:
    output:
        rows=f"{R}/seeds/{{domain}}.jsonl",
        stats=f"{R}/seeds/{{domain}}.stats.json",
    log:
        f"{R}/logs/seeds/{{domain}}.log",
    benchmark:
        f"{R}/runtime/seeds/{{domain}}.tsv"
    conda:
        envfile("data")
    params:
        key=lambda wc: f"seeds.{wc.domain}",
        domain=lambda wc: wc.domain,
        source=lambda wc: seed_source_params("seeds", wc.domain),
    script:
        "../scripts/build_seeds.py"


rule benchmark:
    output:
        rows=f"{R}/benchmarks/{{benchmark}}.jsonl",
        stats=f"{R}/benchmarks/{{benchmark}}.stats.json",
    log:
        f"{R}/logs/benchmark/{{benchmark}}.log",
    benchmark:
        f"{R}/runtime/benchmark/{{benchmark}}.tsv"
    conda:
        envfile("data")
    params:
        key=lambda wc: f"benchmarks.{wc.benchmark}",
        domain=lambda wc: config["benchmarks"][wc.benchmark].get("domain"),
        source=lambda wc: seed_source_params("benchmarks", wc.benchmark),
    script:
        "../scripts/build_seeds.py"
