"""Verification (ded.verify): answer extraction, the three checks, the judge, the worker pool's hard deadline, the
stage on good and bad input files, and fidelity to the reference graders: math answers in several \\boxed{} (and
MATH-500 reference solutions and perturbed gold answers), GPQA letters, LiveCodeBench's own grading rules."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from ded.io import DataError, read_jsonl, write_jsonl
from ded.seeds.schema import make_task
from ded.verify import (
    answer_region,
    check_format,
    count_tokens,
    extract_choice,
    is_correct,
    is_correct_many,
    last_boxed,
    last_code_block,
    length_verdict,
    verify_response,
)
from ded.verify.codecheck import check_code
from ded.verify.mathcheck import check_math
from ded.verify.pool import Job, WorkerPool
from ded.verify.stage import verify_file

FILTERING = {"max_tokens": 300, "tokenizer_of": "student", "math_timeout_s": 2,
             "code": {"timeout_s": 1, "memory_mb": 256, "float_tolerance": 1e-6}, "judge": None}
HANG = "<think>big</think>\n\n\\boxed{10^{10^{10}}}"   # math-verify's comparison runs for minutes on this

MATH = make_task(id="m1", domain="math", question="What is 1/2 + 0?", answer="\\frac{1}{2}", source="test",
                 source_index=0)
CHOICE = make_task(id="g1", domain="choice", question="Pick B.\n(A) 1\n(B) 2", answer="B", source="test",
                   source_index=1)
CODE = make_task(id="c1", domain="code", question="Print a + b.", source="test", source_index=2,
                 tests=[{"input": "1 2\n", "output": "3\n"}, {"input": "-5 5\n", "output": "0"}], time_limit_s=1)
ADD = "<think>read two ints</think>\n\n```python\na, b = map(int, input().split())\nprint(a + b)\n```"
LOOP = "<think>loop</think>\n\n```python\nwhile True:\n    pass\n```"


def response(answer: str, think: str = "some reasoning") -> str:
    return f"<think>\n{think}\n</think>\n\n{answer}"


# --- extraction ---------------------------------------------------------------------------------------------------
def test_answer_region_and_last_boxed():
    text = "<think>try \\boxed{1}</think>\n\nSo \\boxed{\\frac{1}{2}} and finally \\boxed{x^{2}+\\{1\\}}"
    assert answer_region(text).startswith("\n\nSo")
    assert last_boxed(answer_region(text)) == "x^{2}+\\{1\\}"
    assert last_boxed("\\fbox{7} then \\boxed 5 end") == "5"
    assert last_boxed("\\boxed{3} and a cut-off \\boxed{4") == "3"
    assert last_boxed("no box here") is None
    assert answer_region("no think tags \\boxed{2}") == "no think tags \\boxed{2}"


def test_extract_choice_and_code_block():
    assert extract_choice(response("\\boxed{C}")) == "C"
    assert extract_choice(response("\\boxed{\\text{(D)}}")) == "D"
    assert extract_choice(response("The answer is (A).")) == "A"
    assert extract_choice(response("I am not sure.")) is None
    text = response("```python\nprint(1)\n```\nbetter:\n```py\nprint(2)\n```\n```text\nnot code\n```")
    assert last_code_block(text) == "print(2)\n"
    assert last_code_block(response("```\nprint(3)\n```")) == "print(3)\n"
    assert last_code_block("<think>```python\nprint(0)\n```</think>\n\nno code") is None


@pytest.mark.parametrize("text,letters,expected", [
    ("The answer is a bit subtle.", "ABCD", None),                  # a word, not a letter (any case used to match)
    ("The answer is: I would pick (B).", "ABCD", "B"),              # "I" used to be taken
    ("The answer is: I would pick (B).", "ABCDEFGHIJ", "B"),        # even when I is an option: the pronoun
    ("The answer is I", "ABCDEFGHIJ", "I"),
    ("answer: d", "ABCD", None),                                    # lowercase: not announced as a letter
    ("The answer is E", "ABCD", None),                              # not an option
    ("The answer is B because it fits.", "ABCD", "B"),
    ("Answer: **C**", "ABCD", "C"),
    ("Answer:\n\n(B) 42", "ABCD", "B"),
    ("So option (D) is right", "ABCD", "D"),
    ("The options are (A) and (B); the answer is C.", "ABCD", "C"),  # the last announcement
    ("The answer is 42, which is option B", "ABCD", "B"),
    ("Answer: None of the options", "ABCD", None),
    ("\\boxed{b}", "ABCD", "B"),                                    # in a box a lone letter is a letter
    ("\\boxed{E}", "ABCD", None),
])
def test_choice_letters_only_as_letters(text, letters, expected):
    assert extract_choice(response(text), letters) == expected


def test_choice_task_letters_come_from_its_options():
    ten = dict(CHOICE, answer="I", meta={"options": {c: str(i) for i, c in enumerate("ABCDEFGHIJ")}})
    assert is_correct(ten, response("The answer is I"), filtering=FILTERING)["ok"] is True
    assert is_correct(CHOICE, response("The answer is I"), filtering=FILTERING)["reason"] == "no_answer"


# --- format and length -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text,ok,reason", [
    ("<think>\nr\n</think>\n\n\\boxed{1}", True, "ok"),
    ("<think>a</think><think>b</think> \\boxed{1}", False, "multiple_think_open"),
    ("<think>a</think></think> \\boxed{1}", False, "multiple_think_close"),
    ("</think> x <think> \\boxed{1}", False, "close_before_open"),
    ("<think>never closed \\boxed{1}", False, "missing_think_close"),
    ("\\boxed{1}", False, "missing_think_open"),
    ("<think>r</think>\n \n", False, "empty_answer"),
])
def test_format(text, ok, reason):
    assert check_format(text) == {"ok": ok, "reason": reason}


def test_length_counts_with_the_given_tokenizer(random_tiny_model):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(random_tiny_model)
    texts = ["<think>12 + 30 = 42</think> \\boxed{42}", "", "x" * 50]
    counts = count_tokens(tok, texts)
    assert counts == [len(tok(t, add_special_tokens=False)["input_ids"]) for t in texts]
    assert counts[1] == 0 and counts[0] > 3
    assert length_verdict(counts[0], counts[0], "stop")["ok"]
    assert length_verdict(counts[0], counts[0] - 1, "stop") == {"ok": False, "tokens": counts[0],
                                                                "limit": counts[0] - 1, "reason": "too_long"}
    assert length_verdict(5, 300, "length")["reason"] == "truncated"
    checks = verify_response(MATH, response("\\boxed{0.5}"), tokenizer=tok, filtering=FILTERING)
    assert set(checks) == {"length", "format", "correct"}
    assert checks["length"]["ok"] and checks["format"]["ok"] and checks["correct"]["ok"]


# --- correctness ---------------------------------------------------------------------------------------------------
def test_math_verdicts():
    def verdict(text):
        return is_correct(MATH, text, filtering=FILTERING)

    assert verdict(response("\\boxed{0.5}"))["reason"] == "equal"
    assert verdict(response("\\boxed{\\dfrac{2}{4}}"))["ok"] is True
    wrong = verdict(response("\\boxed{3}"))
    assert wrong == {"ok": False, "method": "math-verify", "reason": "not_equal", "extracted": "3",
                     "gold": "\\frac{1}{2}"}
    assert verdict(response("the answer is one half"))["reason"] == "no_answer"
    # a boxed answer in the reasoning does not count
    assert verdict("<think>\\boxed{1/2}</think>\n\nI give up.")["reason"] == "no_answer"
    assert verdict(response("\\boxed{\\text{half of it}\\weird}"))["reason"] == "unparseable"


# Answers in several \\boxed{} (cases of the kind seen in real responses): math-verify reads the whole answer part
# (the project used to compare only the last box, so every `ok` case here failed); hedged or incomplete answer sets
# stay wrong, and reasoning-only boxes still do not count.
@pytest.mark.parametrize("gold,answer,ok", [
    ("(2, 2), (6, 2)", "So the solutions are \\boxed{(2, 2)} and \\boxed{(6, 2)}.", True),
    ("1, 2, 3", "The values are \\boxed{1}, \\boxed{2}, \\boxed{3}.", True),
    ("k = 45, n = 2", "Thus \\boxed{k = 45} \\quad \\text{and} \\quad \\boxed{n = 2}", True),
    ("45, 2", "Thus \\boxed{k = 45} \\quad \\text{and} \\quad \\boxed{n = 2}", True),
    ("\\frac{1}{2}", "First I thought \\boxed{3}. That is wrong: the answer is \\boxed{\\frac12}.", True),
    ("\\frac{1}{2}", "The answer is $\\frac{1}{2}$.", True),                     # no box at all
    ("(2, 2), (6, 2)", "\\boxed{(2, 2)} and \\boxed{(6, 3)}", False),
    ("1, 2, 3", "\\boxed{1}, \\boxed{2}", False),                                 # one missing
    ("3", "It is one of \\boxed{1}, \\boxed{2}, \\boxed{3}.", False),            # hedging over three
    ("k = 45, n = 2", "\\boxed{k = 45} \\quad \\text{and} \\quad \\boxed{n = 3}", False),
])
def test_math_answers_in_several_boxes(gold, answer, ok):
    verdict = check_math(gold, response(answer), timeout_s=5)
    assert verdict["ok"] is ok, verdict
    assert verdict["reason"] == ("equal" if ok else "not_equal")


def test_math_boxes_in_the_reasoning_do_not_count():
    assert check_math("7", "<think>so \\boxed{7}</think>\n\nI give up.", timeout_s=5)["reason"] == "no_answer"
    assert check_math("7", "<think>so \\boxed{7}</think>\n\n", timeout_s=5)["reason"] == "no_answer"
    assert check_math("7", "<think>\\boxed{7}</think>\n\nThe answer is $8$.", timeout_s=5)["reason"] == "not_equal"


_INTEGER = re.compile(r"\d+")


def value_integers(answer: str) -> list[re.Match]:
    """The integers of a LaTeX answer that carry its value: not a number base (`52_8`, `4210_{5}`) and not the power
    of a unit (`\\mbox{ cm}^2`), which math-verify (like the old last-box checker) rightly ignores."""
    out = []
    for m in _INTEGER.finditer(answer):
        before = answer[:m.start()]
        if before.endswith(("_", "_{")) or re.search(r"\\(?:mbox|text)\{[^{}]*\}\^$", before):
            continue
        out.append(m)
    return out


def perturbed(answer: str) -> list[str]:
    """The answer with each value integer changed (+1), one at a time, and with all of them changed."""
    found = value_integers(answer)
    out = [answer[:m.start()] + str(int(m.group()) + 1) + answer[m.end():] for m in found]
    if len(found) > 1:
        pieces, last = [], 0
        for m in found:
            pieces += [answer[last:m.start()], str(int(m.group()) + 1)]
            last = m.end()
        out.append("".join(pieces) + answer[last:])
    return out


def with_last_box(solution: str, content: str) -> str:
    from ded.seeds.answers import brace_group_end

    start = solution.index("{", solution.rfind("\\boxed"))
    return solution[:start + 1] + content + solution[brace_group_end(solution, start) - 1:]


def test_math500_reference_solutions_verify_and_perturbed_golds_fail(shared_data):
    rows = [json.loads(line) for line in (shared_data / "math500.jsonl").read_text().splitlines()]
    assert len(rows) == 500
    wrong = [r["unique_id"] for r in rows
             if not check_math(r["answer"], response(r["solution"]), timeout_s=5)["ok"]]
    assert wrong == []                        # the whole reference solution is the answer part: all 500 verify
    accepted, variants = [], 0
    for r in rows:
        for answer in perturbed(r["answer"]):
            variants += 1
            verdict = check_math(r["answer"], response(with_last_box(r["solution"], answer)), timeout_s=5)
            if verdict["ok"] or verdict["reason"] != "not_equal":
                accepted.append((r["unique_id"], r["answer"], answer, verdict["reason"]))
    assert variants > 750                     # 489 of the 500 answers have integers
    assert accepted == []


def test_math_parser_hang_gets_timeout_in_main_thread():
    verdict = is_correct(MATH, HANG, filtering=FILTERING)
    assert verdict["ok"] is False and verdict["reason"] == "timeout"


def test_math_from_a_thread_still_times_out():
    out = {}
    t = threading.Thread(target=lambda: out.update(is_correct(MATH, HANG, filtering=FILTERING)))
    t.start()
    t.join(120)
    assert not t.is_alive()
    assert out["reason"] == "timeout"


def test_choice_and_code_verdicts():
    assert is_correct(CHOICE, response("\\boxed{B}"), filtering=FILTERING)["ok"] is True
    assert is_correct(CHOICE, response("\\boxed{A}"), filtering=FILTERING)["reason"] == "not_equal"
    passed = is_correct(CODE, ADD, filtering=FILTERING)
    assert passed["ok"] is True and passed["tests_passed"] == 2 and passed["reason"] == "passed"
    wrong = is_correct(CODE, response("```python\nprint(3)\n```"), filtering=FILTERING)
    assert (wrong["reason"], wrong["failed_test"], wrong["tests_passed"]) == ("wrong_answer", 1, 1)
    assert is_correct(CODE, response("no code"), filtering=FILTERING)["reason"] == "no_code"
    loop = is_correct(CODE, LOOP, filtering=FILTERING)
    assert loop["reason"] == "timeout" and loop["time_limit_s"] == 1.0
    no_tests = dict(CODE, tests=None)
    assert is_correct(no_tests, ADD, filtering=FILTERING)["reason"] == "no_tests"


def test_many_in_workers_keep_order_and_time_out():
    items = [(MATH, response("\\boxed{1/2}")), (MATH, HANG), (CODE, ADD), (CHOICE, response("\\boxed{B}")),
             (CODE, LOOP), (MATH, response("\\boxed{2}"))]
    verdicts = is_correct_many(items, filtering=FILTERING, workers=2)
    assert [v["reason"] for v in verdicts] == ["equal", "timeout", "passed", "equal", "timeout", "not_equal"]
    assert [v["ok"] for v in verdicts] == [True, False, True, True, False, False]


def test_pool_hard_deadline_kills_a_stuck_job_and_goes_on():
    with WorkerPool(workers=1, preload=()) as pool:
        outcomes = pool.run([Job("time:sleep", (600,), deadline_s=1), Job("math:sqrt", (16,)),
                             Job("math:sqrt", (-1,))])
        assert pool.restarts == 1
    assert outcomes[0].status == "timeout"
    assert (outcomes[1].status, outcomes[1].value) == ("ok", 4.0)
    assert outcomes[2].status == "error" and "ValueError" in outcomes[2].message


# --- the judge -----------------------------------------------------------------------------------------------------
class FakeJudge:
    def __init__(self, reply: str):
        self.reply, self.calls = reply, []

    def generate(self, prompts, params, n, seeds):
        self.calls.append((prompts, params, n, seeds))
        return [[SimpleNamespace(text=self.reply)] for _ in prompts]


def test_judge_decides_unparseable_answers_only():
    judge = FakeJudge("<think>they match</think> CORRECT")
    odd = response("\\boxed{\\text{one half}\\weird}")
    verdict = is_correct(MATH, odd, filtering=FILTERING, judge=judge)
    assert verdict["ok"] is True and verdict["method"] == "judge" and verdict["reason"] == "judge_correct"
    assert verdict["math_verify"] == "unparseable"
    (prompts, params, n, _seeds), = judge.calls
    content = prompts[0][0]["content"]
    assert "\\frac{1}{2}" in content and "\\text{one half}" in content and n == 1 and params.temperature == 0
    # parseable answers never reach the judge; without a judge the verdict stays math-verify's
    assert is_correct(MATH, response("\\boxed{3}"), filtering=FILTERING, judge=judge)["method"] == "math-verify"
    assert len(judge.calls) == 1
    assert is_correct(MATH, odd, filtering=FILTERING)["reason"] == "unparseable"
    no = is_correct(MATH, odd, filtering=FILTERING, judge=FakeJudge("INCORRECT"))
    assert (no["ok"], no["reason"]) == (False, "judge_incorrect")
    many = FakeJudge("I cannot tell")
    verdicts = is_correct_many([(MATH, odd), (MATH, response("\\boxed{0.5}")), (MATH, odd)], filtering=FILTERING,
                               workers=1, judge=many)
    assert [v["reason"] for v in verdicts] == ["judge_unclear", "equal", "judge_unclear"]
    assert len(many.calls) == 1 and len(many.calls[0][0]) == 2   # one batched call


# --- LiveCodeBench's own grading rules -----------------------------------------------------------------------------
# A transcription of the rules of LiveCodeBench's lcb_runner/evaluation/testing_util.py (its prelude and recursion
# limit, call-based `==` on the returned value, stdin line/Decimal comparison, main-guard unwrapping and function
# wrapping, SystemExit, open() and sys.stdin mocked, a per-test alarm), written independently of ded.verify's grader,
# run outside the sandbox on trusted constructed programs (stdin /dev/null, as in its worker processes). It prints
# one JSON line per test: true, false, or the error, stopping at the first failure.
LCB_REFERENCE = r'''
import ast
import json
import signal
import sys
from decimal import Decimal
from io import StringIO
from types import ModuleType
from unittest.mock import mock_open, patch

sys.set_int_max_str_digits(50000)
MODULES = ["string", "re", "datetime", "collections", "heapq", "bisect", "copy", "math", "random", "statistics",
           "itertools", "functools", "operator", "io", "sys", "json", "builtins", "typing"]
HEADER = "".join("from %s import *\n" % m for m in MODULES)
HEADER += "".join("import %s\n" % m for m in MODULES if m not in ("builtins", "typing"))
HEADER += "sys.setrecursionlimit(50000)\n"


class Alarm(Exception):
    pass


def ring(*_):
    raise Alarm


def as_module(text):
    mod = ModuleType("tmp_sol", "")
    exec(text, mod.__dict__)
    return mod.Solution() if "class Solution" in text else mod


def stdin_program(code):
    try:
        tree = ast.parse(code)
        tail = tree.body[-1]
        if isinstance(tail, ast.If) and ast.unparse(tail.test).strip() == "__name__ == '__main__'":
            code = ast.unparse(tree.body[:-1]) + "\n" + ast.unparse(tail.body)
    except Exception:
        pass
    try:
        tree = ast.parse(code)
        hoisted = [s for s in tree.body if isinstance(s, (ast.Import, ast.ImportFrom))]
        rest = [s for s in tree.body if not isinstance(s, (ast.Import, ast.ImportFrom))]
        fn = ast.FunctionDef(name="wrapped_function", args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[],
                             kw_defaults=[], defaults=[]), body=rest, decorator_list=[], lineno=-1)
        return HEADER + "\n" + ast.unparse(hoisted) + "\n" + ast.unparse(fn)
    except Exception:
        return code


def lines(text):
    return [x.strip() for x in text.strip().split("\n")]


def same_line(a, b):
    if a == b:
        return True
    try:
        return [Decimal(t) for t in a.split()] == [Decimal(t) for t in b.split()]
    except Exception:
        return False


def main():
    job = json.load(open(sys.argv[1]))
    signal.signal(signal.SIGALRM, ring)
    t = job["timeout"]
    try:
        signal.alarm(t)
        if job["fn_name"]:
            obj = as_module(HEADER + "\n\n" + job["code"])
            target = getattr(obj, job["fn_name"])
        else:
            obj = as_module(stdin_program(job["code"]))
            target = getattr(obj, "wrapped_function")
        signal.alarm(0)
    except BaseException as e:
        print(json.dumps("compile: %r" % e)); return
    for inp, out in zip(job["inputs"], job["outputs"]):
        try:
            signal.alarm(t)
            if job["fn_name"]:
                got = target(*[json.loads(x) for x in inp.split("\n")])
                signal.alarm(0)
                if isinstance(got, tuple):
                    got = list(got)
                ok = got == json.loads(out)
            else:
                buf = StringIO()
                real = sys.stdout
                sys.stdout = buf
                try:
                    with patch("builtins.open", mock_open(read_data=inp)), patch("sys.stdin", StringIO(inp)):
                        try:
                            target()
                        except SystemExit:
                            pass
                finally:
                    sys.stdout = real
                signal.alarm(0)
                a, b = lines(buf.getvalue()), lines(out)
                ok = len(a) == len(b) and all(same_line(x, y) for x, y in zip(a, b))
        except BaseException as e:
            signal.alarm(0)
            print(json.dumps("error: %r" % e)); return
        print(json.dumps(bool(ok)))
        if not ok:
            return


main()
'''


def lcb_reference(code: str, tests: list[dict], fn_name: str | None, tmp_path, timeout: int = 2) -> bool:
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"code": code, "inputs": [t["input"] for t in tests],
                               "outputs": [t["output"] for t in tests], "fn_name": fn_name, "timeout": timeout}))
    script = tmp_path / "reference.py"
    script.write_text(LCB_REFERENCE)
    python = shutil.which("python3", path="/usr/bin") or sys.executable
    done = subprocess.run([python, str(script), str(job)], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120, check=True)
    results = [json.loads(line) for line in done.stdout.splitlines()]
    return len(results) == len(tests) and all(r is True for r in results)


def solution(signature_and_body: str) -> str:
    return "class Solution:\n    def f(self, " + signature_and_body


DOWN = "def down(k):\n    return 0 if k == 0 else 1 + down(k - 1)\n"
# (name, mode, program, inputs, outputs, LiveCodeBench's verdict by its rules)
LCB_CASES = [
    ("call_recursive_deep", "call", solution("n):\n        def down(k):\n"
                                             "            return 0 if k == 0 else 1 + down(k - 1)\n"
                                             "        return down(n)\n"), ["20000"], ["20000"], True),
    ("call_float_exact_miss", "call", solution("x):\n        return 0.1 + 0.2\n"), ["0"], ["0.3"], False),
    ("call_float_exact_hit", "call", solution("x):\n        return x / 2\n"), ["1"], ["0.5"], True),
    ("call_tuple_is_list", "call", solution("x):\n        return (x, x + 1)\n"), ["1"], ["[1, 2]"], True),
    ("call_nested_tuple", "call", solution("x):\n        return [(x, x + 1)]\n"), ["1"], ["[[1, 2]]"], False),
    ("call_wrong_type_str", "call", solution("x):\n        return str(x)\n"), ["3"], ["3"], False),
    ("call_bool_equals_int", "call", solution("x):\n        return x == 1\n"), ["1"], ["1"], True),
    ("call_float_equals_int", "call", solution("x):\n        return float(x)\n"), ["3"], ["3"], True),
    ("call_int_dict_keys", "call", solution("x):\n        return {x: 1}\n"), ["3"], ['{"3": 1}'], False),
    ("call_set_vs_list", "call", solution("x):\n        return {x}\n"), ["1"], ["[1]"], False),
    ("call_prelude_names", "call", solution("nums):\n        return list(accumulate(nums))\n"), ["[1, 2, 3]"],
     ["[1, 3, 6]"], True),
    ("call_shared_instance", "call",
     solution("x):\n        self.n = getattr(self, 'n', 0) + 1\n        return x + self.n - 1\n"), ["5", "7"],
     ["5", "7"], False),
    ("call_two_args", "call", solution("a, b):\n        return sorted(a)[:b]\n"), ["[3, 1, 2]\n2"], ["[1, 2]"], True),
    ("call_timeout", "call", solution("x):\n        while True:\n            pass\n"), ["1"], ["1"], False),
    ("call_missing_method", "call", "class Solution:\n    def g(self, x):\n        return x\n", ["1"], ["1"], False),
    ("stdin_recursive_deep", "stdin", DOWN + "print(down(int(input())))\n", ["10000"], ["10000"], True),
    ("stdin_decimal_equal", "stdin", "print('0.50', 2)\n", [""], ["0.5 2.0"], True),
    ("stdin_decimal_differs", "stdin", "print(1/3)\n", [""], ["0.3333"], False),
    ("stdin_list_output", "stdin", "print([1, 2])\n", [""], ["[1, 2]"], True),
    ("stdin_trailing_blank_lines", "stdin", "print(1)\nprint()\nprint()\n", [""], ["1\n"], True),
    ("stdin_extra_line", "stdin", "print(1)\nprint()\nprint(2)\n", [""], ["1\n2"], False),
    ("stdin_exit_midway", "stdin", "print(int(input()) * 2)\nexit()\nprint('never')\n", ["4"], ["8"], True),
    ("stdin_main_guard", "stdin", "def main():\n    print(input()[::-1])\n\nif __name__ == \"__main__\":\n    main()\n",
     ["abc", "xy"], ["cba", "yx"], True),
    ("stdin_reversed_guard", "stdin", "def main():\n    print(input())\n\nif '__main__' == __name__:\n    main()\n",
     ["abc"], ["abc"], False),
    ("stdin_global_statement", "stdin", "cnt = 0\ndef bump():\n    global cnt\n    cnt += 1\nbump()\nprint(cnt)\n",
     [""], ["1"], False),
    ("stdin_buffer_read", "stdin", "import sys\nprint(sum(map(int, sys.stdin.buffer.read().split())))\n", ["1 2"],
     ["3"], False),
    ("stdin_open_zero", "stdin", "print(sum(map(int, open(0).read().split())))\n", ["1 2"], ["3"], False),
    ("stdin_iterate_lines", "stdin", "import sys\nprint(sum(int(line) for line in sys.stdin))\n", ["1\n2\n3\n"],
     ["6"], True),
    ("stdin_big_int", "stdin", "print(10 ** 5000)\n", [""], ["1" + "0" * 5000], True),
    ("stdin_runtime_error", "stdin", "print(1 // 0)\n", [""], ["0"], False),
    ("stdin_wrong_second_test", "stdin", "n = int(input())\nprint(n * n if n < 3 else n)\n", ["2", "4"],
     ["4", "16"], False),
]


@pytest.mark.parametrize("name,mode,code,inputs,outputs,expected", LCB_CASES, ids=[c[0] for c in LCB_CASES])
def test_livecodebench_verdicts_match_its_own_rules(name, mode, code, inputs, outputs, expected, tmp_path):
    tests = [{"input": i, "output": o} for i, o in zip(inputs, outputs)]
    task = make_task(id=f"lcb-{name}", domain="code", question="q", source="livecodebench", source_index=0,
                     tests=tests, meta={"testtype": "functional" if mode == "call" else "stdin",
                                        "func_name": "f" if mode == "call" else None})
    ours = check_code(task, response("```python\n" + code + "```"), code_cfg={"timeout_s": 2, "memory_mb": 512})
    assert ours["grader"] == "livecodebench"
    reference = lcb_reference(code, tests, "f" if mode == "call" else None, tmp_path)
    assert (ours["ok"], reference) == (expected, expected), ours


def test_livecodebench_rules_are_not_the_generic_ones():
    """The same program and tests under the two graders: LiveCodeBench's exact equality and its own quirks."""
    def verdicts(code, tests, meta):
        out = []
        for source in ("livecodebench", "codeforces"):
            task = make_task(id="x", domain="code", question="q", source=source, source_index=0, tests=tests,
                             meta=meta)
            out.append(check_code(task, response("```python\n" + code + "```"),
                                  code_cfg={"timeout_s": 2, "memory_mb": 512})["ok"])
        return out
    # 1/3 printed in full is not 0.3333 for LiveCodeBench (Decimal equality); within 1e-6 it is for the tokens
    assert verdicts("print(1/3)\n", [{"input": "", "output": "0.3333333"}], {"testtype": "stdin"}) == [False, True]
    # `global` in a function of a wrapped program fails there; it runs as a plain script elsewhere
    code = "cnt = 0\ndef bump():\n    global cnt\n    cnt += 1\nbump()\nprint(cnt)\n"
    assert verdicts(code, [{"input": "", "output": "1"}], {"testtype": "stdin"}) == [False, True]


