"""Seeds and benchmarks (ded.seeds): answers, normalisers, dispatch, bad input, and the real files of ../shared/data."""

from __future__ import annotations

import base64
import collections
import json
import pickle
import zlib

import pytest

from ded.io import DataError
from ded.seeds import answers, build_file, build_rows, code, read_tasks, source_params, sources
from ded.seeds.choice import gpqa, shuffled_options
from ded.seeds.schema import TASK_FIELDS, make_task


def write_jsonl(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def task(i, domain="math", **kw):
    fields = {"id": f"t-{i}", "domain": domain, "question": f"q{i}", "source": "synthetic_math", "source_index": i,
              "answer": str(i) if domain == "math" else ("A" if domain == "choice" else None)}
    fields.update(kw)
    return make_task(**fields)


# ---------------------------------------------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------------------------------------------
def test_last_boxed_balances_braces_and_takes_the_last():
    text = r"first \boxed{1}, then \boxed{\frac{1}{2}} and \fbox{x} finally $\boxed{\left( 3, \frac{\pi}{2} \right)}$"
    assert answers.boxed_contents(text) == ["1", r"\frac{1}{2}", "x", r"\left( 3, \frac{\pi}{2} \right)"]
    assert answers.last_boxed(text) == r"\left( 3, \frac{\pi}{2} \right)"
    assert answers.last_boxed(r"or $\framebox{204}$ minutes") == "204"
    assert answers.last_boxed("no box here") is None


@pytest.mark.parametrize("solution, expected", [
    (r"so the total is \boxed{42}.", ("42", "boxed")),
    ("128", ("128", "whole")),
    ("Answer: NYYYYY", ("NYYYYY", "whole")),
    ("$C(4)=14$.", ("14", "whole")),
    ("long derivation...\nso girls = 150\nAnswer is C", ("C", "phrase")),
    ("Thus the final answer is $55 \\cdot 46=2530$.", ("2530", "phrase")),
    ("... which means the final answer is exact.\nMore text follows here to make this long enough.", (None, "none")),
    ("A long proof.\nTherefore the claim holds.\n\\(\\blacksquare\\)", (None, "none")),
])
def test_s1k_answer_rules(solution, expected):
    assert answers.s1k_answer(solution) == expected


def test_aime_answers_are_integers():
    assert answers.aime_integer("025", "f:1") == "25"
    assert answers.aime_integer(7, "f:1") == "7"
    with pytest.raises(DataError, match=r"f:3: AIME answer '1/2' is not an integer"):
        answers.aime_integer("1/2", "f:3")


# ---------------------------------------------------------------------------------------------------------------
# Normalisers on constructed rows of the hub shapes
# ---------------------------------------------------------------------------------------------------------------
def lcb_encode(tests):
    """The encoding of code_generation_lite's private tests: base64(zlib(pickle(JSON string)))."""
    return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(tests)))).decode()


def test_livecodebench_private_tests_decode_and_refuse_code():
    tests = [{"input": "1 2\n", "output": "3\n", "testtype": "stdin"}]
    assert code.decode_lcb_tests(lcb_encode(tests), "w") == tests
    assert code.decode_lcb_tests(json.dumps(tests), "w") == tests

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    evil = base64.b64encode(zlib.compress(pickle.dumps(Evil()))).decode()
    with pytest.raises(DataError, match="neither JSON nor base64"):
        code.decode_lcb_tests(evil, "row 3 private_test_cases")


def test_livecodebench_hub_row_functional():
    row = {"question_title": "Sum", "question_content": "Return a+b.", "platform": "leetcode", "question_id": "3517",
           "contest_id": "weekly-contest-440", "contest_date": "2025-03-09T00:00:00", "difficulty": "easy",
           "starter_code": "class Solution:\n    def add(self, a: int, b: int) -> int:\n        ",
           "public_test_cases": json.dumps([{"input": "1\n2", "output": "3", "testtype": "functional"}]),
           "private_test_cases": lcb_encode([{"input": "5\n6", "output": "11", "testtype": "functional"}] * 2),
           "metadata": json.dumps({"func_name": "add"})}
    t = code.livecodebench_hub(row, index=4, where="w")
    assert t["id"] == "lcb-3517" and t["difficulty"] == "easy" and t["answer"] is None
    assert t["tests"] == [{"input": "1\n2", "output": "3"}, {"input": "5\n6", "output": "11"},
                          {"input": "5\n6", "output": "11"}]
    assert t["meta"]["testtype"] == "functional" and t["meta"]["func_name"] == "add"
    assert t["meta"]["n_public_tests"] == 1
    assert "def add(self, a: int, b: int)" in t["question"] and t["question"].startswith("Return a+b.")


