"""Code seeds and benchmarks: Codeforces (open-r1/codeforces, the DeepCoder copies) and LiveCodeBench."""

from __future__ import annotations

import ast
import base64
import io
import json
import logging
import pickle
import re
import zlib

from ded.io import DataError
from ded.seeds.schema import make_task, safe_id

log = logging.getLogger("ded.seeds")

# --------------------------------------------------------------------------------------------------------------
# Limits and interactivity from statement text
# --------------------------------------------------------------------------------------------------------------
_TIME_NANOS = re.compile(r"Time Limit:\s*\{\s*'seconds':\s*(\d+),\s*'nanos':\s*(\d+)\s*\}")
_TIME = re.compile(r"Time Limit:\s*([\d.]+)\s*(ms|milliseconds?|s|secs?|seconds?)\b", re.IGNORECASE)
_MEMORY = re.compile(r"Memory Limit:\s*([\d.]+)\s*(MB|megabytes?|MiB|KB|kilobytes?|GB|gigabytes?|bytes?)?",
                     re.IGNORECASE)
_INTERACTIVE = re.compile(r"\bthis is an interactive problem|\n\s*Interaction( Format)?:?\s*\n", re.IGNORECASE)


def parse_time_limit(text: str) -> float | None:
    """Seconds from 'Time Limit: 2000 ms', 'Time Limit: 2 seconds' or CodeContests' "{'seconds': 2, 'nanos': 0}"."""
    m = _TIME_NANOS.search(text)
    if m:
        return int(m.group(1)) + int(m.group(2)) / 1e9
    m = _TIME.search(text)
    if m:
        value = float(m.group(1))
        return value / 1000 if m.group(2).lower().startswith("m") else value
    return None


def parse_memory_limit(text: str) -> float | None:
    """Megabytes from 'Memory Limit: 256 MB' or CodeContests' 'Memory Limit: 256000000 Bytes' (10^6 bytes/MB)."""
    m = _MEMORY.search(text)
    if not m:
        return None
    value, unit = float(m.group(1)), (m.group(2) or "").lower()
    if unit.startswith("k"):
        value /= 1024
    elif unit.startswith("g"):
        value *= 1024
    elif unit.startswith("byte") or (not unit and value > 100_000):
        value /= 1_000_000
    return int(value) if value == int(value) else value


def is_interactive(text: str = "", tags: list | None = None, interaction_format: str | None = None) -> bool:
    """Interactive problems need a judge program; stdin/stdout tests cannot check them.

    Three signals, any one suffices: the statement says so, an interaction section, or the 'interactive' tag (the
    DeepCoder copy of Codeforces problem 2013C says it only through its tag).
    """
    return bool((interaction_format or "").strip()) or "interactive" in (tags or []) or bool(_INTERACTIVE.search(text))


def limits_footer(time_limit_s: float | None, memory_limit_mb: float | None) -> str:
    lines = []
    if time_limit_s is not None:
        lines.append(f"Time Limit: {round(time_limit_s * 1000)} ms")
    if memory_limit_mb is not None:
        lines.append(f"Memory Limit: {memory_limit_mb:g} MB")
    return "\n".join(lines)


def _tests(items, where: str) -> list[dict]:
    out = []
    for i, t in enumerate(items or []):
        if not isinstance(t, dict) or not isinstance(t.get("input"), str) or not isinstance(t.get("output"), str):
            raise DataError(f"{where}: test {i} is {str(t)[:80]!r}, expected {{input: str, output: str}}")
        out.append({"input": t["input"], "output": t["output"]})
    return out


def _dedup(tests: list[dict]) -> list[dict]:
    seen, out = set(), []
    for t in tests:
        key = (t["input"], t["output"])
        if key not in seen:
            seen.add(key)
            out.append(t)
    return out


# --------------------------------------------------------------------------------------------------------------
# Codeforces
# --------------------------------------------------------------------------------------------------------------
def _count(value) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


