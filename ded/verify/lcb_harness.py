"""LiveCodeBench's grading of one program, run inside the sandbox as the program itself (never imported by the
workflow): `python solution.py code.py MODE FN_NAME TIMEOUT_S`, started by ded.verify.codecheck through
ded.verify.sandbox.Sandbox.start. Standard library only.

The rules are those of LiveCodeBench's harness (lcb_runner/evaluation/testing_util.py, LiveCodeBench/LiveCodeBench),
implemented here, not copied:
- the same prelude before the code: star imports of string, re, datetime, collections, heapq, bisect, copy, math,
  random, statistics, itertools, functools, operator, io, sys, json, builtins and typing, plain imports of the same
  modules but builtins and typing, and sys.setrecursionlimit(50000); its grader also allows 50,000-digit integers;
- MODE call (LeetCode, FN_NAME): the prelude, a blank line and the code are executed as module `tmp_sol`; when the
  text says `class Solution`, one Solution() instance, made then, serves every test, else the module's function; a
  test's input is one JSON value per line, passed as the arguments; the result (a top-level tuple made a list) goes
  back to the caller, which compares it with `==` against the JSON output (ded.verify.codecheck);
- MODE stdin: a last top-level `if __name__ == '__main__':` block is unwrapped, the top-level imports are hoisted and
  every other statement becomes the body of `wrapped_function()`, below the prelude; each test calls it with
  sys.stdin a StringIO of the input, open() a mock that reads the input, and sys.stdout a StringIO (whose close() is
  an uncallable lambda, as there) whose text goes back; SystemExit ends a test normally;
- the module's execution and each test run under a wall-clock alarm of TIMEOUT_S seconds that raises an Exception
  subclass (a program that catches every exception can swallow it, as there); any other exception fails the test.
All tests run in this one process, in order, until the caller stops sending them (it stops at the first failure).

Protocol on the harness's own stdin and stdout (the program's are redirected to /dev/null): frames of a 4-byte
big-endian length and UTF-8 JSON. Caller: {"input": str}. Harness: {"status": "ready"} once the code is loaded (or
"compile_error" with "error"), then per test "ok" with "output" (stdin) or "value" (call: a type-tagged value, see
encode), or "timeout" / "error" with "error".
"""

import ast
import io
import json
import os
import signal
import sys
import types

PRELUDE_STAR = ("string", "re", "datetime", "collections", "heapq", "bisect", "copy", "math", "random", "statistics",
                "itertools", "functools", "operator", "io", "sys", "json", "builtins", "typing")
PRELUDE_PLAIN = tuple(m for m in PRELUDE_STAR if m not in ("builtins", "typing"))
PRELUDE = ("".join(f"from {m} import *\n" for m in PRELUDE_STAR) + "".join(f"import {m}\n" for m in PRELUDE_PLAIN)
           + "sys.setrecursionlimit(50000)\n")
INT_DIGITS = 50_000
SHOWN = 500


class TimeoutException(Exception):
    """The test's alarm went off (an Exception, so that `except Exception` in a program catches it, as there)."""


def _on_alarm(signum, frame):
    raise TimeoutException()


def _alarm(seconds: float) -> None:
    signal.setitimer(signal.ITIMER_REAL, seconds)


# ---------------------------------------------------------------------------------------------------------------
# Building the program text
# ---------------------------------------------------------------------------------------------------------------
def unwrap_main_guard(code: str) -> str:
    """The code with a last top-level `if __name__ == '__main__':` replaced by its body (unchanged if unparsable)."""
    try:
        tree = ast.parse(code)
        last = tree.body[-1]
        if isinstance(last, ast.If) and ast.unparse(last.test).strip() == "__name__ == '__main__'":
            return ast.unparse(tree.body[:-1]) + "\n" + ast.unparse(last.body)
    except Exception:  # noqa: BLE001 (an unparsable program runs as written and fails there)
        pass
    return code


def wrap_in_function(code: str) -> str:
    """Prelude, the hoisted top-level imports, then `def wrapped_function():` holding every other statement."""
    try:
        tree = ast.parse(code)
        imports = [s for s in tree.body if isinstance(s, (ast.Import, ast.ImportFrom))]
        body = [s for s in tree.body if not isinstance(s, (ast.Import, ast.ImportFrom))]
        function = ast.FunctionDef(name="wrapped_function",
                                   args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[],
                                                      defaults=[]),
                                   body=body, decorator_list=[], lineno=-1)
        return PRELUDE + "\n" + ast.unparse(imports) + "\n" + ast.unparse(function)
    except Exception:  # noqa: BLE001
        return code


