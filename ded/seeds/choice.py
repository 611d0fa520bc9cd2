"""GPQA-Diamond (Idavidrein/gpqa, config gpqa_diamond): four options shuffled per question with a fixed seed."""

from __future__ import annotations

import random

from ded.io import DataError
from ded.seeds.schema import make_task

LETTERS = "ABCD"
GPQA_FIELDS = ("Question", "Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3")


def shuffled_options(correct: str, incorrect: list[str], seed: int, key: str) -> tuple[list[str], str]:
    """The four options in a fixed random order and the letter of the correct one.

    The order depends only on (seed, key): a string seed is hashed with SHA-512 by random.Random, so it is the same
    on every machine and Python run (PYTHONHASHSEED does not affect it), and one question's order does not change
    when other questions are added or removed.
    """
    options = [correct, *incorrect]
    order = list(range(len(options)))
    random.Random(f"gpqa:{seed}:{key}").shuffle(order)
    shuffled = [options[i] for i in order]
    return shuffled, LETTERS[order.index(0)]


def gpqa(row: dict, *, index: int, where: str, seed: int = 0, source: str = "gpqa_diamond") -> dict:
    texts = {}
    for field in GPQA_FIELDS:
        value = row.get(field)
        if not isinstance(value, str) or not value.strip():
            raise DataError(f"{where}: field {field!r} is {value!r}, expected a non-empty string")
        texts[field] = value.strip()
    key = str(row.get("Record ID") or index)
    options, letter = shuffled_options(texts["Correct Answer"], [texts[f"Incorrect Answer {i}"] for i in (1, 2, 3)],
                                       seed, key)
    question = texts["Question"] + "\n\n" + "\n".join(f"{LETTERS[i]}) {opt}" for i, opt in enumerate(options))
    meta = {"options": dict(zip(LETTERS, options)), "correct_text": texts["Correct Answer"], "shuffle_seed": seed}
    for field in ("Record ID", "High-level domain", "Subdomain", "Writer's Difficulty Estimate"):
        if row.get(field) is not None:
            meta[field] = row[field]
    return make_task(id=f"gpqa-{index:03d}", domain="choice", question=question, answer=letter, source=source,
                     source_index=index, meta=meta)
