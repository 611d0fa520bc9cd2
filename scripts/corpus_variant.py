"""One corpus variant of a teacher and a domain, with its stats (ded.corpus.variants)."""

from ded.corpus.variants import corpus_variant_files
from ded.runtime import snakemake_job

with snakemake_job(snakemake) as log:  # noqa: F821 (snakemake is injected by the script directive)
    settings = snakemake.params.settings
    stats = corpus_variant_files(
        snakemake.wildcards.variant,
        teacher=snakemake.wildcards.teacher,
        domain=snakemake.wildcards.domain,
        verified=snakemake.input.verified,
        seeds=snakemake.input.seeds,
        hits=snakemake.input.hits,
        out_corpus=snakemake.output.corpus,
        out_stats=snakemake.output.stats,
        passrate=snakemake.input.get("passrate"),
        config_sections=settings,
        tokenizer_spec=settings.get("tokenizer"),
        workers=snakemake.threads,
    )
    log.info("%s: %d questions, %d samples, dropped %s", snakemake.wildcards.variant, stats["questions"],
             stats["samples"], stats["dropped"])
