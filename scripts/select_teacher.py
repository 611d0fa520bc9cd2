"""Checkpoint select_teacher: the evaluation summary of each teacher's selection run -> ranking.csv, chosen.json."""

from ded.runtime import snakemake_job
from ded.selection import select_teacher

with snakemake_job(snakemake) as log:  # noqa: F821 - injected by Snakemake
    p = snakemake.params  # noqa: F821
    chosen = select_teacher(list(snakemake.input), runs=dict(p.runs), benchmarks=list(p.benchmarks),  # noqa: F821
                            ranking_csv=snakemake.output.ranking, chosen_json=snakemake.output.chosen)  # noqa: F821
    log.info("chosen teacher: %s (mean pass@1 %.4f; tied with %s)", chosen["teacher"], chosen["mean_pass1"],
             chosen["tied_with"] or "none")
