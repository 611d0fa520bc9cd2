"""The training corpus of one experiment: its corpus pieces concatenated in config order (ded.corpus.experiment)."""

from ded.corpus.experiment import experiment_corpus_files
from ded.runtime import snakemake_job

with snakemake_job(snakemake) as log:  # noqa: F821 (snakemake is injected by the script directive)
    stats = experiment_corpus_files(snakemake.wildcards.experiment, snakemake.params.data, list(snakemake.input),
                                    snakemake.output.corpus, snakemake.output.stats, seed=snakemake.params.seed)
    log.info("%s: %d questions, %d samples from %d pieces", snakemake.wildcards.experiment, stats["questions"],
             stats["samples"], len(stats["pieces"]))
