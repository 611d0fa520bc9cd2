"""Figure 3: the distribution of the student's token entropy over each teacher's corpus, side by side."""

from __future__ import annotations

import pandas as pd

from ded.figures import empty_panel, save, style


def reference_stats(reference_csv: str) -> dict[str, tuple[str, str]]:
    """The paper's (mean, median) per teacher, as printed."""
    ref = pd.read_csv(reference_csv, dtype=str, keep_default_na=False)
    return {r["teacher"]: (r["mean_token_entropy"], r["median_token_entropy"]) for r in ref.to_dict("records")}


def plot_entropy(*, entropy_csv: str, hist_csv: str, reference_csv: str, teachers: dict, student: str,
                 pdf: str, png: str) -> None:
    import matplotlib.pyplot as plt
    import seaborn as sns

    style()
    summary, hist = pd.read_csv(entropy_csv), pd.read_csv(hist_csv)
    paper = reference_stats(reference_csv)
    names = list(summary["teacher"]) or ["(none)"]
    colors = sns.color_palette("colorblind", max(len(names), 2))
    fig, axes = plt.subplots(1, len(names), figsize=(4.6 * len(names), 3.8), sharex=True, sharey=True,
                             squeeze=False)
    for i, (ax, teacher) in enumerate(zip(axes[0], names)):
        rows = summary[summary["teacher"] == teacher]
        h = hist[hist["teacher"] == teacher]
        if rows.empty or h.empty or rows.iloc[0]["n_tokens"] == 0:
            empty_panel(ax, "no entropy measured")
            continue
        rec = rows.iloc[0]
        spec = teachers.get(teacher) or {}
        h = h[h["count"] > 0]              # empty bins have no height on a log axis
        ax.bar(h["bin_left"], h["density"], width=h["bin_right"] - h["bin_left"], align="edge",
               color=colors[i], alpha=0.75, edgecolor="white", linewidth=0.3)
        ax.axvline(rec["mean"], color="black", lw=1.4, label=f"mean {rec['mean']:.3f}")
        ax.axvline(rec["median"], color="black", lw=1.4, ls="--", label=f"median {rec['median']:.3f}")
        ax.set_yscale("log", nonpositive="clip")
        # shared axes: limits from every teacher's bars, room above for the notes
        positive = hist.loc[hist["count"] > 0, "density"]
        ax.set_ylim(float(positive.min()) / 3, float(positive.max()) * 6)
        ax.set_xlim(0, float(hist["bin_right"].max()))
        ax.set_title(f"{spec.get('display_name', teacher)} corpus")
        ax.set_xlabel("token entropy (nats)")
        analog = spec.get("paper_analog")
        note = f"{int(rec['n_responses'])} responses, {int(rec['n_tokens']):,} tokens"
        if analog in paper:
            mean, median = paper[analog]
            note += f"\npaper ({analog}): mean {mean}, median {median}"
        ax.text(0.97, 0.97, note, transform=ax.transAxes, ha="right", va="top", fontsize=8.5,
                bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.85, "edgecolor": "0.8"})
        ax.legend(loc="center right", fontsize=8.5, frameon=True)
    axes[0][0].set_ylabel("density (log scale)")
    fig.suptitle(f"Token entropy of {student}'s predictions over each teacher's corpus", y=1.02)
    fig.tight_layout()
    save(fig, pdf, png)
