from ded.runtime import snakemake_job

with snakemake_job(snakemake) as log:
    from ded.analysis.entropy import run_token_entropy

    ent, spec = snakemake.params.entropy, snakemake.params.model
    run_token_entropy(
        corpora=snakemake.params.corpora,
        model=spec["model"],
        tokenizer=spec.get("tokenizer"),
        revision=spec.get("revision"),
        out_entropy=snakemake.output.entropy,
        out_hist=snakemake.output.hist,
        out_responses=snakemake.output.responses,
        chunk_size=ent.get("chunk_size", 1024),
        bins=ent.get("bins", 50),
        corpus_label=f"{ent.get('domain', 'math')}/{ent.get('variant', 'first')}",
        max_examples=ent.get("max_examples"),
    )
