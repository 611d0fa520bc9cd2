"""Seed questions and benchmarks (R/seeds/{domain}.jsonl, R/benchmarks/{benchmark}.jsonl).

    build_file(spec, out, key="seeds.math", domain="math", stats=...)   one config entry -> one normalised JSONL
                                                                         (and its stats JSON)
    read_tasks(path)                                          read such a file back, validated, file:line errors

Row schema: ARCHITECTURE.md ("Seed and benchmark rows"), checked by ded.seeds.schema.task_problems.
"""

from __future__ import annotations

import os

from ded.io import write_json, write_jsonl
from ded.seeds.schema import TASK_FIELDS, make_task, read_tasks, task_problems, validate_task, validate_tasks
from ded.seeds.sources import SOURCE_DOMAINS, SYNTHETIC, build_rows, source_params

__all__ = [
    "SOURCE_DOMAINS",
    "SYNTHETIC",
    "TASK_FIELDS",
    "build_file",
    "seed_stats",
    "build_rows",
    "make_task",
    "read_tasks",
    "source_params",
    "task_problems",
    "validate_task",
    "validate_tasks",
]




def seed_stats(rows: list[dict]) -> dict:
    """What a seed or benchmark file holds: rows per domain and difficulty, and for code how many tests each
    problem has (per problem min / median / max, by origin, with a checker: ded.seeds.code.code_test_stats)."""
    from ded.seeds.code import code_test_stats

    stats: dict = {"rows": len(rows), "domains": {}, "difficulties": {}}
    for row in rows:
        stats["domains"][row["domain"]] = stats["domains"].get(row["domain"], 0) + 1
        level = row.get("difficulty") or "none"
        stats["difficulties"][level] = stats["difficulties"].get(level, 0) + 1
    code_rows = [r for r in rows if r["domain"] == "code"]
    if code_rows:
        stats["tests"] = code_test_stats(code_rows)
    return stats


def build_file(spec: dict, out: str | os.PathLike, *, key: str, domain: str | None = None,
               stats: str | os.PathLike | None = None) -> int:
    """Build the rows of one data_source entry and write them atomically (and, given `stats`, their seed_stats);
    returns the number of rows."""
    rows = build_rows(spec, key=key, domain=domain)
    n = write_jsonl(out, rows)
    if stats is not None:
        write_json(stats, seed_stats(rows))
    return n