def codeforces_hub(row: dict, *, index: int, where: str, source: str = "codeforces") -> dict:
    """open-r1/codeforces (`default` or `verifiable`): id, contest_id, index, title, description, input_format,
    output_format, interaction_format, note, examples, time_limit (s), memory_limit (MB), tags, rating,
    official_tests, official_tests_complete, input_mode, generated_checker, executable, generated_tests.

    Tests: the examples, then the official tests. `generated_tests` is, on the hub, the number of generated tests of
    the problem, which live in a per-contest file (attach_generated_tests adds them once the problems are drawn); a
    local copy may carry them inline as a list of {input, output}. meta.test_counts says where the tests came from.
    """
    time_limit = float(row["time_limit"]) if row.get("time_limit") is not None else None
    memory = row.get("memory_limit")
    memory = (int(memory) if float(memory) == int(memory) else float(memory)) if memory is not None else None
    examples = _tests(row.get("examples"), where)
    parts = [str(row.get("description") or "").strip()]
    for title, field in (("Input Format", "input_format"), ("Output Format", "output_format"),
                         ("Interaction Format", "interaction_format")):
        if (row.get(field) or "").strip():
            parts.append(f"{title}:\n{row[field].strip()}")
    if examples:
        parts.append("Examples:\n\n" + "\n\n".join(f"Input:\n{t['input'].rstrip()}\n\nOutput:\n{t['output'].rstrip()}"
                                                   for t in examples))
    if (row.get("note") or "").strip():
        parts.append(f"Note:\n{row['note'].strip()}")
    parts.append(limits_footer(time_limit, memory))
    ident = row.get("id") or f"{row.get('contest_id', '')}/{row.get('index', index)}"
    tags = list(row.get("tags") or [])
    generated = row.get("generated_tests")
    inline = _tests(generated, f"{where} generated_tests") if isinstance(generated, list) else []
    with_official = _dedup(examples + _tests(row.get("official_tests"), where))
    tests = _dedup(with_official + inline)
    meta = {"title": row.get("title"), "contest_id": row.get("contest_id"), "problem_id": str(ident),
            "rating": row.get("rating"), "tags": tags, "official_tests_complete": row.get("official_tests_complete"),
            "executable": row.get("executable"),
            "generated_tests": len(inline) if isinstance(generated, list) else _count(generated),
            "generated_inline": isinstance(generated, list),
            "input_mode": row.get("input_mode") or "stdio", "n_examples": len(examples),
            "interactive": is_interactive(row.get("description") or "", tags, row.get("interaction_format")),
            "checker": row.get("generated_checker"),
            "test_counts": {"examples": len(examples), "official": len(with_official) - len(examples),
                            "generated": len(tests) - len(with_official), "total": len(tests)}}
    return make_task(id=f"cf-{safe_id(str(ident).replace('/', ''))}", domain="code",
                     question="\n\n".join(p for p in parts if p), tests=tests, time_limit_s=time_limit,
                     memory_limit_mb=memory, source=source, source_index=index, meta=meta)


# --------------------------------------------------------------------------------------------------------------
# Complete tests: open-r1/codeforces' official tests are complete for some problems only; generated tests (in
# generated_tests/test_cases_<contest>.parquet of the same dataset repo) complete the others.
# --------------------------------------------------------------------------------------------------------------
GENERATED_COLUMNS = ("problem_id", "input", "output", "test_i")


def generated_tests_file(contest_id) -> str:
    """A contest's generated tests in the open-r1/codeforces repository (the contest id zero-padded to 4 digits)."""
    return f"generated_tests/test_cases_{int(contest_id):04d}.parquet"


def incomplete_tests(task: dict, can_fetch: bool) -> str | None:
    """Why an open-r1/codeforces problem's tests would not be complete (None: they are, or will be once its
    generated tests are attached; rows of other shapes say nothing about completeness)."""
    meta = task["meta"]
    if "official_tests_complete" not in meta:
        return None
    if meta.get("executable") is False:
        return "not executable (no solution passes its tests)"
    if meta.get("official_tests_complete"):
        return None
    if meta.get("generated_tests"):
        return None if meta.get("generated_inline") or can_fetch else "generated tests not available here"
    return "incomplete tests (official tests incomplete, no generated tests)"


