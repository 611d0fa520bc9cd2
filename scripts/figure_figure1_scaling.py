import json
from pathlib import Path

from ded.runtime import snakemake_job

with snakemake_job(snakemake) as log:
    from ded.figures.figure1_scaling import plot_scaling, reference_points, run_points

    chosen = [f for f in snakemake.input.runs if f.endswith("chosen.json")]
    selected = json.loads(Path(chosen[0]).read_text(encoding="utf-8"))["teacher"] if chosen else None
    plot_scaling(
        reference=reference_points(snakemake.input.reference),
        run=run_points(snakemake.config, snakemake.config["results_dir"], selected),
        run_name=f"this run ({snakemake.params.mode} world)",
        pdf=snakemake.output.pdf,
        png=snakemake.output.png,
    )
