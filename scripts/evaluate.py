"""Rule evaluate: one model on its benchmarks -> per-sample correctness and the pass@1 summary."""

from ded.evaluate import run_evaluation
from ded.runtime import snakemake_job

with snakemake_job(snakemake) as log:  # noqa: F821 - injected by Snakemake
    p = snakemake.params  # noqa: F821
    benchmarks = {name: {"path": path, "samples": int(n)}
                  for (name, n), path in zip(p.benchmarks.items(), snakemake.input.benchmarks, strict=True)}  # noqa: F821
    run_evaluation(spec=dict(p.spec), benchmarks=benchmarks, model=snakemake.wildcards.model,  # noqa: F821
                   params=dict(p.decoding), filtering=dict(p.filtering),
                   n_boot=int(p.evaluation["bootstrap"]), seed=int(p.evaluation["seed"]),
                   samples_csv=snakemake.output.samples, summary_csv=snakemake.output.summary,  # noqa: F821
                   results_dir=snakemake.config["results_dir"],  # noqa: F821
                   backend_options={"num_threads": snakemake.threads},  # noqa: F821
                   workers=snakemake.threads)  # noqa: F821 - verification processes once generation is done
