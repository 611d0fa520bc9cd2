"""The paper's figures (one module each): figure1_scaling, figure3_entropy, figure4_pca_shift.

Each module has one `plot_*` function that draws from CSVs and config values and writes the figure as PDF and PNG
(`save`). matplotlib runs on the Agg backend: figures are made on login nodes and in tests, without a display.
"""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")

from ded.io import atomic_path

PNG_DPI = 200


def style():
    import seaborn as sns

    sns.set_theme(context="paper", style="whitegrid", font_scale=1.15)


def save(fig, pdf: str | os.PathLike, png: str | os.PathLike) -> None:
    """Write both files atomically (format given explicitly: the temporary names end in .tmp)."""
    import matplotlib.pyplot as plt

    with atomic_path(pdf) as tmp:
        fig.savefig(tmp, format="pdf", bbox_inches="tight")
    with atomic_path(png) as tmp:
        fig.savefig(tmp, format="png", dpi=PNG_DPI, bbox_inches="tight")
    plt.close(fig)


def empty_panel(ax, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="0.4", wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])
