"""Code correctness: the last fenced Python block of the answer, run in the sandbox against every test of the task.

Two graders:
- LiveCodeBench problems (source livecodebench, or any task with functional tests) are graded as LiveCodeBench's own
  harness does (ded.verify.lcb_harness runs its rules in the sandbox, all tests in one process): call-based tests
  compare the returned value with `==` against the JSON output; stdin tests compare line by line after stripping,
  a line matching when equal or when both lines read as the same list of Decimals.
- everything else (Codeforces, CodeContests, the tiny world): one fresh program process per test, all of one
  response's tests in one Sandbox. Outputs are compared token by token (whitespace-separated, so line breaks and
  trailing spaces do not matter); two tokens match when they are equal strings, or when both are numbers, at least
  one written as a float, within `float_tolerance` (absolute or relative); integers must match exactly. A problem
  with a checker (open-r1/codeforces `generated_checker`) is judged by running it, sandboxed, on each output.
Both stop at the first failing test (the verdict cannot change after it).
"""

from __future__ import annotations

import atexit
import json
import math
import re
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

from ded.verify.answers import last_code_block
from ded.verify.sandbox import RunResult, Sandbox, SandboxBroken

METHOD = "sandbox"
_INT = re.compile(r"[+-]?\d+")
_STDERR_SHOWN = 300
LCB_INT_DIGITS = 50_000        # LiveCodeBench's grader allows integers this long (sys.set_int_max_str_digits)
HARNESS = Path(__file__).with_name("lcb_harness.py")


# ---------------------------------------------------------------------------------------------------------------
# Output comparison
# ---------------------------------------------------------------------------------------------------------------
def tokens_match(actual: str, expected: str, tol: float) -> bool:
    if actual == expected:
        return True
    if _INT.fullmatch(actual) and _INT.fullmatch(expected):
        return int(actual) == int(expected)
    try:
        a, b = float(actual), float(expected)
    except ValueError:
        return False
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= tol or abs(a - b) <= tol * max(abs(a), abs(b))


def outputs_match(actual: str, expected: str, tol: float) -> bool:
    got, want = actual.split(), expected.split()
    return len(got) == len(want) and all(tokens_match(a, b, tol) for a, b in zip(got, want))


def _stripped_lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().split("\n")]


def _decimals(line: str) -> list[Decimal] | None:
    try:
        return [Decimal(token) for token in line.split()]
    except (InvalidOperation, ValueError):
        return None


def lcb_stdin_match(actual: str, expected: str) -> bool:
    """LiveCodeBench's stdin rule: the same number of stripped lines, each equal, or both the same Decimals."""
    got, want = _stripped_lines(actual), _stripped_lines(expected)
    if len(got) != len(want):
        return False
    for a, b in zip(got, want):
        if a == b:
            continue
        da, db = _decimals(a), _decimals(b)
        if da is None or db is None or da != db:
            return False
    return True


class _Opaque:
    """A value the harness could not send as data (an object of the program's own class): equal to nothing."""

    def __init__(self, shown: str):
        self.shown = shown

    def __eq__(self, other) -> bool:
        return False

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"<{self.shown}>"


def decode_value(tagged):
    """The Python value of ded.verify.lcb_harness.encode's JSON form."""
    if isinstance(tagged, dict):
        (tag, payload), = tagged.items()
        if tag == "l":
            return [decode_value(v) for v in payload]
        if tag == "t":
            return tuple(decode_value(v) for v in payload)
        if tag == "s":
            return {decode_value(v) for v in payload}
        if tag == "f":
            return frozenset(decode_value(v) for v in payload)
        if tag == "d":
            return {decode_value(k): decode_value(v) for k, v in payload}
        return _Opaque(str(payload))
    return tagged


def allow_lcb_integers() -> None:
    """Let json read the integers LiveCodeBench's own grader reads (this process-wide limit only ever rises)."""
    current = sys.get_int_max_str_digits()
    if current and current < LCB_INT_DIGITS:
        sys.set_int_max_str_digits(LCB_INT_DIGITS)


def lcb_call_match(tagged_result, expected: str) -> bool:
    """LiveCodeBench's call-based rule: the returned value `==` the JSON output (no tolerance)."""
    allow_lcb_integers()
    try:
        want = json.loads(expected)
        got = decode_value(tagged_result)
        return bool(got == want)
    except (ValueError, TypeError, RecursionError):
        return False


# ---------------------------------------------------------------------------------------------------------------
# Limits and verdicts
# ---------------------------------------------------------------------------------------------------------------
def per_test_limits(task: dict, code_cfg: dict) -> tuple[float, int]:
    """(CPU seconds, memory MB) of one test: the task's own limits, capped by filtering.code."""
    time_s = float(code_cfg.get("timeout_s", 6))
    mem_mb = int(code_cfg.get("memory_mb", 1024))
    if task.get("time_limit_s"):
        time_s = min(time_s, float(task["time_limit_s"]))
    if task.get("memory_limit_mb"):
        mem_mb = min(mem_mb, int(task["memory_limit_mb"]))
    return time_s, mem_mb