# --- the stage -----------------------------------------------------------------------------------------------------
def sample(qid: str, index: int, text: str, finish: str = "stop") -> dict:
    return {"id": f"{qid}#{index}", "question_id": qid, "domain": "math" if qid == "m1" else "code", "model": "t",
            "sample_index": index, "seed": index, "response": text, "num_tokens": 1, "finish_reason": finish,
            "backend": "transformers"}


@pytest.fixture()
def seeds_file(tmp_path) -> Path:
    path = tmp_path / "decontam" / "math.jsonl"
    write_jsonl(path, [MATH, CODE])
    return path


def test_verify_file_keeps_every_row_with_its_verdicts(tmp_path, seeds_file, random_tiny_model):
    huge = response("\\boxed{0.5}", think="lorem ipsum 12345 " * 115_000)          # ~2 MB
    rows = [sample("m1", 0, response("\\boxed{0.5}")),
            sample("m1", 1, response("\\boxed{7}")),
            sample("m1", 2, "<think>a</think><think>b</think>\n\n\\boxed{1/2}"),
            sample("m1", 3, huge),
            sample("m1", 4, HANG),
            sample("c1", 0, ADD),
            sample("c1", 1, LOOP),
            sample("m1", 5, response("\\boxed{1/2}"), finish="length")]
    samples = tmp_path / "samples.jsonl"
    write_jsonl(samples, rows)
    out = tmp_path / "verified" / "t" / "math.jsonl"
    summary = verify_file(samples, seeds_file, out, filtering=FILTERING,
                          tokenizer_spec={"model": str(random_tiny_model)}, workers=2)
    got = read_jsonl(out)
    assert [r["id"] for r in got] == [r["id"] for r in rows]
    for before, after in zip(rows, got):
        assert {k: after[k] for k in before} == before
        assert set(after["checks"]) == {"length", "format", "correct"}
        assert after["passed"] == all(c["ok"] for c in after["checks"].values())
    checks = [r["checks"] for r in got]
    assert [r["passed"] for r in got] == [True, False, False, False, False, True, False, False]
    assert checks[1]["correct"]["reason"] == "not_equal"
    assert checks[2]["format"]["reason"] == "multiple_think_open" and checks[2]["correct"]["ok"]
    assert checks[3]["length"]["reason"] == "too_long" and checks[3]["length"]["tokens"] > 1_000_000
    assert checks[3]["correct"]["ok"] and checks[3]["format"]["ok"]
    assert checks[4]["correct"]["reason"] == "timeout"
    assert checks[6]["correct"]["reason"] == "timeout"
    assert checks[7]["length"]["reason"] == "truncated"
    assert summary["rows"] == 8 and summary["passed"] == 2
    assert summary["format"] == {"ok": 7, "failed": 1, "reasons": {"multiple_think_open": 1, "ok": 7}}
    assert summary["correct"]["reasons"]["timeout"] == 2


