"""Reading the corpus stage's inputs with errors that name file:line, and building corpus rows.

Every reader here validates what the corpus stage relies on (ARCHITECTURE.md "Record schemas"), so that a bad row
fails where it is read, not as a KeyError three functions later.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ded.io import DataError, check_unique, iter_numbered_jsonl
from ded.prompts import user_prompt
from ded.verify import CHECKS

SEED_FIELDS = ("id", "domain", "question")
VERIFIED_FIELDS = ("question_id", "sample_index", "response", "checks", "passed")


def read_tasks(path: str | os.PathLike) -> list[dict]:
    """Seed or benchmark rows (id, domain, question at least), ids unique within the file."""
    rows, seen = [], {}
    for lineno, row in iter_numbered_jsonl(path, SEED_FIELDS):
        if not isinstance(row["question"], str):
            raise DataError(f"{path}:{lineno}: field question must be a string, got {type(row['question']).__name__}")
        key = str(row["id"])
        check_unique(seen, key, lineno, f"{path}:{lineno}", f"id {key!r}")
        rows.append(row)
    return rows


@dataclass(frozen=True)
class Sample:
    """One verified response, reduced to what corpus building needs."""

    question_id: str
    sample_index: int
    response: str
    num_tokens: int  # checks.length.tokens: counted with the tokenizer of filtering.tokenizer_of
    ok: dict  # check name -> bool
    passed: bool

    def first_failing(self) -> str | None:
        """The first failing check in pipeline order (length, format, correct), None when it passed."""
        for name in CHECKS:
            if not self.ok[name]:
                return name
        return None


def _sample_from_row(row: dict, where: str) -> Sample:
    checks = row["checks"]
    if not isinstance(checks, dict):
        raise DataError(f"{where}: field checks must be an object with {', '.join(CHECKS)}")
    ok = {}
    for name in CHECKS:
        verdict = checks.get(name)
        if not isinstance(verdict, dict) or not isinstance(verdict.get("ok"), bool):
            raise DataError(f"{where}: checks.{name} must be an object with a boolean 'ok'")
        ok[name] = verdict["ok"]
    tokens = checks["length"].get("tokens")
    if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 0:
        raise DataError(f"{where}: checks.length.tokens must be a non-negative integer, got {tokens!r}")
    if not isinstance(row["passed"], bool) or row["passed"] != all(ok.values()):
        raise DataError(f"{where}: passed is {row['passed']!r} but the checks say {all(ok.values())} ({ok})")
    index = row["sample_index"]
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise DataError(f"{where}: sample_index must be a non-negative integer, got {index!r}")
    if not isinstance(row["response"], str):
        raise DataError(f"{where}: response must be a string")
    return Sample(str(row["question_id"]), index, row["response"], tokens, ok, row["passed"])


def read_verified(path: str | os.PathLike) -> dict[str, list[Sample]]:
    """Verified rows grouped by question (first-appearance order), samples sorted by sample_index."""
    groups: dict[str, dict[int, Sample]] = {}
    lines: dict[tuple[str, int], int] = {}
    for lineno, row in iter_numbered_jsonl(path, VERIFIED_FIELDS):
        sample = _sample_from_row(row, f"{path}:{lineno}")
        check_unique(lines, (sample.question_id, sample.sample_index), lineno, f"{path}:{lineno}",
                     f"sample {sample.question_id}#{sample.sample_index}")
        groups.setdefault(sample.question_id, {})[sample.sample_index] = sample
    return {qid: [by_index[i] for i in sorted(by_index)] for qid, by_index in groups.items()}


def read_pass_rates(path: str | os.PathLike) -> dict[str, dict]:
    """Pass-rate rows by question id."""
    out = {}
    for lineno, row in iter_numbered_jsonl(path, ("question_id", "k", "n_correct", "pass_rate", "hard")):
        if not isinstance(row["hard"], bool):
            raise DataError(f"{path}:{lineno}: field hard must be a boolean, got {row['hard']!r}")
        qid = str(row["question_id"])
        if qid in out:
            raise DataError(f"{path}:{lineno}: duplicate question_id {qid!r}")
        out[qid] = row
    return out


def corpus_row(task: dict, teacher: str, sample: Sample) -> dict:
    """A corpus row (ARCHITECTURE.md): the user turn is rebuilt with ded.prompts so SFT sees the sampling prompt."""
    return {
        "question_id": sample.question_id,
        "domain": task["domain"],
        "teacher": teacher,
        "sample_index": sample.sample_index,
        "prompt": user_prompt(task),
        "response": sample.response,
        "num_tokens": sample.num_tokens,
    }
