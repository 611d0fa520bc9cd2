"""Rule evaluate: one model on one benchmark -> per-sample correctness and the pass@1 summary."""

from ded.evaluate import run_evaluation
from ded.runtime import snakemake_job

with snakemake_job(snakemake) as log:  # noqa: F821 - injected by Snakemake
    p, w = snakemake.params, snakemake.wildcards  # noqa: F821
    run_evaluation(spec=dict(p.spec), benchmark_path=snakemake.input.benchmark, benchmark=w.benchmark,  # noqa: F821
                   model=w.model, n=int(p.samples), params=dict(p.decoding), filtering=dict(p.filtering),
                   n_boot=int(p.evaluation["bootstrap"]), seed=int(p.evaluation["seed"]),
                   samples_csv=snakemake.output.samples, summary_csv=snakemake.output.summary,  # noqa: F821
                   results_dir=snakemake.config["results_dir"],  # noqa: F821
                   backend_options={"num_threads": snakemake.threads})  # noqa: F821