@pytest.mark.parametrize("bad_line,message", [
    (b'{"id": "m1#9", "question_id": "m1", "response": "x"\n', "samples.jsonl:2: malformed JSON"),
    (b'{"id": "m1#9", "question_id": "m1"}\n', "samples.jsonl:2: missing field(s) response"),
    (b'{"id": "m1#9", "question_id": "m1", "response": "caf\xe9"}\n', "samples.jsonl:2: not UTF-8"),
    (b'{"id": "m1#9", "question_id": "nope", "response": "x"}\n', "samples.jsonl:2: question_id 'nope'"),
    (b'{"id": "m1#9", "question_id": "m1", "response": 5}\n', "samples.jsonl:2: field response must be a string"),
    (b'{"id": "m1#0", "question_id": "m1", "response": "x"}\n', "samples.jsonl:2: duplicate id"),
    (b'{"id": "m1#9", "question_id": "m1", "response": "\\ud800"}\n', "samples.jsonl:2: field response is not valid"),
], ids=["malformed_json", "missing_field", "not_utf8", "unknown_question", "response_not_text", "duplicate_id",
        "lone_surrogate"])
def test_bad_sample_lines_fail_with_file_and_line(tmp_path, seeds_file, bad_line, message):
    samples = tmp_path / "samples.jsonl"
    samples.write_bytes((json.dumps(sample("m1", 0, response("\\boxed{0.5}"))) + "\n").encode() + bad_line)
    out = tmp_path / "verified.jsonl"
    out.write_text("previous result\n")
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        verify_file(samples, seeds_file, out, filtering=FILTERING, tokenizer=object())
    assert out.read_text() == "previous result\n"          # nothing already written is lost
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".verified")] == []


