"""Rule claims: the paper's claims checked on this run -> R/tables/claims.{csv,tex}."""

from ded.reporting.claims import write_claims
from ded.runtime import snakemake_job

with snakemake_job(snakemake) as log:  # noqa: F821 - injected by Snakemake
    p = snakemake.params  # noqa: F821
    s = dict(p.settings)
    write_claims(rows=list(p.rows), teachers=dict(p.teachers), first_runs=dict(p.first_runs),
                 files=dict(p.files), selection_benchmarks=list(p.selection_benchmarks), ref_dir=p.ref_dir,
                 out_csv=snakemake.output.csv, out_tex=snakemake.output.tex, mode=p.mode,  # noqa: F821
                 n_boot=int(s["bootstrap"]), seed=int(s["seed"]), level=float(s["level"]), margin=float(s["margin"]))
