"""Math correctness with math-verify: `verify(parse(gold), parse(prediction))`, gold first, under a time limit.

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

from ded.verify.answers import answer_region, last_boxed

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


def math_verdict(ok: bool, reason: str, *, extracted: str | None, gold: str | None, **extra) -> dict:
    shown = None if extracted is None else extracted[:_SHOWN]
    return {"ok": ok, "method": METHOD, "reason": reason, "extracted": shown, "gold": gold, **extra}


def compare(gold: str, prediction: str) -> tuple[bool, bool, bool]:
    """(equal, gold parsed as math, prediction parsed as math), without time limit: call under run_with_alarm."""
    from math_verify import parse, verify

    _quiet_math_verify()
    g = parse(_as_latex(gold), parsing_timeout=None)
    p = parse(_as_latex(prediction), parsing_timeout=None)
    equal = bool(g and p and verify(g, p, timeout_seconds=None))
    return equal, _has_math(g), _has_math(p)


def check_math(gold: str | None, response: str, *, timeout_s: float | None) -> dict:
    """The verdict on a math response: its last \\boxed{} of the answer part against the gold answer.

    reasons: equal, not_equal, no_gold, no_answer (no \\boxed{} after </think>), unparseable (math-verify could not
    read the prediction as math and the strings differ: the judge's case), gold_unparseable, timeout, error.
    """
    if gold is None or not str(gold).strip():
        return math_verdict(False, "no_gold", extracted=None, gold=gold)
    gold = str(gold)
    extracted = last_boxed(answer_region(response))
    if extracted is None or not extracted:
        return math_verdict(False, "no_answer", extracted=extracted, gold=gold)
    if not _WARM["done"]:
        warm_up()   # imports and parser construction are not the answer's time
    try:
        timed_out, result = run_with_alarm(lambda: compare(gold, extracted), timeout_s)
    except MathTimeout:  # a repeat of the alarm escaped its handler's window: still a timeout
        timed_out, result = True, None
    except Exception as exc:  # noqa: BLE001 (an error in a library on odd input is a verdict, not a crash)
        return math_verdict(False, "error", extracted=extracted, gold=gold, error=f"{type(exc).__name__}: {exc}"[:300])
    if timed_out:
        return math_verdict(False, "timeout", extracted=extracted, gold=gold, timeout_s=timeout_s)
    equal, gold_ok, pred_ok = result
    if equal:
        return math_verdict(True, "equal", extracted=extracted, gold=gold)
    if not gold_ok:
        return math_verdict(False, "gold_unparseable", extracted=extracted, gold=gold)
    if not pred_ok:
        return math_verdict(False, "unparseable", extracted=extracted, gold=gold)
    return math_verdict(False, "not_equal", extracted=extracted, gold=gold)


_WARM = {"done": False}


def warm_up() -> None:
    """Import math-verify and build its parsers once (a worker does this before its first deadline starts)."""
    compare("1", "1")
    _WARM["done"] = True