def test_livecodebench_release_files():
    assert sources.lcb_release_files("release_v6", "k") == ["test.jsonl"] + [f"test{i}.jsonl" for i in range(2, 7)]
    assert sources.lcb_release_files("v6", "k") == ["test6.jsonl"]
    assert sources.lcb_release_files("v1_v3", "k") == ["test.jsonl", "test2.jsonl", "test3.jsonl"]
    with pytest.raises(ValueError, match="benchmarks.lcb.subset: 'release_x'"):
        sources.lcb_release_files("release_x", "benchmarks.lcb")


def codeforces_hub_row(**kw):
    row = {"id": "1971/B", "contest_id": "1971", "index": "B", "title": "Different String",
           "description": "Rearrange s.", "input_format": "A string s.", "output_format": "YES or NO.",
           "interaction_format": None, "note": "Any answer is accepted.", "time_limit": 1.0, "memory_limit": 256.0,
           "examples": [{"input": "1\nab", "output": "YES\nba"}], "tags": ["strings"], "rating": 800,
           "official_tests": [{"input": "1\nab", "output": "YES\nba"}, {"input": "1\naa", "output": "NO"}],
           "official_tests_complete": True, "input_mode": "stdio", "generated_checker": "def check(): ..."}
    row.update(kw)
    return row


def test_codeforces_hub_row():
    t = code.codeforces_hub(codeforces_hub_row(), index=0, where="w")
    assert t["id"] == "cf-1971B" and t["time_limit_s"] == 1.0 and t["memory_limit_mb"] == 256
    assert t["tests"] == [{"input": "1\nab", "output": "YES\nba"}, {"input": "1\naa", "output": "NO"}]
    q = t["question"]
    assert q.index("Rearrange s.") < q.index("Input Format:\nA string s.") < q.index("Output Format:") \
        < q.index("Examples:") < q.index("Note:") < q.index("Time Limit: 1000 ms\nMemory Limit: 256 MB")
    assert t["meta"]["checker"] == "def check(): ..." and code.usable_code_task(t) is None
    inter = code.codeforces_hub(codeforces_hub_row(interaction_format="Ask ? i"), index=1, where="w")
    assert code.usable_code_task(inter) == "interactive"
    files = code.codeforces_hub(codeforces_hub_row(input_mode="file"), index=2, where="w")
    assert code.usable_code_task(files) == "file input/output"


def test_generated_tests_file_pads_the_contest_id():
    assert code.generated_tests_file("10") == "generated_tests/test_cases_0010.parquet"
    assert code.generated_tests_file(573) == "generated_tests/test_cases_0573.parquet"
    assert code.generated_tests_file("2059") == "generated_tests/test_cases_2059.parquet"


def generated_rows(problem_id, pairs):
    """Rows of a contest's generated-tests file, in shuffled test order."""
    rows = [{"problem_id": problem_id, "input": i, "output": o, "test_i": k} for k, (i, o) in enumerate(pairs)]
    return rows[::-1]


