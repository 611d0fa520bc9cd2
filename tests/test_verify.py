"""Verification (ded.verify): answer extraction, the three checks, the judge, the worker pool's hard deadline, and
the stage on good and bad input files."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from ded.io import DataError, read_jsonl, write_jsonl
from ded.seeds.schema import make_task
from ded.verify import (answer_region, check_format, count_tokens, extract_choice, is_correct, is_correct_many,
                        last_boxed, last_code_block, length_verdict, verify_response)
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
