"""Code correctness: the last fenced Python block of the answer, run in the sandbox against every test of the task.

Output comparison is token by token (whitespace-separated, so line breaks and trailing spaces do not matter);
two tokens match when they are equal strings, or when both are numbers, at least one written as a float, within
`float_tolerance` (absolute or relative). Integers must match exactly.
"""

from __future__ import annotations

import math
import re

from ded.verify.answers import last_code_block
from ded.verify.sandbox import run_python

METHOD = "sandbox"
_INT = re.compile(r"[+-]?\d+")
_STDERR_SHOWN = 300


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


# LiveCodeBench's functional (LeetCode) problems: the tests call a method of the starter code's class with the JSON
# values of the input lines as arguments, and compare its JSON result. Imports LiveCodeBench's harness also provides.
_FUNCTIONAL_PRELUDE = ("from typing import *\nfrom collections import *\nfrom heapq import *\nfrom bisect import *\n"
                       "from math import *\nfrom itertools import *\nfrom functools import *\n"
                       "import collections, heapq, bisect, math, itertools, functools, string, re\n")
RESULT_MARK = "\n__DED_RESULT__"


def functional_program(code: str, func_name: str) -> str:
    """The answer's code, then a harness that calls Solution().<func_name> (or a top-level function) on stdin."""
    return (_FUNCTIONAL_PRELUDE + code + "\n\n"
            "def __ded_call():\n"
            "    import json, sys\n"
            "    args = [json.loads(line) for line in sys.stdin.read().split('\\n') if line.strip()]\n"
            "    cls = globals().get('Solution')\n"
            f"    name = {func_name!r}\n"
            "    fn = getattr(cls(), name) if cls is not None and hasattr(cls, name) else globals()[name]\n"
            "    out = fn(*args)\n"
            "    if isinstance(out, tuple):\n"
            "        out = list(out)\n"
            f"    sys.stdout.write({RESULT_MARK!r} + json.dumps(out) + '\\n')\n\n"
            "__ded_call()\n")


def values_match(got, want, tol: float) -> bool:
    """JSON values equal, floats within tolerance (tuples already lists)."""
    if isinstance(got, bool) or isinstance(want, bool):
        return got == want
    if isinstance(got, (int, float)) and isinstance(want, (int, float)):
        if isinstance(got, int) and isinstance(want, int):
            return got == want
        return tokens_match(repr(float(got)), repr(float(want)), tol)
    if isinstance(got, list) and isinstance(want, list):
        return len(got) == len(want) and all(values_match(a, b, tol) for a, b in zip(got, want))
    if isinstance(got, dict) and isinstance(want, dict):
        return got.keys() == want.keys() and all(values_match(got[k], want[k], tol) for k in got)
    return got == want


def functional_match(stdout: str, expected: str, tol: float) -> bool:
    import json

    if RESULT_MARK not in stdout:
        return False
    try:
        got = json.loads(stdout.rsplit(RESULT_MARK, 1)[1])
        want = json.loads(expected)
    except ValueError:
        return False
    return values_match(got, want, tol) or (isinstance(want, list) and len(want) == 1
                                            and values_match(got, want[0], tol))


CHECKER_LIMITS = {"time_limit_s": 10, "memory_mb": 1024}


def run_checker(checker: str, test_input: str, expected: str, output: bytes) -> tuple[bool | None, str]:
    """open-r1/codeforces special judges: `python checker.py input.txt correct_output.txt solution_output.txt`,
    accepted when it exits cleanly and the last token of its stdout is 1. Generated code too: it runs sandboxed.
    Returns (accepted, message); accepted None when the checker itself failed."""
    files = {"input.txt": test_input, "correct_output.txt": expected, "solution_output.txt": output}
    res = run_python(checker, b"", argv=list(files), files=files, **CHECKER_LIMITS)
    if res.status != "ok":
        return None, f"checker {res.status}: {res.message} {res.stderr_tail(200)}".strip()
    tokens = res.stdout.split()
    return (bool(tokens) and tokens[-1] == b"1"), "checker rejected the output"


def check_code(task: dict, response: str, *, code_cfg: dict) -> dict:
    """The verdict on a code response; stops at the first failing test (the verdict cannot change after it).

    The task's meta decides how tests run: testtype functional (LiveCodeBench LeetCode problems, with func_name),
    checker (a special judge program for problems with several right answers), input_mode file (input.txt and
    output.txt instead of stdin and stdout), interactive (not supported: verdict unsupported).
    reasons: passed, no_code, no_tests, unsupported, wrong_answer, runtime_error, timeout, memory, output_limit,
    checker_error, sandbox_error.
    Extra fields: tests (how many the task has), tests_passed, failed_test (index, when one failed), message,
    stderr (tail, when a test failed with output on stderr), time_limit_s, memory_mb.
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
    functional = meta.get("testtype") == "functional"
    if functional and not meta.get("func_name"):
        return code_verdict(False, "unsupported", message="functional tests without func_name", tests=len(tests),
                            tests_passed=0)
    program = functional_program(code, meta["func_name"]) if functional else code
    file_mode = meta.get("input_mode") == "file"
    checker = meta.get("checker") if not functional else None
    time_s, mem_mb = per_test_limits(task, code_cfg)
    tol = float(code_cfg.get("float_tolerance", 1e-6))
    limits = {"time_limit_s": time_s, "memory_mb": mem_mb}
    for i, test in enumerate(tests):
        test_input, expected = str(test["input"]), str(test["output"])
        cap = max(1 << 20, 4 * len(expected.encode("utf-8", errors="replace")))
        res = run_python(program, test_input, output_limit_bytes=cap,
                         files={"input.txt": test_input} if file_mode else None,
                         collect=["output.txt"] if file_mode else (), **limits)
        extra = {"tests": len(tests), "tests_passed": i, "failed_test": i, **limits}
        if res.status != "ok":
            return code_verdict(False, res.status, message=res.message, stderr=res.stderr_tail(_STDERR_SHOWN),
                                **extra)
        raw = res.files.get("output.txt", res.stdout) if file_mode else res.stdout
        actual = raw.decode("utf-8", errors="replace")
        if functional:
            ok, why = functional_match(actual, expected, tol), f"test {i}: result differs"
        elif checker:
            ok, why = run_checker(checker, test_input, expected, raw)
            if ok is None:
                return code_verdict(False, "checker_error", message=why, **extra)
        else:
            ok, why = outputs_match(actual, expected, tol), f"test {i}: output differs"
        if not ok:
            return code_verdict(False, "wrong_answer", message=why, **extra)
    return code_verdict(True, "passed", tests=len(tests), tests_passed=len(tests), **limits)