def test_codeforces_completeness_and_generated_tests():
    complete = code.codeforces_hub(codeforces_hub_row(generated_tests=0), index=0, where="w")
    needs = code.codeforces_hub(codeforces_hub_row(official_tests_complete=False, generated_tests=3), index=1,
                                where="w")
    lacking = code.codeforces_hub(codeforces_hub_row(official_tests_complete=False, generated_tests=0), index=2,
                                  where="w")
    broken = code.codeforces_hub(codeforces_hub_row(executable=False), index=3, where="w")
    assert code.incomplete_tests(complete, can_fetch=False) is None
    assert code.incomplete_tests(needs, can_fetch=True) is None
    assert code.incomplete_tests(needs, can_fetch=False) == "generated tests not available here"
    assert code.incomplete_tests(lacking, can_fetch=True).startswith("incomplete tests")
    assert code.incomplete_tests(broken, can_fetch=True).startswith("not executable")
    deepcoder = code.codeforces_deepcoder({"problem_id": "1A", "problem": "p", "tests": []}, index=0, where="w")
    assert code.incomplete_tests(deepcoder, can_fetch=True) is None          # its shape says nothing
    reads = []

    def read(contest):
        reads.append(contest)
        return generated_rows("1971/B", [("1\nab", "YES\nba"), ("1\nzz", "NO"), ("1\nxy", "YES\nyx")]) + \
            generated_rows("1971/C", [("9", "9")])

    out = code.attach_generated_tests([complete, needs], read)
    assert reads == ["1971"]                                                 # one file per contest
    # examples, official tests, then generated ones in test order (the first repeats the example: dropped)
    assert [t["input"] for t in needs["tests"]] == ["1\nab", "1\naa", "1\nzz", "1\nxy"]
    assert needs["meta"]["test_counts"] == {"examples": 1, "official": 1, "generated": 2, "total": 4}
    assert complete["tests"] == out[0]["tests"] and len(complete["tests"]) == 2
    with pytest.raises(DataError, match=r"open-r1/codeforces/generated_tests/test_cases_1971.parquet: no generated "
                                        r"tests for problem 1971/B \(the row says 3\)"):
        code.attach_generated_tests([code.codeforces_hub(codeforces_hub_row(official_tests_complete=False,
                                                                            generated_tests=3), index=1, where="w")],
                                    lambda contest: None)
    kept = code.codeforces_hub(codeforces_hub_row(generated_tests=5), index=4, where="w")
    assert code.attach_generated_tests([kept], lambda contest: None)[0]["tests"] == complete["tests"]
    stats = code.code_test_stats([complete, needs])
    assert stats == {"problems": 2, "tests_min": 2, "tests_median": 3.0, "tests_max": 4, "tests_total": 6,
                     "by_origin": {"examples": 2, "official": 2, "generated": 2}, "with_checker": 2,
                     "official_complete": 1}


def test_codeforces_verifiable_from_the_hub(monkeypatch, caplog):
    """build_rows on rows of the `verifiable` shape (load_dataset and the generated-tests download replaced)."""
    rows = [codeforces_hub_row(id="5/A", contest_id="5", index="A", official_tests_complete=True, generated_tests=0,
                               generated_checker=None),
            codeforces_hub_row(id="5/B", contest_id="5", index="B", official_tests_complete=False, generated_tests=2),
            codeforces_hub_row(id="6/A", contest_id="6", index="A", official_tests_complete=False, generated_tests=0),
            codeforces_hub_row(id="6/B", contest_id="6", index="B", interaction_format="Ask ? i")]
    seen = {}

    def load(path, name, split, revision, *, key, **kw):
        seen["load"] = (path, name, split, revision)
        return rows

    def reader(spec, key):
        return lambda contest: generated_rows("5/B", [("g1", "o1"), ("g2", "o2")]) if contest == "5" else None

    monkeypatch.setattr(sources, "load_hub_split", load)
    monkeypatch.setattr(sources, "generated_tests_reader", reader)
    spec = {"source": "codeforces", "hub_id": "open-r1/codeforces", "revision": "abc", "subset": "verifiable",
            "split": "train", "n": 10, "seed": 42}
    with caplog.at_level("INFO", logger="ded.seeds"):
        built = build_rows(spec, key="seeds.code", domain="code")
    assert seen["load"] == ("open-r1/codeforces", "verifiable", "train", "abc")
    assert [t["id"] for t in built] == ["cf-5A", "cf-5B"]
    assert [t["input"] for t in built[1]["tests"]][-2:] == ["g1", "g2"]
    assert built[1]["meta"]["checker"] == "def check(): ..." and built[0]["meta"]["checker"] is None
    log = caplog.text
    assert "skipped 1 problem(s): incomplete tests" in log and "skipped 1 problem(s): interactive" in log
    assert "tests per problem: {'problems': 2, 'tests_min': 2" in log and "'tests_total': 6" in log


def test_codeforces_checker_from_the_row_judges_in_the_sandbox():
    """A problem with several right answers: its generated_checker (a Python program) is run on each output."""
    from ded.verify import is_correct

    checker = ("import sys\n"
               "inp, want, got = (open(p).read().split() for p in sys.argv[1:4])\n"
               "print(1 if sorted(got) == sorted(want) else 0)\n")
    row = codeforces_hub_row(examples=[{"input": "1 2", "output": "1 2"}], official_tests=[
        {"input": "1 2", "output": "1 2"}, {"input": "5 3", "output": "5 3"}], generated_checker=checker)
    task = code.codeforces_hub(row, index=0, where="w")
    swap = "<think>x</think>\n\n```python\na, b = input().split()\nprint(b, a)\n```"
    wrong = "<think>x</think>\n\n```python\nprint(0, 0)\n```"
    cfg = {"code": {"timeout_s": 2, "memory_mb": 256}}
    assert is_correct(task, swap, filtering=cfg)["ok"] is True
    assert is_correct(task, wrong, filtering=cfg)["reason"] == "wrong_answer"
    assert is_correct({**task, "meta": {**task["meta"], "checker": None}}, swap, filtering=cfg)["reason"] == \
        "wrong_answer"


