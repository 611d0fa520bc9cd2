"""Decontamination: drop seed questions that share a word n-gram with any evaluation benchmark question.

The test follows open-r1's scripts/decontaminate.py (itself s1's decontaminate_util): lower-case the text, collapse
whitespace, split on whitespace into words, and call a seed contaminated when any of its word n-grams (n = 8 in both)
occurs in a benchmark question. open-r1 keeps punctuation attached to words; `punctuation: strip` additionally
replaces every non-word, non-space character by a space, which also catches copies that differ only in LaTeX
delimiters or punctuation ("$x^2$" vs "\\(x^2\\)") at the price of more matches on formula-only stretches.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Mapping

from ded.corpus.records import read_tasks
from ded.io import DataError, write_jsonl, write_text

HITS_COLUMNS = ("seed_id", "benchmark", "benchmark_id", "ngram")
PUNCTUATION_MODES = ("keep", "strip")
_NON_WORD = re.compile(r"[^\w\s]")


def normalize_text(text: str, punctuation: str = "keep") -> str:
    if punctuation not in PUNCTUATION_MODES:
        raise ValueError(f"decontamination.punctuation: expected one of {PUNCTUATION_MODES}, got {punctuation!r}")
    text = text.lower()
    if punctuation == "strip":
        text = _NON_WORD.sub(" ", text)
    return " ".join(text.split())


def word_ngrams(text: str, n: int, punctuation: str = "keep") -> list[str]:
    """The word n-grams of the normalised text, in order (none when it has fewer than n words, as in open-r1)."""
    if n < 1:
        raise ValueError(f"decontamination.ngram: must be >= 1, got {n}")
    words = normalize_text(text, punctuation).split()
    return [" ".join(words[i:i + n]) for i in range(len(words) - n + 1)]


def build_lookup(benchmarks: Mapping[str, list[dict]], n: int, punctuation: str = "keep") -> dict[str, list[tuple]]:
    """n-gram -> [(benchmark, benchmark id), ...] over every benchmark question."""
    lookup: dict[str, list[tuple]] = {}
    for name, rows in benchmarks.items():
        for row in rows:
            key = (name, str(row["id"]))
            for gram in set(word_ngrams(row["question"], n, punctuation)):
                lookup.setdefault(gram, []).append(key)
    return lookup


def find_hits(seeds: list[dict], lookup: dict[str, list[tuple]], n: int, punctuation: str = "keep") -> list[dict]:
    """One hit per (seed, benchmark question) pair, with the first shared n-gram in the seed's text order."""
    hits = []
    for seed in seeds:
        found: dict[tuple, str] = {}
        for gram in word_ngrams(seed["question"], n, punctuation):
            for key in lookup.get(gram, ()):
                found.setdefault(key, gram)
        for (bench, bench_id), gram in found.items():
            hits.append({"seed_id": str(seed["id"]), "benchmark": bench, "benchmark_id": bench_id, "ngram": gram})
    return hits


def decontaminate(seeds: list[dict], benchmarks: Mapping[str, list[dict]], n: int,
                  punctuation: str = "keep") -> tuple[list[dict], list[dict]]:
    """(kept seed rows in input order, hit rows)."""
    hits = find_hits(seeds, build_lookup(benchmarks, n, punctuation), n, punctuation)
    dropped = {hit["seed_id"] for hit in hits}
    return [row for row in seeds if str(row["id"]) not in dropped], hits


def hits_csv(hits: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=HITS_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(hits)
    return buf.getvalue()


def read_hits_csv(path: str | os.PathLike) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != HITS_COLUMNS:
            raise DataError(f"{path}:1: expected columns {','.join(HITS_COLUMNS)}, got {reader.fieldnames}")
        return list(reader)


def decontaminate_files(seeds_path: str | os.PathLike, benchmark_paths: Mapping[str, str | os.PathLike],
                        kept_path: str | os.PathLike, hits_path: str | os.PathLike, *, ngram: int,
                        punctuation: str = "keep") -> dict:
    """The `decontaminate` rule: seeds + benchmark files -> kept seeds (JSONL) and hits (CSV); returns counts."""
    seeds = read_tasks(seeds_path)
    benchmarks = {name: read_tasks(path) for name, path in benchmark_paths.items()}
    kept, hits = decontaminate(seeds, benchmarks, ngram, punctuation)
    write_jsonl(kept_path, kept)
    write_text(hits_path, hits_csv(hits))
    per_benchmark = {name: len({h["seed_id"] for h in hits if h["benchmark"] == name}) for name in benchmarks}
    return {"seeds": len(seeds), "kept": len(kept), "dropped": len(seeds) - len(kept), "per_benchmark": per_benchmark}
