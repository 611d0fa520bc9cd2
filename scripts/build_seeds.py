"""Rules seeds and benchmark: one data_source config entry -> R/seeds/{domain}.jsonl or R/benchmarks/{name}.jsonl."""

from ded.runtime import snakemake_job
from ded.seeds import build_file

with snakemake_job(snakemake) as log:  # noqa: F821 - injected by Snakemake
    out = snakemake.output  # noqa: F821
    n = build_file(dict(snakemake.params.source), out.rows, key=snakemake.params.key,  # noqa: F821
                   domain=snakemake.params.domain, stats=out.stats)  # noqa: F821
    log.info("%s: wrote %d rows to %s (stats %s)", snakemake.params.key, n, out.rows, out.stats)  # noqa: F821