@pytest.mark.parametrize("text, seconds, mb", [
    ("Time Limit: 2500 ms\nMemory Limit: 256 MB", 2.5, 256),
    ("Time Limit: {'seconds': 1, 'nanos': 500000000}\nMemory Limit: 512000000 Bytes", 1.5, 512),
    ("Time Limit: 2 seconds\nMemory Limit: 1024 megabytes", 2.0, 1024),
    ("no limits", None, None),
])
def test_limits_from_statement_text(text, seconds, mb):
    assert code.parse_time_limit(text) == seconds
    assert code.parse_memory_limit(text) == mb


def test_gpqa_shuffle_is_fixed_per_question_and_points_at_the_correct_option():
    def row(i):
        return {"Question": f"Which is right ({i})?", "Correct Answer": f"right {i}", "Incorrect Answer 1": "w1",
                "Incorrect Answer 2": "w2", "Incorrect Answer 3": "w3", "Record ID": f"rec{i}"}

    tasks = [gpqa(row(i), index=i, where="w", seed=42) for i in range(40)]
    for i, t in enumerate(tasks):
        assert t["meta"]["options"][t["answer"]] == f"right {i}"
        assert f"{t['answer']}) right {i}" in t["question"]
        assert [line[:3] for line in t["question"].splitlines()[-4:]] == ["A) ", "B) ", "C) ", "D) "]
    assert len({t["answer"] for t in tasks}) == 4  # not always the same letter
    again = [gpqa(row(i), index=i, where="w", seed=42) for i in range(40)]
    assert [t["question"] for t in again] == [t["question"] for t in tasks]
    other_seed = [shuffled_options(f"right {i}", ["w1", "w2", "w3"], 7, f"rec{i}")[1] for i in range(40)]
    assert other_seed != [t["answer"] for t in tasks]


def test_draw_is_seeded_and_keeps_source_order():
    items = list(range(100))
    a, b = sources.draw(items, 10, 42), sources.draw(items, 10, 42)
    assert a == b == sorted(a) and len(set(a)) == 10
    assert sources.draw(items, 10, 43) != a
    assert sources.draw(items, None, 42) == items and sources.draw(items, 500, 42) == items


# ---------------------------------------------------------------------------------------------------------------
# Dispatch: synthetic sources through the tiny world's generator (monkeypatched), unknown sources, domains
# ---------------------------------------------------------------------------------------------------------------
def test_synthetic_dispatch_calls_the_generator(monkeypatch, tmp_path):
    calls = []

    def generate(source, n, seed, difficulty):
        calls.append((source, n, seed, difficulty))
        return [task(i, domain="code", answer=None, tests=[{"input": "1\n", "output": "1\n"}], difficulty="easy",
                     source=source) for i in range(n)]

    monkeypatch.setattr(sources, "synthetic_generator", lambda: generate)
    spec = {"domain": "code", "source": "synthetic_code", "n": 5, "seed": 205, "difficulty": "mixed", "samples": 4}
    out = tmp_path / "benchmarks" / "livecodebench.jsonl"
    assert build_file(source_params(spec), out, key="benchmarks.livecodebench", domain="code") == 5
    assert calls == [("synthetic_code", 5, 205, "mixed")]
    rows = read_tasks(out)
    assert [r["id"] for r in rows] == [f"t-{i}" for i in range(5)] and list(rows[0]) == list(TASK_FIELDS)
    assert "samples" not in source_params(spec) and source_params(spec)["seed"] == 205


