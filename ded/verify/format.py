"""The format check: one reasoning block, then a non-empty answer (`<think>\\n...\\n</think>\\n\\n<answer>`)."""

from __future__ import annotations

from ded.verify.answers import THINK_CLOSE, THINK_OPEN


def check_format(response: str) -> dict:
    """{ok, reason}: exactly one `<think>` and one `</think>`, in that order, and text after `</think>`.

    reasons: ok, not_text, missing_think_open, missing_think_close, multiple_think_open, multiple_think_close,
    close_before_open, empty_answer.
    """
    if not isinstance(response, str):
        return {"ok": False, "reason": "not_text"}
    n_open, n_close = response.count(THINK_OPEN), response.count(THINK_CLOSE)
    if n_open == 0:
        return {"ok": False, "reason": "missing_think_open"}
    if n_close == 0:
        return {"ok": False, "reason": "missing_think_close"}
    if n_open > 1:
        return {"ok": False, "reason": "multiple_think_open"}
    if n_close > 1:
        return {"ok": False, "reason": "multiple_think_close"}
    close = response.find(THINK_CLOSE)
    if close < response.find(THINK_OPEN):
        return {"ok": False, "reason": "close_before_open"}
    if not response[close + len(THINK_CLOSE):].strip():
        return {"ok": False, "reason": "empty_answer"}
    return {"ok": True, "reason": "ok"}
