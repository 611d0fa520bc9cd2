"""The student's pass rate per question and whether it is hard (ded.corpus.passrate)."""

from ded.corpus.passrate import passrate_file
from ded.runtime import snakemake_job

with snakemake_job(snakemake) as log:  # noqa: F821 (snakemake is injected by the script directive)
    counts = passrate_file(snakemake.input[0], snakemake.output[0],
                           threshold=snakemake.params.threshold, k=snakemake.params.k)
    log.info("pass rates (threshold %s): %s", snakemake.params.threshold, counts)
