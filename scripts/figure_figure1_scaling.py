"""Rule figure1_scaling: AIME accuracy against corpus size, the paper's Table 2 models and this run's -> Figure 1."""

from ded.runtime import snakemake_job
from ded.selection import read_chosen

with snakemake_job(snakemake) as log:  # noqa: F821 - injected by Snakemake
    from ded.figures.figure1_scaling import plot_scaling, reference_points, run_points

    chosen = snakemake.input.selection  # noqa: F821
    selected = read_chosen(chosen[0]) if chosen else None
    plot_scaling(
        reference=reference_points(snakemake.input.reference),  # noqa: F821
        run=run_points(list(snakemake.params.rows), dict(snakemake.params.names), selected),  # noqa: F821
        run_name=f"this run ({snakemake.params.mode} world)",  # noqa: F821
        pdf=snakemake.output.pdf,  # noqa: F821
        png=snakemake.output.png,  # noqa: F821
    )
