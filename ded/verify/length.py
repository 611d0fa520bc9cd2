"""The length check: tokens of the response in the tokenizer of `filtering.tokenizer_of` (the student's), so that
the limit means the same thing whatever teacher wrote the response."""

from __future__ import annotations

from collections.abc import Sequence

BATCH = 64


def count_tokens(tokenizer, texts: Sequence[str]) -> list[int]:
    """Token counts of texts, without special tokens added by the tokenizer (a chat template's are not counted)."""
    counts: list[int] = []
    for start in range(0, len(texts), BATCH):
        chunk = list(texts[start:start + BATCH])
        ids = tokenizer(chunk, add_special_tokens=False)["input_ids"]
        counts.extend(len(x) for x in ids)
    return counts


def length_verdict(tokens: int, limit: int, finish_reason: str | None = None) -> dict:
    """{ok, tokens, limit, reason}: fails over the limit, and when generation was cut off (finish_reason length)."""
    if tokens > limit:
        return {"ok": False, "tokens": tokens, "limit": limit, "reason": "too_long"}
    if finish_reason == "length":
        return {"ok": False, "tokens": tokens, "limit": limit, "reason": "truncated"}
    return {"ok": True, "tokens": tokens, "limit": limit, "reason": "ok"}


def check_length(response: str, *, tokenizer, limit: int, finish_reason: str | None = None) -> dict:
    return length_verdict(count_tokens(tokenizer, [response])[0], limit, finish_reason)