def test_code_task_kinds_functional_checker_file_and_interactive():
    functional = dict(CODE, tests=[{"input": "[2, 7, 11]\n9", "output": "[0, 1]"},
                                   {"input": "[1.5]\n1.5", "output": "[0, 0]"}],
                      meta={"testtype": "functional", "func_name": "pairSum"})
    solution = ("```python\nclass Solution:\n    def pairSum(self, nums: List[float], target: float) -> List[int]:\n"
                "        for i in range(len(nums)):\n            for j in range(i, len(nums)):\n"
                "                if nums[i] + nums[j] == target or i == j and nums[i] == target:\n"
                "                    return (i, j)\n```")
    verdict = is_correct(functional, response(solution), filtering=FILTERING)
    assert verdict["ok"] is True, verdict
    assert is_correct(functional, response(solution.replace("(i, j)", "(j, i)")),
                      filtering=FILTERING)["reason"] == "wrong_answer"
    # a special judge accepts any order of the two numbers
    checker = ("import sys\ngot = sorted(open(sys.argv[3]).read().split())\n"
               "want = sorted(open(sys.argv[2]).read().split())\nprint(1 if got == want else 0)\n")
    judged = dict(CODE, tests=[{"input": "1 2\n", "output": "1 2\n"}], meta={"checker": checker})
    swap = response("```python\na, b = input().split()\nprint(b, a)\n```")
    assert is_correct(judged, swap, filtering=FILTERING)["ok"] is True
    assert is_correct(dict(judged, meta={}), swap, filtering=FILTERING)["reason"] == "wrong_answer"
    broken = dict(judged, meta={"checker": "raise SystemExit(2)"})
    assert is_correct(broken, swap, filtering=FILTERING)["reason"] == "checker_error"
    # input_mode file: input.txt in, output.txt out
    filed = dict(CODE, meta={"input_mode": "file"})
    via_files = ("```python\na, b = map(int, open('input.txt').read().split())\n"
                 "open('output.txt', 'w').write(str(a + b))\n```")
    assert is_correct(filed, response(via_files), filtering=FILTERING)["ok"] is True
    assert is_correct(dict(CODE, meta={"interactive": True}), ADD, filtering=FILTERING)["reason"] == "unsupported"


