"""Math correctness with math-verify: `verify(parse(gold), parse(answer part))`, gold first, under a time limit.

The prediction is the whole answer part of the response (after `</think>`), read by math-verify's own extraction
(its default LatexExtractionConfig and ExprExtractionConfig): it takes the last answer it can parse, reads answers
given in several \\boxed{} as one set (`\\boxed{1}, \\boxed{2}` is {1, 2}), and answers without a box (`the answer
is $\\frac{1}{2}$`). The gold answer is parsed as the content of one \\boxed{}.

math-verify guards its own work with signal.alarm, which only works in the main thread, and on a timeout it returns
"not equal" (indistinguishable from a wrong answer). Here its timeouts are off and one alarm covers the whole check
of an answer, raising MathTimeout (a BaseException, so that math-verify's `except Exception` cannot swallow it) and
turning into the verdict reason `timeout`. The alarm repeats every second in case some library code swallows it.
Hangs that no signal can interrupt (inside C code) are the job of the worker pool's hard deadline
(ded.verify.pool), which is why batch callers should use ded.verify.is_correct_many.
"""

from __future__ import annotations

import logging
import signal
import threading

from ded.verify.answers import answer_region

METHOD = "math-verify"
_SHOWN = 200  # characters of the extracted answer kept in the verdict


class MathTimeout(BaseException):
    """The time limit of one math check ran out."""


def in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def run_with_alarm(fn, seconds: float | None):
    """(timed_out, result) of fn(); the alarm only where signals work (the main thread), else no limit."""
    if not seconds or not in_main_thread():
        return False, fn()
    state = {"armed": True, "done": False}

    def on_alarm(signum, frame):
        if state["armed"]:
            raise MathTimeout()

    old = signal.signal(signal.SIGALRM, on_alarm)
    result, timed_out = None, False
    try:
        try:
            signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)
            result = fn()
            state["done"] = True
        finally:
            state["armed"] = False
    except MathTimeout:
        timed_out = not state["done"]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    return timed_out, result


def _quiet_math_verify() -> None:
    # with its own timeouts off, math-verify warns once per process; parse failures are logged at debug level
    for name in ("math_verify", "math_verify.parser", "math_verify.grader", "math_verify.utils"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _as_latex(answer: str) -> str:
    return answer if "\\boxed" in answer else f"\\boxed{{{answer}}}"


def _has_math(parsed) -> bool:
    """Did parse() produce a sympy object (not only the fallback string)?"""
    return any(not isinstance(p, str) for p in parsed)


def _shown(parsed) -> str | None:
    """What math-verify extracted, as text: its string of the match (the last item), else the parsed object."""
    if not parsed:
        return None
    return parsed[-1] if isinstance(parsed[-1], str) else str(parsed[0])


def math_verdict(ok: bool, reason: str, *, extracted: str | None, gold: str | None, **extra) -> dict:
    shown = None if extracted is None else extracted[:_SHOWN]
    return {"ok": ok, "method": METHOD, "reason": reason, "extracted": shown, "gold": gold, **extra}


def compare(gold: str, answer_text: str) -> tuple[bool, bool, list]:
    """(equal, gold parsed as math, what math-verify extracted from answer_text), without time limit: call under
    run_with_alarm."""
    from math_verify import parse, verify

    _quiet_math_verify()
    g = parse(_as_latex(gold), parsing_timeout=None)
    p = parse(answer_text, parsing_timeout=None)
    equal = bool(g and p and verify(g, p, timeout_seconds=None))
    return equal, _has_math(g), p


def check_math(gold: str | None, response: str, *, timeout_s: float | None) -> dict:
    """The verdict on a math response: math-verify's reading of its answer part against the gold answer.

    reasons: equal, not_equal, no_gold, no_answer (math-verify finds no answer after </think>), unparseable (what it
    found is not math and the strings differ: the judge's case), gold_unparseable, timeout, error. `extracted` is
    the text math-verify took as the answer.
    """
    if gold is None or not str(gold).strip():
        return math_verdict(False, "no_gold", extracted=None, gold=gold)
    gold = str(gold)
    region = answer_region(response)
    if not region.strip():
        return math_verdict(False, "no_answer", extracted=None, gold=gold)
    if not _WARM["done"]:
        warm_up()   # imports and parser construction are not the answer's time
    try:
        timed_out, result = run_with_alarm(lambda: compare(gold, region), timeout_s)
    except MathTimeout:  # a repeat of the alarm escaped its handler's window: still a timeout
        timed_out, result = True, None
    except Exception as exc:  # noqa: BLE001 (an error in a library on odd input is a verdict, not a crash)
        return math_verdict(False, "error", extracted=None, gold=gold, error=f"{type(exc).__name__}: {exc}"[:300])
    if timed_out:
        return math_verdict(False, "timeout", extracted=None, gold=gold, timeout_s=timeout_s)
    equal, gold_ok, parsed = result
    extracted = _shown(parsed)
    if equal:
        return math_verdict(True, "equal", extracted=extracted, gold=gold)
    if not parsed:
        return math_verdict(False, "no_answer", extracted=None, gold=gold)
    if not gold_ok:
        return math_verdict(False, "gold_unparseable", extracted=extracted, gold=gold)
    if not _has_math(parsed):
        return math_verdict(False, "unparseable", extracted=extracted, gold=gold)
    return math_verdict(False, "not_equal", extracted=extracted, gold=gold)


_WARM = {"done": False}


def warm_up() -> None:
    """Import math-verify and build its parsers once (a worker does this before its first deadline starts)."""
    compare("1", "1")
    _WARM["done"] = True
