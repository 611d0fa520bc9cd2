"""The seed/benchmark row of ARCHITECTURE.md: construction, validation, and reading with file:line errors."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any

from ded.io import DataError, iter_jsonl

TASK_FIELDS = ("id", "domain", "question", "answer", "tests", "time_limit_s", "memory_limit_mb", "difficulty",
               "source", "source_index", "meta")
TASK_DOMAINS = ("math", "code", "choice")
DIFFICULTIES = ("easy", "medium", "hard")
# Sample ids are "{question_id}#{sample_index}" and ids may name files: no '#', '/', or whitespace.
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:+-]*")


def safe_id(text: Any) -> str:
    """A source identifier made safe for task ids ('test/algebra/1.json' -> 'test-algebra-1.json')."""
    s = re.sub(r"[^A-Za-z0-9_.:+-]+", "-", str(text).strip()).strip("-")
    return s or "x"


def make_task(*, id: str, domain: str, question: str, source: str, source_index: int | str, answer: str | None = None,
              tests: list[dict] | None = None, time_limit_s: float | None = None,
              memory_limit_mb: float | None = None, difficulty: str | None = None, meta: dict | None = None) -> dict:
    """A task row with every schema field, in the schema's order."""
    return {"id": id, "domain": domain, "question": question, "answer": answer, "tests": tests,
            "time_limit_s": time_limit_s, "memory_limit_mb": memory_limit_mb, "difficulty": difficulty,
            "source": source, "source_index": source_index, "meta": meta if meta is not None else {}}


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def task_problems(row: Any) -> list[str]:
    """What is wrong with a task row (empty = it follows the schema exactly)."""
    if not isinstance(row, dict):
        return [f"expected a JSON object, got {type(row).__name__}"]
    problems = []
    missing = [k for k in TASK_FIELDS if k not in row]
    extra = [k for k in row if k not in TASK_FIELDS]
    if missing:
        problems.append(f"missing field(s) {', '.join(missing)}")
    if extra:
        problems.append(f"unexpected field(s) {', '.join(extra)} (extra information belongs in meta)")
    if missing:
        return problems
    rid, domain = row["id"], row["domain"]
    if not isinstance(rid, str) or not _ID.fullmatch(rid):
        problems.append(f"id {rid!r}: expected a non-empty string of letters, digits and _.:+- (no '#', '/', spaces)")
    if domain not in TASK_DOMAINS:
        problems.append(f"domain {domain!r}: expected one of {', '.join(TASK_DOMAINS)}")
    if not isinstance(row["question"], str) or not row["question"].strip():
        problems.append("question: expected a non-empty string")
    answer, tests = row["answer"], row["tests"]
    if domain == "math" and answer is not None and not isinstance(answer, str):
        problems.append(f"answer {answer!r}: expected a string or null for math")
    if domain == "choice" and not (isinstance(answer, str) and re.fullmatch(r"[A-Z]", answer)):
        problems.append(f"answer {answer!r}: expected one capital letter for choice")
    if domain == "code":
        if answer is not None:
            problems.append("answer: expected null for code (correctness comes from tests)")
        if tests is not None and (not isinstance(tests, list) or not all(
                isinstance(t, dict) and isinstance(t.get("input"), str) and isinstance(t.get("output"), str)
                for t in tests)):
            problems.append("tests: expected a list of {input: str, output: str} or null")
    elif tests is not None:
        problems.append(f"tests: expected null for {domain}")
    for key in ("time_limit_s", "memory_limit_mb"):
        if row[key] is not None and not (_is_number(row[key]) and row[key] > 0):
            problems.append(f"{key} {row[key]!r}: expected a positive number or null")
    if row["difficulty"] is not None and row["difficulty"] not in DIFFICULTIES:
        problems.append(f"difficulty {row['difficulty']!r}: expected one of {', '.join(DIFFICULTIES)} or null")
    if not isinstance(row["source"], str) or not row["source"]:
        problems.append("source: expected a non-empty string")
    if not (isinstance(row["source_index"], str) or (isinstance(row["source_index"], int)
                                                     and not isinstance(row["source_index"], bool))):
        problems.append(f"source_index {row['source_index']!r}: expected an int or a string")
    if not isinstance(row["meta"], dict):
        problems.append("meta: expected an object")
    return problems


def validate_task(row: Any, where: str) -> dict:
    problems = task_problems(row)
    if problems:
        raise DataError(f"{where}: " + "; ".join(problems))
    return row


def validate_tasks(rows: Iterable[dict], where: str, domain: str | None = None) -> list[dict]:
    """Validate rows (where names their origin: a file, a generator), unique ids, and the expected domain."""
    rows = list(rows)
    seen: dict[str, int] = {}
    for i, row in enumerate(rows):
        validate_task(row, f"{where} row {i}")
        if domain is not None and row["domain"] != domain:
            raise DataError(f"{where} row {i} (id {row['id']}): domain {row['domain']!r}, expected {domain!r}")
        if row["id"] in seen:
            raise DataError(f"{where} row {i}: duplicate id {row['id']!r} (first at row {seen[row['id']]})")
        seen[row["id"]] = i
    return rows


def read_tasks(path: str | os.PathLike, domain: str | None = None) -> list[dict]:
    """Read a seed or benchmark file (R/seeds, R/benchmarks, R/decontam), failing with file:line on any bad row."""
    rows, seen = [], {}
    lineno = 0
    for lineno, row in numbered_jsonl(path):
        validate_task(row, f"{path}:{lineno}")
        if domain is not None and row["domain"] != domain:
            raise DataError(f"{path}:{lineno}: domain {row['domain']!r}, expected {domain!r}")
        if row["id"] in seen:
            raise DataError(f"{path}:{lineno}: duplicate id {row['id']!r} (first at line {seen[row['id']]})")
        seen[row["id"]] = lineno
        rows.append(row)
    return rows


def numbered_jsonl(path: str | os.PathLike):
    """(line number, row) pairs of a JSONL file; iter_jsonl fails with file:line on bad UTF-8 or JSON."""
    numbers = []
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if raw.strip():
                numbers.append(lineno)
    return zip(numbers, iter_jsonl(path))