def code_verdict(ok: bool, reason: str, **extra) -> dict:
    return {"ok": ok, "method": METHOD, "reason": reason, **extra}


def uses_lcb_rules(task: dict) -> bool:
    return task.get("source") == "livecodebench" or (task.get("meta") or {}).get("testtype") == "functional"


def lcb_global_limit_s(time_s: float, n_tests: int) -> float:
    """LiveCodeBench's limit on a whole program run: (timeout + 1) per test, plus 5 seconds."""
    return (time_s + 1) * n_tests + 5


# ---------------------------------------------------------------------------------------------------------------
# Checkers (open-r1/codeforces special judges)
# ---------------------------------------------------------------------------------------------------------------
CHECKER_LIMITS = {"time_limit_s": 10, "memory_mb": 1024}


def run_checker(box: Sandbox, checker: str, test_input: str, expected: str, output: bytes) -> tuple[bool | None, str]:
    """One test through a special judge, run in `box`: `python checker.py input.txt correct_output.txt
    solution_output.txt`, accepted when it exits cleanly and the last token of its stdout is 1 (open-r1's
    contract). Returns (accepted, message); accepted None when the checker itself failed."""
    files = {"input.txt": test_input, "correct_output.txt": expected, "solution_output.txt": output}
    res = box.run(b"", argv=list(files), files=files, source=checker, **CHECKER_LIMITS)
    if res.status != "ok":
        return None, f"checker {res.status}: {res.message} {res.stderr_tail(200)}".strip()
    tokens = res.stdout.split()
    return (bool(tokens) and tokens[-1] == b"1"), "checker rejected the output"


def _failure(res: RunResult, **extra) -> dict:
    return code_verdict(False, res.status, message=res.message, stderr=res.stderr_tail(_STDERR_SHOWN), **extra)


# ---------------------------------------------------------------------------------------------------------------
# The two graders
# ---------------------------------------------------------------------------------------------------------------
class _SharedSandboxes:
    """One Sandbox per role (solutions, checkers) kept for the life of the process: its ~40 ms start (interpreter,
    namespaces) is paid once, not once per response; each run still gets a fresh process, folder and cleanup. Used by
    one caller at a time (a second thread, or a forked child, gets a Sandbox of its own)."""

    def __init__(self):
        import threading

        self.boxes: dict[str, tuple[int, Sandbox]] = {}
        self.locks = {role: threading.Lock() for role in ("solution", "checker")}

    def borrow(self, role: str) -> tuple[Sandbox, bool]:
        """(sandbox, shared): shared ones go back with give_back, private ones are closed by the caller."""
        import os

        if not self.locks[role].acquire(blocking=False):
            return Sandbox(), False
        pid, box = self.boxes.get(role, (None, None))
        if box is None or pid != os.getpid() or not box.idle():
            if box is not None and pid == os.getpid():
                box.close()
            try:
                box = Sandbox()
            except BaseException:
                self.locks[role].release()
                raise
            self.boxes[role] = (os.getpid(), box)
        return box, True

    def give_back(self, role: str, box: Sandbox, shared: bool) -> None:
        if shared:
            self.locks[role].release()
        else:
            box.close()

    def close(self) -> None:
        import os

        for pid, box in self.boxes.values():
            if pid == os.getpid():
                box.close()
        self.boxes = {}


_SHARED = _SharedSandboxes()
atexit.register(_SHARED.close)


def _grade_process_per_test(code: str, tests: list, meta: dict, limits: dict, tol: float) -> dict:
    file_mode = meta.get("input_mode") == "file"
    checker = meta.get("checker")
    try:
        box, shared = _SHARED.borrow("solution")
    except SandboxBroken as exc:
        return code_verdict(False, "sandbox_error", message=str(exc), tests=len(tests), tests_passed=0, **limits)
    judge = None

    def submit(test: dict):
        test_input, expected = str(test["input"]), str(test["output"])
        cap = max(1 << 20, 4 * len(expected.encode("utf-8", errors="replace")))
        return box.submit(test_input, output_limit_bytes=cap, files={"input.txt": test_input} if file_mode else None,
                          collect=["output.txt"] if file_mode else (), source=code, **limits)

    pending = None
    try:
        pending = submit(tests[0])
        for i, test in enumerate(tests):
            # the next test runs while this one's output is compared (after a failure it is stopped, unread)
            following = submit(tests[i + 1]) if i + 1 < len(tests) else None
            res = box.collect(pending)
            pending = following
            test_input, expected = str(test["input"]), str(test["output"])
            extra = {"tests": len(tests), "tests_passed": i, "failed_test": i, **limits}
            if res.status != "ok":
                return _failure(res, **extra)
            raw = res.files.get("output.txt", res.stdout) if file_mode else res.stdout
            if checker:
                if judge is None:
                    judge = _SHARED.borrow("checker")
                ok, why = run_checker(judge[0], checker, test_input, expected, raw)
                if ok is None:
                    return code_verdict(False, "checker_error", message=why, **extra)
            else:
                actual = raw.decode("utf-8", errors="replace")
                ok, why = outputs_match(actual, expected, tol), f"test {i}: output differs"
            if not ok:
                return code_verdict(False, "wrong_answer", message=why, **extra)
    except SandboxBroken as exc:
        return code_verdict(False, "checker_error", message=str(exc), tests=len(tests), **limits)
    finally:
        if pending is not None:
            box.discard(pending)
        _SHARED.give_back("solution", box, shared)
        if judge is not None:
            _SHARED.give_back("checker", *judge)
    return code_verdict(True, "passed", tests=len(tests), tests_passed=len(tests), **limits)


