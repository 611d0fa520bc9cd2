"""PCA shift of the student's latent representations before and after training (the paper's Figure 4).

After Huan et al. 2025 ("Does Math Reasoning Improve General LLM Capabilities?", the method the paper uses): k
problem texts of a benchmark go through the base model and the fine-tuned one; every layer's hidden states (the
embedding output and each decoder layer, as `output_hidden_states` gives them) are mean-pooled over the non-padding
positions; a two-component PCA is fitted on the base model's features of that layer and both models' features are
projected onto it. The shift of a layer is the Euclidean distance between the two centroids in that plane.

Two departures from Huan et al.'s script, both deliberate: the pooling leaves padding out (theirs averages over the
left-padded batch, so a text's features depend on its batch), and a text is the benchmark row's question (theirs
joins a dataset's question and solution columns), since the solution is not part of what the model is asked.

The 'mean' row is Huan et al.'s `dis`: the distance between the base and the trained centroids after each has been
averaged over the layers (their `compute_centroid_distance` over the per-layer records), which is what the paper
writes on each panel.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass

import numpy as np

from ded.io import DataError, read_jsonl, write_text

log = logging.getLogger("ded.analysis.pca")

BATCH_SIZE = 8


def sample_problem_texts(rows: list[dict], k: int, seed: int, source: str = "benchmark") -> list[str]:
    """k problem texts drawn without replacement with `seed` (all of them when there are fewer)."""
    if not rows:
        raise DataError(f"{source}: no problems to draw from")
    missing = [i for i, row in enumerate(rows) if not str(row.get("question") or "").strip()]
    if missing:
        raise DataError(f"{source}:{missing[0] + 1}: empty or missing 'question'")
    picked = random.Random(seed).sample(range(len(rows)), min(k, len(rows)))
    return [rows[i]["question"] for i in picked]


def layer_features(model, tokenizer, texts: list[str], max_length: int, batch_size: int = BATCH_SIZE) -> np.ndarray:
    """Mean-pooled hidden states, float32 [layers + 1, len(texts), hidden]; padding positions are left out."""
    import torch

    from ded.analysis.loading import decoder_of, input_device

    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    # right padding keeps every real token at its own position (position ids do not follow the mask)
    tokenizer.padding_side = "right"
    decoder, device = decoder_of(model), input_device(model)
    per_batch = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            enc = tokenizer(texts[start:start + batch_size], return_tensors="pt", padding=True, truncation=True,
                            max_length=max_length, add_special_tokens=True)
            enc = {key: value.to(device) for key, value in enc.items() if key in ("input_ids", "attention_mask")}
            out = decoder(**enc, output_hidden_states=True, use_cache=False)
            mask = enc["attention_mask"].unsqueeze(-1).float()
            pooled = [((hs.float() * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)).cpu()
                      for hs in out.hidden_states]
            per_batch.append(torch.stack(pooled))          # [layers + 1, batch, hidden]
    return torch.cat(per_batch, dim=1).numpy()


@dataclass
class Shift:
    distances: list[float]      # per layer
    mean_distance: float        # Huan et al.'s dis (layer-averaged centroids)
    base_points: np.ndarray     # [layers, n, 2] base features projected on the base PCA of each layer
    tuned_points: np.ndarray    # [layers, n, 2]


def pca_shift(base: np.ndarray, tuned: np.ndarray) -> Shift:
    """Per-layer PCA(2) on the base features [L, n, H]; distances between projected centroids."""
    from sklearn.decomposition import PCA

    if base.shape != tuned.shape:
        raise ValueError(f"feature shapes differ: base {base.shape}, fine-tuned {tuned.shape}"
                         " (same texts, same architecture expected)")
    if base.shape[1] < 2:
        raise ValueError(f"PCA(2) needs at least 2 texts, got {base.shape[1]}")
    base_pts, tuned_pts = [], []
    for layer in range(base.shape[0]):
        pca = PCA(n_components=2, svd_solver="full").fit(base[layer])
        base_pts.append(pca.transform(base[layer]))
        tuned_pts.append(pca.transform(tuned[layer]))
    base_pts, tuned_pts = np.stack(base_pts), np.stack(tuned_pts)
    c_base, c_tuned = base_pts.mean(axis=1), tuned_pts.mean(axis=1)        # [L, 2]
    distances = np.linalg.norm(c_tuned - c_base, axis=1)
    mean_distance = float(np.linalg.norm(c_tuned.mean(axis=0) - c_base.mean(axis=0)))
    return Shift([float(d) for d in distances], mean_distance, base_pts, tuned_pts)


def run_pca_shift(*, experiments: dict[str, dict], benchmarks: dict[str, str], k: int, seed: int, max_length: int,
                  out_shift: str, out_points: str) -> None:
    """Rule pca_shift.

    experiments: name -> {teacher, base (path or hub id), base_revision, tokenizer (or None), tuned (path)};
    benchmarks: name -> R/benchmarks/{name}.jsonl.
    Writes pca_shift.csv (experiment, teacher, benchmark, layer, distance; layer 'mean' = dis) and pca_points.csv
    (every text's projection, base and trained, for Figure 4).
    """
    import gc

    import pandas as pd

    from ded.analysis.loading import load_causal_lm, load_tokenizer

    texts = {b: sample_problem_texts(read_jsonl(path), k, seed, source=str(path)) for b, path in benchmarks.items()}
    shift_rows, point_rows = [], []
    base_cache: dict[tuple, dict[str, np.ndarray]] = {}
    for name, exp in experiments.items():
        key = (exp["base"], exp.get("base_revision"))
        # one tokenizer (the base's) for both models: the same texts must give the same positions
        tokenizer = load_tokenizer(exp.get("tokenizer") or exp["base"],
                                   revision=None if exp.get("tokenizer") else exp.get("base_revision"))
        if key not in base_cache:
            base_model = load_causal_lm(exp["base"], revision=exp.get("base_revision"))
            base_cache[key] = {b: layer_features(base_model, tokenizer, t, max_length) for b, t in texts.items()}
            del base_model
            gc.collect()
        tuned_model = load_causal_lm(exp["tuned"])
        for bench, bench_texts in texts.items():
            shift = pca_shift(base_cache[key][bench], layer_features(tuned_model, tokenizer, bench_texts, max_length))
            log.info("%s on %s: dis %.4f over %d layers", name, bench, shift.mean_distance, len(shift.distances))
            common = {"experiment": name, "teacher": exp["teacher"], "benchmark": bench}
            for layer, dist in enumerate(shift.distances):
                shift_rows.append({**common, "layer": layer, "distance": dist})
            shift_rows.append({**common, "layer": "mean", "distance": shift.mean_distance})
            for state, pts in (("base", shift.base_points), ("trained", shift.tuned_points)):
                for layer in range(pts.shape[0]):
                    for i, (x, y) in enumerate(pts[layer]):
                        point_rows.append({"experiment": name, "benchmark": bench, "layer": layer, "state": state,
                                           "text": i, "pc1": float(x), "pc2": float(y)})
        del tuned_model
        gc.collect()
    write_text(out_shift, pd.DataFrame(shift_rows, columns=["experiment", "teacher", "benchmark", "layer", "distance"])
               .to_csv(index=False))
    write_text(out_points, pd.DataFrame(point_rows, columns=["experiment", "benchmark", "layer", "state", "text",
                                                             "pc1", "pc2"]).to_csv(index=False))
