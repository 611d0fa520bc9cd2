"""Math seeds and benchmarks: s1K, AIME 2024/2025, MATH-500 (hub shapes and the local copies' shapes)."""

from __future__ import annotations

import re

from ded.io import DataError
from ded.seeds.answers import aime_integer, last_boxed, s1k_answer
from ded.seeds.schema import make_task, safe_id


def _text(row: dict, field: str, where: str) -> str:
    value = row.get(field)
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"{where}: field {field!r} is {value!r}, expected a non-empty string")
    return value.strip()


_PROOF = re.compile(r"\b(prove|show)\s+that\b", re.IGNORECASE)


def s1k(row: dict, *, index: int, where: str, source: str = "s1k") -> dict:
    """s1K (simplescaling/s1K: question, solution, cot_type, source_type, metadata, ...; the local copy adds
    s1k_index). The gold answer comes from the reference solution (ded.seeds.answers.s1k_answer)."""
    question = _text(row, "question", where)
    solution = row.get("solution") or ""
    answer, rule = s1k_answer(solution)
    idx = row.get("s1k_index", index)
    # A proof's \boxed{} (32 rows of s1K v1.0) restates a claim rather than giving a checkable value: flagged, kept.
    meta = {"solution": solution, "answer_rule": rule, "proof": bool(_PROOF.search(question))}
    for key in ("cot_type", "source_type", "metadata"):
        if row.get(key) is not None:
            meta[key] = row[key]
    return make_task(id=f"s1k-{int(idx):04d}", domain="math", question=question, answer=answer, source=source,
                     source_index=int(idx), meta=meta)


def aime(row: dict, *, index: int, where: str, source: str) -> dict:
    """AIME 2024 (HuggingFaceH4/aime_2024: id, problem, solution, answer, url, year), AIME 2025 (math-ai/aime25:
    problem, answer, id; MathArena: problem_idx, problem, answer; the local copy: id, year, competition,
    problem_number, problem, answer). Answers are integers: '025' becomes '25'."""
    problem = _text(row, "problem", where)
    if row.get("answer") is None:
        raise DataError(f"{where}: field 'answer' is null, expected the AIME answer")
    answer = aime_integer(row["answer"], where)
    ident = row.get("id", row.get("problem_idx", index))
    meta = {"answer_raw": str(row["answer"])}
    for key in ("url", "year", "competition", "problem_number", "solution"):
        if row.get(key) is not None:
            meta[key] = row[key]
    return make_task(id=f"{source}-{safe_id(ident)}", domain="math", question=problem, answer=answer, source=source,
                     source_index=index, meta=meta)


def math500(row: dict, *, index: int, where: str, source: str = "math500") -> dict:
    """MATH-500 (HuggingFaceH4/MATH-500 and the local copy: problem, solution, answer, subject, level, unique_id).
    The answer is kept as the dataset's LaTeX (an equivalence checker compares it)."""
    problem = _text(row, "problem", where)
    answer = row.get("answer")
    if not isinstance(answer, str) or not answer.strip():
        answer = last_boxed(row.get("solution") or "")
        if not answer:
            raise DataError(f"{where}: no 'answer' and no \\boxed{{}} in 'solution'")
    meta = {k: row[k] for k in ("solution", "subject", "level", "unique_id") if row.get(k) is not None}
    return make_task(id=f"{source}-{index:03d}", domain="math", question=problem, answer=answer.strip(),
                     source=source, source_index=index, meta=meta)
