"""Figure 4: PCA shift of the student's representations, one panel per task, one colour per trained model.

Each panel shows the last layer's plane (the base model's two principal components): the base model's texts in grey,
each trained model's in its colour, centroids as large markers joined by an arrow; the legend gives each model's
`dis`, Huan et al.'s distance between the layer-averaged centroids (pca_shift.csv, layer 'mean').
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ded.figures import empty_panel, save, style


def legend_names(shift: pd.DataFrame, labels: dict[str, str | None], teachers: dict[str, str]) -> dict[str, str]:
    """experiment -> its `label`, else its teacher's display name (the teacher column holds the resolved key)."""
    names = {}
    for exp, teacher in shift[["experiment", "teacher"]].drop_duplicates("experiment").itertuples(index=False):
        names[exp] = labels.get(exp) or teachers.get(teacher, teacher)
    return names


def plot_pca_shift(*, shift_csv: str, points_csv: str, labels: dict[str, str | None], teachers: dict[str, str],
                   benchmark_names: dict[str, str], student: str, pdf: str, png: str) -> None:
    """labels: experiment -> label (or None); teachers: teacher key -> display name."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    style()
    shift, points = pd.read_csv(shift_csv, dtype={"layer": str}), pd.read_csv(points_csv)
    benches = list(dict.fromkeys(shift["benchmark"])) or ["(none)"]
    experiments = list(dict.fromkeys(shift["experiment"]))
    labels = legend_names(shift, labels, teachers)
    colors = dict(zip(experiments, sns.color_palette("colorblind", max(len(experiments), 2))))
    last = int(points["layer"].max()) if not points.empty else 0
    fig, axes = plt.subplots(1, len(benches), figsize=(4.4 * len(benches), 4.3), squeeze=False)
    for ax, bench in zip(axes[0], benches):
        at = points[(points["benchmark"] == bench) & (points["layer"] == last)]
        if at.empty:
            empty_panel(ax, "no PCA shift measured")
            continue
        drawn_bases = []
        for exp in experiments:
            base = at[(at["experiment"] == exp) & (at["state"] == "base")][["pc1", "pc2"]].to_numpy()
            if base.size and not any(b.shape == base.shape and np.allclose(b, base) for b in drawn_bases):
                ax.scatter(base[:, 0], base[:, 1], s=14, color="0.6", alpha=0.7,
                           label="base (before)" if not drawn_bases else None)
                ax.scatter(*base.mean(axis=0), s=140, marker="X", color="0.25", edgecolor="white", zorder=5)
                drawn_bases.append(base)
        for exp in experiments:
            base = at[(at["experiment"] == exp) & (at["state"] == "base")][["pc1", "pc2"]].to_numpy()
            tuned = at[(at["experiment"] == exp) & (at["state"] == "trained")][["pc1", "pc2"]].to_numpy()
            if not tuned.size:
                continue
            dis = shift[(shift["experiment"] == exp) & (shift["benchmark"] == bench) & (shift["layer"] == "mean")]
            dis_text = f"{float(dis['distance'].iloc[0]):.2f}" if len(dis) else "n/a"
            ax.scatter(tuned[:, 0], tuned[:, 1], s=14, color=colors[exp], alpha=0.7,
                       label=f"{labels.get(exp, exp)}: dis = {dis_text}")
            c_base, c_tuned = base.mean(axis=0), tuned.mean(axis=0)
            ax.scatter(*c_tuned, s=160, marker="*", color=colors[exp], edgecolor="black", linewidth=0.6, zorder=6)
            ax.annotate("", xy=c_tuned, xytext=c_base, zorder=4,
                        arrowprops={"arrowstyle": "->", "color": colors[exp], "lw": 1.6})
        ax.set_title(benchmark_names.get(bench, bench))
        ax.set_xlabel(f"PC1 (base, layer {last})")
        ax.set_ylabel("PC2")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=8.5, frameon=False, markerscale=1.6,
                  title="dis: centroid shift, all layers", title_fontsize=8.5)
    fig.suptitle(f"PCA shift of {student} after training on each teacher's corpus", y=1.02)
    fig.tight_layout()
    save(fig, pdf, png)
