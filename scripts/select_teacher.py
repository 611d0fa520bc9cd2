"""Checkpoint select_teacher: evaluation summaries of every select_<teacher> model -> ranking.csv, chosen.json."""

from ded.runtime import snakemake_job
from ded.selection import select_teacher

with snakemake_job(snakemake) as log:  # noqa: F821 - injected by Snakemake
    p = snakemake.params  # noqa: F821
    chosen = select_teacher(list(snakemake.input), teachers=list(p.teachers), benchmarks=list(p.benchmarks),  # noqa: F821
                            ranking_csv=snakemake.output.ranking, chosen_json=snakemake.output.chosen)  # noqa: F821
    log.info("chosen teacher: %s (mean pass@1 %.4f; tied with %s)", chosen["teacher"], chosen["mean_pass1"],
             chosen["tied_with"] or "none")