def load(code: str, mode: str, fn_name: str):
    """The callable a test runs: the method or function FN_NAME (call), or wrapped_function (stdin)."""
    program = PRELUDE + "\n\n" + code if mode == "call" else wrap_in_function(unwrap_main_guard(code))
    module = types.ModuleType("tmp_sol", "")
    exec(program, module.__dict__)
    owner = module.Solution() if "class Solution" in program else module
    name = fn_name if mode == "call" else "wrapped_function"
    if not hasattr(owner, name):
        raise AttributeError(f"the program defines no {name}")
    return getattr(owner, name)


# ---------------------------------------------------------------------------------------------------------------
# Running one test
# ---------------------------------------------------------------------------------------------------------------
def encode(value):
    """A JSON form that keeps the types `==` sees: lists, tuples, sets, frozensets and dicts are tagged; numbers and
    strings (subclasses taken as their base type) and None stay; anything else is opaque (equal to nothing)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    for kind, tag in ((list, "l"), (tuple, "t"), (set, "s"), (frozenset, "f")):
        if isinstance(value, kind):
            return {tag: [encode(v) for v in value]}
    if isinstance(value, dict):
        return {"d": [[encode(k), encode(v)] for k, v in value.items()]}
    try:
        shown = repr(value)[:200]
    except Exception:  # noqa: BLE001
        shown = "?"
    return {"o": f"{type(value).__name__}: {shown}"}


def run_call(method, test_input: str, timeout_s: float) -> dict:
    args = [json.loads(line) for line in test_input.split("\n")]
    _alarm(timeout_s)
    try:
        prediction = method(*args)
    finally:
        _alarm(0)
    if isinstance(prediction, tuple):
        prediction = list(prediction)
    return {"status": "ok", "value": encode(prediction)}


def run_stdin(method, test_input: str, timeout_s: float) -> dict:
    from unittest.mock import mock_open, patch

    captured = io.StringIO()
    captured.close = lambda x: 1
    saved_in, saved_out = sys.stdin, sys.stdout
    sys.stdin, sys.stdout = io.StringIO(test_input), captured
    try:
        with patch("builtins.open", mock_open(read_data=test_input)):
            _alarm(timeout_s)
            try:
                method()
            except SystemExit:
                pass
            finally:
                _alarm(0)
    finally:
        sys.stdin, sys.stdout = saved_in, saved_out
    return {"status": "ok", "output": captured.getvalue()}


def run_test(method, mode: str, test_input: str, timeout_s: float) -> dict:
    try:
        return (run_call if mode == "call" else run_stdin)(method, test_input, timeout_s)
    except TimeoutException:
        return {"status": "timeout", "error": "alarm went off"}
    except BaseException as exc:  # noqa: BLE001 (the program's failure is the test's verdict)
        return {"status": "error", "error": f"{type(exc).__name__}: {exc}"[:SHOWN]}


# ---------------------------------------------------------------------------------------------------------------
# The protocol
# ---------------------------------------------------------------------------------------------------------------
def _read_exact(fd: int, n: int) -> bytes | None:
    chunks, size = [], 0
    while size < n:
        chunk = os.read(fd, min(n - size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def receive(fd: int):
    head = _read_exact(fd, 4)
    body = None if head is None else _read_exact(fd, int.from_bytes(head, "big"))
    return None if body is None else json.loads(body.decode("utf-8"))


def send(fd: int, message: dict) -> None:
    data = json.dumps(message).encode("utf-8", errors="surrogatepass")
    data = len(data).to_bytes(4, "big") + data
    while data:
        data = data[os.write(fd, data):]


def main() -> None:
    code_path, mode, fn_name, timeout_s = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    inbox, outbox = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    sys.set_int_max_str_digits(INT_DIGITS)
    signal.signal(signal.SIGALRM, _on_alarm)
    with open(code_path, encoding="utf-8", errors="surrogateescape") as fh:
        code = fh.read()
    try:
        _alarm(timeout_s)
        try:
            method = load(code, mode, fn_name)
        finally:
            _alarm(0)
    except BaseException as exc:  # noqa: BLE001
        send(outbox, {"status": "compile_error", "error": f"{type(exc).__name__}: {exc}"[:SHOWN]})
        return
    send(outbox, {"status": "ready"})
    while True:
        message = receive(inbox)
        if message is None:
            return
        send(outbox, run_test(method, mode, message["input"], timeout_s))


if __name__ == "__main__":
    main()
