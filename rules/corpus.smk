# Corpus construction: decontamination of the seeds, the student's pass rates (compression), corpus variants
# (DED stages 2-4 applied to verified teacher samples) and the training corpus of each experiment.
# Input functions live in the "Corpus" section of rules/common.smk.


rule decontaminate:
    input:
        seeds=f"{R}/seeds/{{domain}}.jsonl",
        benchmarks=[f"{R}/benchmarks/{b}.jsonl" for b in BENCHMARKS],
    output:
        kept=f"{R}/decontam/{{domain}}.jsonl",
        hits=f"{R}/decontam/{{domain}}.hits.csv",
    log:
        f"{R}/logs/decontaminate/{{domain}}.log",
    benchmark:
        f"{R}/runtime/decontaminate/{{domain}}.tsv"
    conda:
        envfile("data")
    params:
        decontamination=config["decontamination"],
        benchmarks=BENCHMARKS,
    script:
        "../scripts/decontaminate.py"


# Pass rates and experiment corpora only count and copy rows: they run on the submit host.
localrules:
    passrate,
    experiment_corpus,


rule passrate:
    input:
        f"{R}/verified/{{student}}/{{domain}}.jsonl",
    output:
        f"{R}/passrate/{{student}}/{{domain}}.jsonl",
    log:
        f"{R}/logs/passrate/{{student}}/{{domain}}.log",
    benchmark:
        f"{R}/runtime/passrate/{{student}}/{{domain}}.tsv"
    wildcard_constraints:
        student="|".join(STUDENTS),
    priority: job_priority("passrate")
    conda:
        envfile("data")
    params:
        # the sampling parameters of compression are not passed: a change there already reruns sampling
        threshold=config["compression"]["threshold"],
        k=lambda wc: config["compression"]["k"] if wc.student == config["compression"]["student"] else None,
    script:
        "../scripts/passrate.py"


rule corpus_variant:
    input:
        unpack(get_corpus_variant_inputs),
    output:
        corpus=f"{R}/corpus/{{teacher}}/{{domain}}/{{variant}}.jsonl",
        stats=f"{R}/corpus/{{teacher}}/{{domain}}/{{variant}}.stats.json",
    log:
        f"{R}/logs/corpus_variant/{{teacher}}/{{domain}}/{{variant}}.log",
    benchmark:
        f"{R}/runtime/corpus_variant/{{teacher}}/{{domain}}/{{variant}}.tsv"
    wildcard_constraints:
        teacher="|".join(TEACHERS),
    priority: job_priority("corpus_variant")
    conda:
        envfile("data")
    threads: get_corpus_variant_threads
    params:
        settings=get_corpus_variant_params,
    script:
        "../scripts/corpus_variant.py"


rule experiment_corpus:
    input:
        get_experiment_corpus_inputs,
    output:
        corpus=f"{R}/corpus/experiments/{{experiment}}.jsonl",
        stats=f"{R}/corpus/experiments/{{experiment}}.stats.json",
    log:
        f"{R}/logs/experiment_corpus/{{experiment}}.log",
    benchmark:
        f"{R}/runtime/experiment_corpus/{{experiment}}.tsv"
    wildcard_constraints:
        experiment="|".join(EXPERIMENTS),
    priority: job_priority("experiment_corpus")
    conda:
        envfile("data")
    params:
        data=lambda wc: config["experiments"][wc.experiment]["data"],
        seed=lambda wc: dedcfg.training_params(config, wc.experiment)["seed"],
    script:
        "../scripts/experiment_corpus.py"