def test_synthetic_generator_output_is_checked(monkeypatch):
    monkeypatch.setattr(sources, "synthetic_generator", lambda: lambda **kw: [task(0), {**task(1), "extra": 1}])
    with pytest.raises(DataError, match=r"generate\('synthetic_math'\) for seeds.math row 1: unexpected field"):
        build_rows({"source": "synthetic_math", "n": 2, "seed": 1}, key="seeds.math", domain="math")
    monkeypatch.setattr(sources, "synthetic_generator", lambda: lambda **kw: [task(0)])
    with pytest.raises(DataError, match="1 rows, expected 2"):
        build_rows({"source": "synthetic_math", "n": 2, "seed": 1}, key="seeds.math", domain="math")
    with pytest.raises(ValueError, match="seeds.math.n: required"):
        build_rows({"source": "synthetic_math", "n": None}, key="seeds.math", domain="math")


def test_unknown_source_and_domain_mismatch():
    with pytest.raises(ValueError, match=r"seeds.math.source: unknown source 'gsm8k' \(expected one of .*s1k"):
        build_rows({"source": "gsm8k"}, key="seeds.math", domain="math")
    with pytest.raises(ValueError, match="seeds.math.source: 'codeforces' yields 'code' tasks, expected 'math'"):
        build_rows({"source": "codeforces", "local_path": "x.jsonl"}, key="seeds.math", domain="math")
    with pytest.raises(ValueError, match="benchmarks.gpqa_diamond.domain: 'math', but source 'gpqa_diamond'"):
        build_rows({"source": "gpqa_diamond", "domain": "math"}, key="benchmarks.gpqa_diamond")
    with pytest.raises(ValueError, match="benchmarks.aime24: set hub_id"):
        build_rows({"source": "aime24"}, key="benchmarks.aime24")


# ---------------------------------------------------------------------------------------------------------------
# Bad input: file and line, key and split
# ---------------------------------------------------------------------------------------------------------------
def test_seed_file_malformed_line_and_missing_field(tmp_path):
    bad = write_jsonl(tmp_path / "math.jsonl", [task(0), task(1), '{"id": "t-2", "domain": "math",'])
    with pytest.raises(DataError, match=rf"{bad}:3: malformed JSON"):
        read_tasks(bad)
    row = task(1)
    del row["answer"]
    missing = write_jsonl(tmp_path / "math2.jsonl", [task(0), "", row])
    with pytest.raises(DataError, match=rf"{missing}:3: missing field\(s\) answer"):
        read_tasks(missing)
    dup = write_jsonl(tmp_path / "math3.jsonl", [task(0), task(0)])
    with pytest.raises(DataError, match=rf"{dup}:2: duplicate id 't-0' \(first at line 1\)"):
        read_tasks(dup)
    wrong = write_jsonl(tmp_path / "code.jsonl", [task(0, domain="code", answer="5")])
    with pytest.raises(DataError, match=rf"{wrong}:1: answer: expected null for code"):
        read_tasks(wrong)


def test_local_source_file_errors_name_file_and_line(tmp_path):
    good = {"problem": "1+1?", "answer": "2"}
    broken = write_jsonl(tmp_path / "aime.jsonl", [good, "{not json", good])
    with pytest.raises(DataError, match=rf"{broken}:2: malformed JSON"):
        build_rows({"source": "aime24", "local_path": str(broken)}, key="benchmarks.aime24")
    lacking = write_jsonl(tmp_path / "aime2.jsonl", [good, good, {"problem": "2+2?"}])
    with pytest.raises(DataError, match=rf"{lacking}:3: missing field\(s\) answer \(expected the AIME"):
        build_rows({"source": "aime24", "local_path": str(lacking)}, key="benchmarks.aime24")
    alien = write_jsonl(tmp_path / "cf.jsonl", [{"name": "x", "statement": "y"}])
    with pytest.raises(DataError, match=rf"{alien}:1: fields name, statement match no codeforces shape .*problem_id"):
        build_rows({"source": "codeforces", "local_path": str(alien)}, key="seeds.code", domain="code")
    not_int = write_jsonl(tmp_path / "aime3.jsonl", [good, {"problem": "p", "answer": "x/2"}])
    with pytest.raises(DataError, match=rf"{not_int}:2: AIME answer 'x/2'"):
        build_rows({"source": "aime25", "local_path": str(not_int)}, key="benchmarks.aime25")


def test_unknown_split_names_key_split_and_existing_splits(tmp_path):
    data = write_jsonl(tmp_path / "math500.jsonl", [{"problem": "1+1?", "answer": "2"}])
    cache = str(tmp_path / "hf_cache")
    ds = sources.load_hub_split("json", None, "train", None, key="benchmarks.math500", data_files=str(data),
                                cache_dir=cache)
    assert ds[0] == {"problem": "1+1?", "answer": "2"}
    with pytest.raises(DataError) as err:
        sources.load_hub_split("json", None, "validation", None, key="benchmarks.math500", data_files=str(data),
                               cache_dir=cache)
    assert "benchmarks.math500.split: split 'validation' does not exist in json" in str(err.value)
    assert "(splits there: ['train'])" in str(err.value)


