"""Figure 1: AIME 2024 / 2025 accuracy against the number of training examples (log scale), with Pareto frontiers.

Two groups of points, each with its own frontier (fewer examples and higher accuracy are better): the paper's
Table 2 models fine-tuned from DS-32B (reported numbers), and this run's experiments that feed figure1, at the
size of their training corpus.
"""

from __future__ import annotations

import pandas as pd

from ded.figures import empty_panel, save, style

PANELS = {"aime24": "AIME 2024", "aime25": "AIME 2025"}


def pareto_front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points no other point beats on both size (smaller) and accuracy (higher), by increasing size."""
    front = []
    for n, acc in sorted(points, key=lambda p: (p[0], -p[1])):
        if not front or acc > front[-1][1]:
            front.append((n, acc))
    return front


def reference_points(reference_csv: str, base: str = "DS-32B") -> pd.DataFrame:
    """The paper's Table 2 rows fine-tuned from `base` with a known training-set size."""
    ref = pd.read_csv(reference_csv, dtype=str, keep_default_na=False)
    ref = ref[(ref["base"] == base) & (ref["train_examples"] != "")]
    out = pd.DataFrame({"label": ref["model"], "n": ref["train_examples"].astype(float)})
    for b in PANELS:
        out[b] = pd.to_numeric(ref[b].replace("", None), errors="coerce")
    return out.reset_index(drop=True)


def run_points(rows: list[dict], names: dict, selected: str | None = None) -> pd.DataFrame:
    """This run's figure1 experiments (ded.reporting.plan.figure1_rows): corpus size and AIME accuracy in percent
    (the mean over replicates)."""
    from ded.reporting import labels, readers

    recs = []
    for row in rows:
        stats = readers.read_stats(row["stats"])
        rec = {"label": labels.row_label(names, "figure1", row["experiment"], selected), "n": float(stats["samples"])}
        for b in PANELS:
            reps = [readers.read_summary(p, b).get("all", {}).get("pass1", float("nan"))
                    for p in row["summaries"]] if b in row["benchmarks"] else []
            mean, _ = readers.mean_and_sd(reps)
            rec[b] = 100 * mean if reps else float("nan")
        recs.append(rec)
    return pd.DataFrame(recs, columns=["label", "n", *PANELS])


RUN_MARKERS = ["D", "s", "^", "v", "P", "X", "p"]


def plot_scaling(*, reference: pd.DataFrame, run: pd.DataFrame, run_name: str, pdf: str, png: str) -> None:
    import matplotlib.pyplot as plt
    import seaborn as sns

    style()
    colors = sns.color_palette("colorblind", 10)
    run_colors = colors[1:]
    groups = [("paper: fine-tuned from DS-32B (Table 2)", "paper", reference, colors[0], "o", "--"),
              (run_name, "this run", run, colors[1], "D", "-")]
    fig, axes = plt.subplots(1, len(PANELS), figsize=(11, 4.4), sharey=True, squeeze=False)
    for ax, (bench, title) in zip(axes[0], PANELS.items()):
        drawn = False
        for name, short, frame, color, marker, ls in groups:
            frame = frame.dropna(subset=[bench])
            if frame.empty:
                continue
            drawn = True
            if short == "paper":
                ax.scatter(frame["n"], frame[bench], s=55, color=color, marker=marker, edgecolor="black",
                           linewidth=0.5, zorder=4, label=name)
                for rec in frame.to_dict("records"):
                    ax.annotate(rec["label"], (rec["n"], rec[bench]), textcoords="offset points", xytext=(6, 5),
                                fontsize=7.5, color="0.2", zorder=3.5,
                                bbox={"boxstyle": "round,pad=0.1", "facecolor": "white", "edgecolor": "none",
                                      "alpha": 0.75})
            else:
                # this run's points sit close together (tiny corpora, low accuracy): one legend entry each
                # instead of labels that would overlap
                for i, rec in enumerate(frame.to_dict("records")):
                    ax.scatter([rec["n"]], [rec[bench]], s=60, color=run_colors[i % len(run_colors)],
                               marker=RUN_MARKERS[i % len(RUN_MARKERS)], edgecolor="black", linewidth=0.5,
                               zorder=4, label=f"{short}: {rec['label']}")
            front = pareto_front(list(zip(frame["n"], frame[bench])))
            if len(front) > 1:
                xs, ys = zip(*front)
                ax.step(xs, ys, where="post", color=color, ls=ls, lw=1.3, alpha=0.9, zorder=3,
                        label=f"Pareto frontier ({short})")
        if not drawn:
            empty_panel(ax, "no points")
            continue
        ax.set_xscale("log")
        ax.set_title(title)
        ax.set_xlabel("training examples (log scale)")
        ax.set_ylim(0, 100)
        ax.margins(x=0.15)
    axes[0][0].set_ylabel("accuracy (pass@1, %)")
    seen: dict[str, object] = {}
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(label, handle)
    handles, labels = list(seen.values()), list(seen)
    if handles:
        fig.legend(handles, labels, loc="upper center", ncol=2, bbox_to_anchor=(0.5, 0.0), frameon=False)
    fig.suptitle("Accuracy against training-corpus size", y=1.02)
    fig.tight_layout()
    save(fig, pdf, png)
