"""Seed questions and benchmarks (R/seeds/{domain}.jsonl, R/benchmarks/{benchmark}.jsonl).

    build_file(spec, out, key="seeds.math", domain="math")   one config entry -> one normalised JSONL
    read_tasks(path)                                          read such a file back, validated, file:line errors

Row schema: ARCHITECTURE.md ("Seed and benchmark rows"), checked by ded.seeds.schema.task_problems.
"""

from __future__ import annotations

import os

from ded.io import write_jsonl
from ded.seeds.schema import TASK_FIELDS, make_task, read_tasks, task_problems, validate_task, validate_tasks
from ded.seeds.sources import SOURCE_DOMAINS, SYNTHETIC, build_rows, source_params

__all__ = [
    "SOURCE_DOMAINS",
    "SYNTHETIC",
    "TASK_FIELDS",
    "build_file",
    "build_rows",
    "make_task",
    "read_tasks",
    "source_params",
    "task_problems",
    "validate_task",
    "validate_tasks",
]


def build_file(spec: dict, out: str | os.PathLike, *, key: str, domain: str | None = None) -> int:
    """Build the rows of one data_source entry and write them atomically; returns the number of rows."""
    return write_jsonl(out, build_rows(spec, key=key, domain=domain))