def test_hub_path_passes_revision_subset_split(monkeypatch, tmp_path):
    """The hub loader with datasets.load_dataset redirected to a local JSON file of MATH-500's shape."""
    import datasets

    data = write_jsonl(tmp_path / "m.jsonl", [{"problem": f"p{i}", "answer": f"\\frac{{{i}}}{{2}}",
                                               "unique_id": f"test/x/{i}.json"} for i in range(3)])
    real, seen = datasets.load_dataset, []

    def fake(path, name=None, split=None, revision=None, **kw):
        seen.append((path, name, split, revision))
        return real("json", data_files={"test": str(data)}, split=split, cache_dir=str(tmp_path / "c"))

    monkeypatch.setattr(datasets, "load_dataset", fake)
    spec = {"source": "math500", "hub_id": "HuggingFaceH4/MATH-500", "revision": "abc123", "split": "test"}
    rows = build_rows(spec, key="benchmarks.math500")
    assert seen == [("HuggingFaceH4/MATH-500", None, "test", "abc123")]
    assert [r["answer"] for r in rows] == ["\\frac{0}{2}", "\\frac{1}{2}", "\\frac{2}{2}"]
    with pytest.raises(DataError, match=r"benchmarks.math500.split: split 'train' does not exist in "
                                        r"HuggingFaceH4/MATH-500@abc123 \(splits there: \['test'\]\)"):
        build_rows({**spec, "split": "train"}, key="benchmarks.math500")


# ---------------------------------------------------------------------------------------------------------------
# The real files (../shared/data)
# ---------------------------------------------------------------------------------------------------------------
def local(shared_data, name, source, key, **kw):
    return build_rows({"source": source, "local_path": str(shared_data / name), **kw}, key=key)


def test_real_aime(shared_data):
    a24 = local(shared_data, "aime24.jsonl", "aime24", "benchmarks.aime24")
    a25 = local(shared_data, "aime25.jsonl", "aime25", "benchmarks.aime25")
    assert len(a24) == len(a25) == 30
    padded = [r for r in a24 if r["meta"]["answer_raw"].startswith("0")]
    assert len(padded) == 7 and all(r["answer"] == str(int(r["meta"]["answer_raw"])) for r in padded)
    assert {r["id"]: r["answer"] for r in padded}["aime24-67"] == "25"
    for r in a24 + a25:
        assert r["answer"] == str(int(r["answer"])) and 0 <= int(r["answer"]) <= 999
    assert a25[0]["id"] == "aime25-2025-I-1" and a25[0]["answer"] == "70"


def test_real_math500_answers_stay_latex(shared_data):
    rows = local(shared_data, "math500.jsonl", "math500", "benchmarks.math500")
    raw = [json.loads(line) for line in (shared_data / "math500.jsonl").read_text().splitlines()]
    assert len(rows) == 500 and len({r["id"] for r in rows}) == 500
    assert [r["answer"] for r in rows] == [x["answer"].strip() for x in raw]
    assert rows[0]["answer"] == r"\left( 3, \frac{\pi}{2} \right)"
    assert all(answers.last_boxed(x["solution"]) == x["answer"] for x in raw)


def test_real_s1k(shared_data):
    rows = local(shared_data, "s1k_questions_no_gpqa.jsonl", "s1k", "seeds.math", n=1000, seed=42)
    assert len(rows) == 912  # n=1000 asks for more than the 912 there are: all are kept
    rules = collections.Counter(r["meta"]["answer_rule"] for r in rows)
    assert rules == {"boxed": 295, "whole": 375, "phrase": 17, "none": 225}
    by_index = {r["source_index"]: r for r in rows}
    assert by_index[1]["answer"] == "128" and by_index[51]["answer"] == "ABC"
    assert by_index[95]["answer"] == "[7, 8, 9, 70, 80, 90]" and by_index[133]["answer"] == "True"
    assert all(r["answer"] is None for r in rows if r["meta"]["answer_rule"] == "none")
    assert sum(r["meta"]["proof"] for r in rows if r["meta"]["answer_rule"] == "boxed") == 32
    assert by_index[1]["id"] == "s1k-0001" and "solution" in by_index[1]["meta"]
    drawn = local(shared_data, "s1k_questions_no_gpqa.jsonl", "s1k", "seeds.math", n=100, seed=42)
    assert len(drawn) == 100 and drawn == local(shared_data, "s1k_questions_no_gpqa.jsonl", "s1k", "seeds.math",
                                                n=100, seed=42)


