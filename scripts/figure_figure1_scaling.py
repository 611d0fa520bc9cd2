"""Rule figure1_scaling: AIME accuracy against corpus size, the paper's Table 2 models and this run's -> Figure 1."""

import json
from pathlib import Path

from ded.runtime import snakemake_job

with snakemake_job(snakemake) as log:  # noqa: F821 - injected by Snakemake
    from ded.figures.figure1_scaling import plot_scaling, reference_points, run_points

    chosen = snakemake.input.selection  # noqa: F821
    selected = json.loads(Path(chosen[0]).read_text(encoding="utf-8"))["teacher"] if chosen else None
    plot_scaling(
        reference=reference_points(snakemake.input.reference),  # noqa: F821
        run=run_points(list(snakemake.params.rows), dict(snakemake.params.names), selected),  # noqa: F821
        run_name=f"this run ({snakemake.params.mode} world)",  # noqa: F821
        pdf=snakemake.output.pdf,  # noqa: F821
        png=snakemake.output.png,  # noqa: F821
    )