def _grade_livecodebench(code: str, tests: list, meta: dict, limits: dict) -> dict:
    call = meta.get("testtype") == "functional"
    time_s = limits["time_limit_s"]
    whole = lcb_global_limit_s(time_s, len(tests))
    base = {"tests": len(tests), "grader": "livecodebench", **limits}
    try:
        box = Sandbox(HARNESS.read_text(encoding="utf-8"), interactive=True)
    except SandboxBroken as exc:
        return code_verdict(False, "sandbox_error", message=str(exc), tests_passed=0, **base)
    with box:
        channel = box.start(argv=["code.py", "call" if call else "stdin", meta.get("func_name") or "", repr(time_s)],
                            files={"code.py": code}, time_limit_s=whole, wall_limit_s=whole,
                            memory_mb=limits["memory_mb"])

        def ended(i: int) -> dict:
            res = channel.finish()
            extra = {**base, "tests_passed": i, "failed_test": i}
            if res.status == "ok":   # it ended cleanly without answering: a program that exited the harness
                return code_verdict(False, "runtime_error", message="the program ended the run", **extra)
            return _failure(res, **extra)

        ready = channel.recv(whole)
        if ready is None:
            return ended(0)
        ready = json.loads(ready)
        if ready.get("status") != "ready":
            channel.finish()
            return code_verdict(False, "runtime_error", message=f"compile: {ready.get('error', '')}",
                                tests_passed=0, failed_test=0, **base)
        for i, test in enumerate(tests):
            if not channel.send(json.dumps({"input": str(test["input"])}).encode(), whole):
                return ended(i)
            reply = channel.recv(whole)
            if reply is None:
                return ended(i)
            try:
                answer = json.loads(reply)
            except ValueError:
                return ended(i)
            extra = {**base, "tests_passed": i, "failed_test": i}
            status = answer.get("status")
            if status == "timeout":
                return code_verdict(False, "timeout", message=f"test {i}: over {time_s} s", **extra)
            if status != "ok":
                error = str(answer.get("error", ""))
                reason = "memory" if error.startswith("MemoryError") else "runtime_error"
                return code_verdict(False, reason, message=f"test {i}: {error}"[:_STDERR_SHOWN], **extra)
            if call:
                ok = lcb_call_match(answer.get("value"), str(test["output"]))
            else:
                ok = lcb_stdin_match(str(answer.get("output", "")), str(test["output"]))
            if not ok:
                channel.finish()
                return code_verdict(False, "wrong_answer", message=f"test {i}: output differs", **extra)
        channel.finish()
    return code_verdict(True, "passed", tests_passed=len(tests), **base)


def check_code(task: dict, response: str, *, code_cfg: dict) -> dict:
    """The verdict on a code response; stops at the first failing test.

    The task decides how tests run: LiveCodeBench's rules for LiveCodeBench problems (meta.testtype functional with
    func_name: call-based; else stdin), otherwise one process per test, with meta.checker (a special judge for
    problems with several right answers), meta.input_mode file (input.txt and output.txt instead of stdin and
    stdout), meta.interactive (not supported: verdict unsupported).
    reasons: passed, no_code, no_tests, unsupported, wrong_answer, runtime_error, timeout, memory, output_limit,
    checker_error, sandbox_error.
    Extra fields: tests (how many the task has), tests_passed, failed_test (index, when one failed), message,
    stderr (tail, when a test failed with output on stderr), time_limit_s, memory_mb, grader (livecodebench).
    """
    code = last_code_block(response)
    tests = task.get("tests") or []
    meta = task.get("meta") or {}
    if code is None:
        return code_verdict(False, "no_code", tests=len(tests), tests_passed=0)
    if not tests:
        return code_verdict(False, "no_tests", tests=0, tests_passed=0)
    if meta.get("interactive"):
        return code_verdict(False, "unsupported", message="interactive problem", tests=len(tests), tests_passed=0)
    if meta.get("testtype") == "functional" and not meta.get("func_name"):
        return code_verdict(False, "unsupported", message="functional tests without func_name", tests=len(tests),
                            tests_passed=0)
    time_s, mem_mb = per_test_limits(task, code_cfg)
    limits = {"time_limit_s": time_s, "memory_mb": mem_mb}
    if uses_lcb_rules(task):
        return _grade_livecodebench(code, tests, meta, limits)
    return _grade_process_per_test(code, tests, meta, limits, float(code_cfg.get("float_tolerance", 1e-6)))