# --- evaluation scores through the parallel checker ------------------------------------------------------------
def test_evaluation_scores_with_the_parallel_checker(monkeypatch):
    from ded import evaluate
    from ded import verify as dedverify
    from ded.generation import Generation

    calls = []
    real = dedverify.is_correct_many

    def recording(items, **kw):
        calls.append((len(items), kw.get("workers"), kw.get("pool")))
        return real(items, **kw)

    monkeypatch.setattr(dedverify, "is_correct_many", recording)
    gens = [[Generation(response("\\boxed{0.5}"), 5, "stop"), Generation(response("\\boxed{0.5}"), 5, "error"),
             Generation(response("\\boxed{2}"), 5, "stop")],
            [Generation(ADD, 9, "stop"), Generation(LOOP, 9, "length")],
            [Generation(response("The answer is (B)."), 3, "stop")]]
    rows = evaluate.score_responses([MATH, CODE, CHOICE], gens, filtering=FILTERING, workers=2)
    assert calls == [(5, 2, None)]                    # one batch, the failed generation never judged
    assert [(r["problem_id"], r["sample"], r["correct"]) for r in rows] == [
        ("m1", 0, 1), ("m1", 1, 0), ("m1", 2, 0), ("c1", 0, 1), ("c1", 1, 0), ("g1", 0, 1)]
    assert [r["finish_reason"] for r in rows] == ["stop", "error", "stop", "stop", "length", "stop"]


def test_code_responses_share_one_sandbox_across_failures():
    """Responses checked one after another reuse one launcher; a failure stops the test that ran ahead of it."""
    import time

    from ded.verify import codecheck

    tests = [{"input": f"{i} {i}\n", "output": f"{2 * i}\n"} for i in range(6)]
    task = dict(CODE, tests=tests)
    pids, verdicts = [], []
    for text in (ADD, LOOP, response("```python\nprint(0)\n```"), ADD):
        start = time.monotonic()
        verdicts.append(is_correct(task, text, filtering=FILTERING))
        pids.append(codecheck._SHARED.boxes["solution"][1].proc.pid)
        assert time.monotonic() - start < 30
    assert [v["reason"] for v in verdicts] == ["passed", "timeout", "wrong_answer", "passed"]
    assert verdicts[2]["failed_test"] == 1 and verdicts[1]["failed_test"] == 0
    assert len(set(pids)) == 1