def attach_generated_tests(tasks: list[dict], read_contest, *, origin: str = "open-r1/codeforces") -> list[dict]:
    """Add each problem's generated tests (after its examples and official tests, in test order, duplicates
    dropped), reading each contest's file once: read_contest(contest_id) -> rows with GENERATED_COLUMNS, or None
    when the repository has no such file. A problem that needs them (official tests incomplete) and gets none is
    an error naming the file; one with complete official tests keeps those."""
    wanted: dict[str, list[dict]] = {}
    for task in tasks:
        meta = task["meta"]
        if meta.get("generated_tests") and not meta.get("generated_inline"):
            wanted.setdefault(str(meta["contest_id"]), []).append(task)
    for contest, group in wanted.items():
        path = generated_tests_file(contest)
        rows = read_contest(contest)
        by_problem: dict[str, list[dict]] = {}
        for row in rows or []:
            by_problem.setdefault(str(row["problem_id"]), []).append(row)
        for task in group:
            meta = task["meta"]
            found = sorted(by_problem.get(meta["problem_id"], []), key=lambda r: int(r.get("test_i") or 0))
            if not found:
                if meta.get("official_tests_complete"):
                    log.warning("%s/%s: no generated tests for %s (the row says %d): keeping its complete official "
                                "tests", origin, path, meta["problem_id"], meta["generated_tests"])
                    continue
                raise DataError(f"{origin}/{path}: no generated tests for problem {meta['problem_id']} (the row "
                                f"says {meta['generated_tests']}) and its official tests are incomplete")
            before = len(task["tests"])
            task["tests"] = _dedup(task["tests"] + _tests(found, f"{origin}/{path}"))
            meta["test_counts"] = {**meta["test_counts"], "generated": len(task["tests"]) - before
                                   + meta["test_counts"]["generated"], "total": len(task["tests"])}
    return tasks