def test_real_codeforces_deepcoder(shared_data, tmp_path):
    rows = local(shared_data, "codeforces_deepcoder_test.jsonl", "codeforces", "seeds.code", n=1000, seed=42)
    raw = [json.loads(line) for line in (shared_data / "codeforces_deepcoder_test.jsonl").read_text().splitlines()]
    assert len(raw) == 408 and len(rows) == 408 - 17  # 17 interactive problems skipped
    kept = {r["id"] for r in rows}
    assert "cf-2013C" not in kept and "cf-1973D" not in kept  # 2013C is interactive only by its tag
    assert all(r["time_limit_s"] and r["memory_limit_mb"] for r in rows)
    assert all("Tags:" not in r["question"] and r["question"].endswith(" MB") for r in rows)
    first = next(r for r in rows if r["id"] == "cf-1971A")
    assert (first["time_limit_s"], first["memory_limit_mb"]) == (1.0, 256)
    assert first["meta"]["tags"] == ["implementation", "sortings"]
    assert first["tests"][0]["output"].startswith("1 9\n4 8")
    limits = collections.Counter((r["time_limit_s"], r["memory_limit_mb"]) for r in rows)
    assert limits[(2.0, 256)] > 100 and sum(limits.values()) == 391
    stats = code.code_test_stats(rows)
    assert stats["problems"] == 391 and stats["tests_total"] == sum(len(r["tests"]) for r in rows)
    assert stats["tests_min"] >= 1 and stats["tests_median"] == 1      # most have only the sample test
    assert all(r["meta"]["test_counts"] == {"total": len(r["tests"])} for r in rows)
    out, stats_file = tmp_path / "code.jsonl", tmp_path / "code.stats.json"
    assert build_file({"source": "codeforces", "local_path": str(shared_data / "codeforces_deepcoder_test.jsonl"),
                       "n": 50, "seed": 42}, out, key="seeds.code", domain="code", stats=stats_file) == 50
    written = read_tasks(out, domain="code")
    assert len(written) == 50
    # the seed stats say how many tests each seed has
    seed_stats = json.loads(stats_file.read_text())
    assert seed_stats["rows"] == 50 and seed_stats["domains"] == {"code": 50}
    assert seed_stats["tests"] == code.code_test_stats(written)


def test_real_code_contests_deepcoder(shared_data):
    rows = local(shared_data, "code_contests_test_deepcoder.jsonl", "codeforces", "seeds.code")
    assert len(rows) == 165 - 3 and not {"cc-39", "cc-72", "cc-130"} & {r["id"] for r in rows}
    first = rows[0]
    assert (first["time_limit_s"], first["memory_limit_mb"]) == (2.0, 512) and first["tests"][0]["input"]
    assert "{'seconds'" not in first["question"] and first["question"].endswith("Memory Limit: 512 MB")


def test_real_livecodebench_qwq_shape(shared_data):
    rows = local(shared_data, "livecodebench_v5_qwq.jsonl", "livecodebench", "benchmarks.livecodebench")
    assert len(rows) == 279 and all(r["tests"] is None and r["meta"]["tests_missing"] for r in rows)
    assert sum(r["meta"]["testtype"] == "functional" for r in rows) == 104
    abc = next(r for r in rows if r["id"] == "lcb-abc365_b")
    assert abc["question"].startswith("You are given an integer sequence A=(A_1")
    assert "Read the inputs from stdin" not in abc["question"] and "YOUR CODE HERE" not in abc["question"]
    functional = next(r for r in rows if r["meta"]["testtype"] == "functional")
    assert "class Solution:" in functional["question"] and "You will use the following" not in functional["question"]
    window = local(shared_data, "livecodebench_v5_qwq.jsonl", "livecodebench", "benchmarks.livecodebench",
                   date_from="2024-10-01", date_to="2024-12-31")
    assert len(window) == 159 and all("2024-10-01" <= r["meta"]["contest_date"][:10] <= "2024-12-31" for r in window)
