"""Drop seed questions that share a word n-gram with any benchmark question (ded.corpus.decontam)."""

from ded.corpus.decontam import decontaminate_files
from ded.runtime import snakemake_job

with snakemake_job(snakemake) as log:  # noqa: F821 (snakemake is injected by the script directive)
    settings = snakemake.params.decontamination
    counts = decontaminate_files(
        snakemake.input.seeds,
        dict(zip(snakemake.params.benchmarks, snakemake.input.benchmarks, strict=True)),
        snakemake.output.kept,
        snakemake.output.hits,
        ngram=settings["ngram"],
        punctuation=settings.get("punctuation", "keep"),
    )
    log.info("decontamination (%d-grams): %s", settings["ngram"], counts)