def code_test_stats(tasks: list[dict]) -> dict:
    """How many tests the code seeds have: per problem (min, median, max, total), by origin, checkers."""
    counts = sorted(len(t["tests"] or []) for t in tasks)
    origins = {"examples": 0, "official": 0, "generated": 0}
    for t in tasks:
        for key in origins:
            origins[key] += int((t["meta"].get("test_counts") or {}).get(key, 0))
    median = (counts[len(counts) // 2] + counts[(len(counts) - 1) // 2]) / 2 if counts else 0
    return {"problems": len(counts), "tests_min": counts[0] if counts else 0, "tests_median": median,
            "tests_max": counts[-1] if counts else 0, "tests_total": sum(counts), "by_origin": origins,
            "with_checker": sum(1 for t in tasks if t["meta"].get("checker")),
            "official_complete": sum(1 for t in tasks if t["meta"].get("official_tests_complete"))}


_TAGS = re.compile(r"\n*Tags:\s*\n(\[.*?\])[ \t]*(?:\n|$)")
_LIMIT_LINES = re.compile(r"\n*(?:Time|Memory) Limit:[^\n]*", re.IGNORECASE)


def _statement_from_text(text: str, where: str) -> tuple[str, float | None, float | None, list]:
    """Split a DeepCoder statement into (text without tags and limits, time limit, memory limit, tags)."""
    tags = []
    m = _TAGS.search(text)
    if m:
        try:
            tags = list(ast.literal_eval(m.group(1)))
        except (ValueError, SyntaxError):
            raise DataError(f"{where}: unreadable Tags list {m.group(1)[:80]!r}") from None
        text = text[:m.start()] + "\n" + text[m.end():]
    time_limit, memory = parse_time_limit(text), parse_memory_limit(text)
    body = _LIMIT_LINES.sub("", text).strip()
    return body, time_limit, memory, tags


def codeforces_deepcoder(row: dict, *, index: int, where: str, source: str = "codeforces") -> dict:
    """The DeepCoder copy of Codeforces (problem_id, problem, tests): limits and tags are lines of the statement."""
    body, time_limit, memory, tags = _statement_from_text(str(row["problem"]), where)
    tests = _tests(row.get("tests"), where)
    meta = {"tags": tags, "input_mode": "stdio", "interactive": is_interactive(body, tags),
            "test_counts": {"total": len(tests)}}
    return make_task(id=f"cf-{safe_id(row['problem_id'])}", domain="code",
                     question="\n\n".join(p for p in (body, limits_footer(time_limit, memory)) if p),
                     tests=tests, time_limit_s=time_limit, memory_limit_mb=memory, source=source,
                     source_index=str(row["problem_id"]), meta=meta)


def code_contests_deepcoder(row: dict, *, index: int, where: str, source: str = "codeforces") -> dict:
    """The DeepCoder copy of CodeContests' test split (index, problem, tests: {inputs: [...], outputs: [...]})."""
    body, time_limit, memory, tags = _statement_from_text(str(row["problem"]), where)
    raw = row.get("tests")
    shaped = isinstance(raw, dict) and isinstance(raw.get("inputs"), list) and isinstance(raw.get("outputs"), list)
    if not shaped or len(raw["inputs"]) != len(raw["outputs"]):
        raise DataError(f"{where}: tests must be {{inputs: [...], outputs: [...]}} of equal length")
    tests = _tests([{"input": i, "output": o} for i, o in zip(raw["inputs"], raw["outputs"])], where)
    meta = {"tags": tags, "input_mode": "stdio", "interactive": is_interactive(body, tags),
            "test_counts": {"total": len(tests)}}
    return make_task(id=f"cc-{safe_id(row['index'])}", domain="code",
                     question="\n\n".join(p for p in (body, limits_footer(time_limit, memory)) if p),
                     tests=tests, time_limit_s=time_limit, memory_limit_mb=memory, source=source,
                     source_index=row["index"], meta=meta)


def usable_code_task(task: dict) -> str | None:
    """Why a code task cannot be checked by running a program on stdin (None = usable)."""
    if task["meta"].get("interactive"):
        return "interactive"
    if task["meta"].get("input_mode", "stdio") != "stdio":
        return "file input/output"
    if not task["tests"]:
        return "no tests"
    return None


# --------------------------------------------------------------------------------------------------------------
# LiveCodeBench
# --------------------------------------------------------------------------------------------------------------
class _NoGlobalsUnpickler(pickle.Unpickler):
    """LiveCodeBench pickles a plain str; refusing every global makes loading the hub's bytes unable to run code."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: expected a pickled string")


def decode_lcb_tests(value, where: str) -> list[dict]:
    """LiveCodeBench test cases: a JSON string, or (the private tests of code_generation_lite)
    base64(zlib(pickle(JSON string))) - the order LiveCodeBench's CodeGenerationProblem.__post_init__ decodes."""
    if isinstance(value, list):
        return value
    if not isinstance(value, str):
        raise DataError(f"{where}: test cases are {type(value).__name__}, expected a string")
    if not value.strip():
        return []
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        pass
    try:
        obj = _NoGlobalsUnpickler(io.BytesIO(zlib.decompress(base64.b64decode(value.encode("utf-8"))))).load()
        return json.loads(obj) if isinstance(obj, (str, bytes)) else obj
    except Exception as exc:
        raise DataError(f"{where}: test cases are neither JSON nor base64(zlib(pickle(JSON))) ({exc})") from exc


def _lcb_question(content: str, starter_code: str) -> str:
    question = content.strip()
    if starter_code.strip():
        question += ("\n\nUse the following starter code (the tests call its method directly):\n```python\n"
                     + starter_code.rstrip() + "\n```")
    return question


def _lcb_tests(items: list, where: str) -> tuple[list[dict], set]:
    """({input, output} tests, their test types): a problem's tests share one type, kept once in meta.testtype."""
    out, types = [], set()
    for i, t in enumerate(items):
        if not isinstance(t, dict) or not isinstance(t.get("input"), str) or not isinstance(t.get("output"), str):
            raise DataError(f"{where}: test {i} is {str(t)[:80]!r}, expected {{input, output, testtype}}")
        out.append({"input": t["input"], "output": t["output"]})
        types.add(t.get("testtype", "stdin"))
    return out, types


def livecodebench_hub(row: dict, *, index: int, where: str, source: str = "livecodebench") -> dict:
    """livecodebench/code_generation_lite: question_title, question_content, platform, question_id, contest_id,
    contest_date, starter_code, difficulty, public_test_cases (JSON), private_test_cases (JSON or
    base64/zlib/pickle), metadata (JSON with func_name for LeetCode's functional problems)."""
    public, types_public = _lcb_tests(decode_lcb_tests(row["public_test_cases"], f"{where} public_test_cases"), where)
    private, types_private = _lcb_tests(decode_lcb_tests(row["private_test_cases"], f"{where} private_test_cases"),
                                        where)
    types = types_public | types_private
    if len(types) > 1:
        raise DataError(f"{where}: tests mix types {sorted(types)}, expected one (stdin or functional)")
    metadata = row.get("metadata") or {}
    if isinstance(metadata, str):
        metadata = json.loads(metadata) if metadata.strip() else {}
    tests = public + private
    starter = row.get("starter_code") or ""
    testtype = types.pop() if types else ("functional" if starter.strip() else "stdin")
    difficulty = (row.get("difficulty") or "").lower() or None
    meta = {"question_title": row.get("question_title"), "platform": row.get("platform"),
            "contest_id": row.get("contest_id"), "contest_date": str(row["contest_date"]),
            "starter_code": starter, "func_name": metadata.get("func_name"), "testtype": testtype,
            "n_public_tests": len(public)}
    return make_task(id=f"lcb-{safe_id(row['question_id'])}", domain="code",
                     question=_lcb_question(row["question_content"], starter), tests=tests,
                     difficulty=difficulty, source=source, source_index=index, meta=meta)


_QWQ_HEAD = re.compile(r"^.*?\n\nQuestion:\s*", re.DOTALL)
_QWQ_STDIN_TAIL = "\n\nRead the inputs from stdin"
_QWQ_STARTER_TAIL = "\n\nYou will use the following starter code"


def livecodebench_qwq(row: dict, *, index: int, where: str, source: str = "livecodebench") -> dict:
    """QwQ's LiveCodeBench prompts (global_id, question_id, contest_id, contest_date, prompt, tests): the statement
    is cut out of the prompt's instructions; the tests are not in this shape (only a file name), so tests is null."""
    prompt = str(row["prompt"])
    m = _QWQ_HEAD.match(prompt)
    if not m:
        raise DataError(f"{where}: prompt has no 'Question:' section (expected QwQ's LiveCodeBench prompt)")
    body = prompt[m.end():]
    starter = ""
    if _QWQ_STARTER_TAIL in body:
        body, tail = body.split(_QWQ_STARTER_TAIL, 1)
        code = re.search(r"```python\n(.*?)```", tail, re.DOTALL)
        starter = code.group(1).rstrip() + "\n" if code else ""
    elif _QWQ_STDIN_TAIL in body:
        body = body.split(_QWQ_STDIN_TAIL, 1)[0]
    meta = {"platform": None, "contest_id": row.get("contest_id"), "contest_date": str(row["contest_date"]),
            "starter_code": starter, "testtype": "functional" if starter else "stdin", "tests_missing": True,
            "global_id": row.get("global_id")}
    return make_task(id=f"lcb-{safe_id(row['question_id'])}", domain="code", question=_lcb_question(body, starter),
                     tests=None, source=source, source_index=index, meta=meta)


def in_date_window(contest_date: str, date_from: str | None, date_to: str | None) -> bool:
    """Inclusive window on the contest's calendar date (ISO strings compare in date order)."""
    day = str(contest_date)[:10]
    return (date_from is None or day >= str(date_from)) and (date_to is None or day <= str(date_to))
