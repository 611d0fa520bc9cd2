"""Diverse trajectories (DED stage 4): keep the P responses of a question that lie farthest apart.

Distance is the Levenshtein (edit) distance, over characters or over token ids (`diversity.unit`). Selection is
greedy max-min (farthest-point): start from the response with the largest sum of distances to all the others, then
repeatedly add the response whose distance to its nearest already-chosen response is largest. Ties go to the lowest
position, i.e. the lowest sample index, because callers pass responses sorted by sample_index.

The pairwise matrix is computed once by rapidfuzz.process.cdist (C++, multi-threaded; passing the same list as
queries and choices lets it compute one triangle of the symmetric matrix), and selection is O(P * n) NumPy work on
that matrix, so selection costs essentially the bare cdist (benchmarks/corpus_bench.py measures the ratio).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

UNITS = ("chars", "tokens")
DEFAULT_UNIT = "chars"


def distance_matrix(items: Sequence[str] | Sequence[Sequence[Hashable]], workers: int = -1) -> np.ndarray:
    """Symmetric n x n matrix of Levenshtein distances (strings: over characters; sequences: over their elements)."""
    from rapidfuzz import process
    from rapidfuzz.distance import Levenshtein

    items = list(items)
    return process.cdist(items, items, scorer=Levenshtein.distance, dtype=np.int64, workers=workers)


def farthest_point_order(dist: np.ndarray, p: int) -> list[int]:
    """Greedy max-min selection of min(p, n) indices from a distance matrix, in the order they were chosen."""
    n = dist.shape[0]
    if p < 1:
        raise ValueError(f"diversity.P: must be >= 1, got {p}")
    if n <= p:
        return list(range(n))
    start = int(np.argmax(dist.sum(axis=1)))  # argmax returns the first maximum: ties -> lowest index
    chosen = [start]
    nearest = dist[start].astype(np.float64)  # distance of each candidate to its nearest chosen response
    nearest[start] = -1.0
    for _ in range(p - 1):
        pick = int(np.argmax(nearest))
        chosen.append(pick)
        nearest = np.minimum(nearest, dist[pick])
        nearest[chosen] = -1.0
    return chosen


def select_diverse(items: Sequence[str] | Sequence[Sequence[Hashable]], p: int, workers: int = -1) -> list[int]:
    """Indices (sorted) of the min(p, n) most mutually distant items; no distances are computed when n <= p."""
    if p < 1:
        raise ValueError(f"diversity.P: must be >= 1, got {p}")
    if len(items) <= p:
        return list(range(len(items)))
    return sorted(farthest_point_order(distance_matrix(items, workers), p))


def check_settings(settings: dict) -> dict:
    """The `diversity` config section as the corpus stats record it ({P, unit}); a bad value names its key."""
    p, unit = settings.get("P"), settings.get("unit", DEFAULT_UNIT)
    if not isinstance(p, int) or isinstance(p, bool) or p < 1:
        raise ValueError(f"diversity.P: must be an integer >= 1, got {p!r}")
    if unit not in UNITS:
        raise ValueError(f"diversity.unit: expected one of {UNITS}, got {unit!r}")
    return {"P": p, "unit": unit}


def needs_tokenizer(settings: dict) -> bool:
    """Edit distance over token ids needs the tokenizer of filtering.tokenizer_of."""
    return settings.get("unit", DEFAULT_UNIT) == "tokens"


def select_responses(passing: Sequence, settings: dict, *, encode=None, workers: int = -1) -> list:
    """The corpus variant's choice: the P passing responses of a question farthest apart (all when fewer), in
    sample order. `passing` holds ded.corpus.records.Sample rows sorted by sample index."""
    p = settings["P"]
    if len(passing) <= p:
        return list(passing)
    if needs_tokenizer(settings):
        if encode is None:
            raise ValueError("diversity.unit tokens: needs a tokenizer (filtering.tokenizer_of)")
        items = [encode(s.response) for s in passing]
    else:
        items = [s.response for s in passing]
    return [passing[i] for i in select_diverse(items, p, workers=workers)]


def load_token_encoder(spec: dict):
    """text -> list of token ids, with the tokenizer of a model spec (its `tokenizer` field, else `model`)."""
    from ded.runtime import skip_unused_imports_in_transformers

    skip_unused_imports_in_transformers()
    from transformers import AutoTokenizer

    if spec.get("tokenizer"):  # a separate tokenizer id: the model's revision pin does not apply to it
        tok = AutoTokenizer.from_pretrained(spec["tokenizer"])
    else:
        tok = AutoTokenizer.from_pretrained(spec["model"], revision=spec.get("revision"))

    def encode(text: str) -> list[int]:
        return tok(text, add_special_tokens=False)["input_ids"]

    return encode
