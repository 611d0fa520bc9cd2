"""The `verify` stage: R/samples/{model}/{domain}.jsonl -> R/verified/{model}/{domain}.jsonl.

Every sample row comes out with `checks` {length, format, correct} and `passed`, in the input order; nothing is
dropped. Bad input (a malformed line, a missing field, a question that is not in the seeds) stops the job before any
work with an error naming file and line; the output is written atomically, so an earlier result is never clobbered
by a half-written one.
"""

from __future__ import annotations

import collections
import os
from pathlib import Path

from ded.io import DataError, check_unique, iter_numbered_jsonl, write_jsonl
from ded.runtime import get_logger
from ded.verify import (
    CHECKS,
    check_format,
    count_tokens,
    filtering_settings,
    is_correct_many,
    length_verdict,
    passed,
    pool_preload,
)

SAMPLE_FIELDS = ("id", "question_id", "response")


def load_tasks(path: str | os.PathLike) -> dict[str, dict]:
    """The seed rows (decontaminated) by id, validated against the seed schema."""
    from ded.seeds.schema import read_tasks

    return {row["id"]: row for row in read_tasks(path)}


def load_samples(path: str | os.PathLike, tasks: dict[str, dict],
                 seeds_path: str | os.PathLike = "seeds") -> list[dict]:
    """Sample rows, each checked against the seeds; errors name the file and the line."""
    rows, seen = [], {}
    for lineno, row in iter_numbered_jsonl(path, SAMPLE_FIELDS):
        where = f"{path}:{lineno}"
        if not isinstance(row["response"], str):
            raise DataError(f"{where}: field response must be a string, got {type(row['response']).__name__}")
        try:
            row["response"].encode("utf-8")
        except UnicodeEncodeError as exc:
            raise DataError(f"{where}: field response is not valid Unicode ({exc.reason} at character "
                            f"{exc.start})") from exc
        qid = row["question_id"]
        if not isinstance(qid, str) or qid not in tasks:
            raise DataError(f"{where}: question_id {qid!r} is not in the seeds file {seeds_path}")
        if "domain" in row and row["domain"] != tasks[qid]["domain"]:
            raise DataError(f"{where}: domain {row['domain']!r}, but question {qid} is {tasks[qid]['domain']!r}")
        key = str(row["id"])
        check_unique(seen, key, lineno, where, f"id {key!r}")
        rows.append(row)
    return rows


def load_tokenizer(spec: dict):
    from ded.runtime import skip_unused_imports_in_transformers

    skip_unused_imports_in_transformers()
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(spec.get("tokenizer") or spec["model"], revision=spec.get("revision"))


def summarize(rows: list[dict]) -> dict:
    """Counts per check: {rows, passed, <check>: {ok, failed, reasons: {reason: count}}}."""
    summary = {"rows": len(rows), "passed": sum(1 for r in rows if r["passed"])}
    for name in CHECKS:
        reasons = collections.Counter(r["checks"][name].get("reason", "?") for r in rows)
        ok = sum(1 for r in rows if r["checks"][name]["ok"])
        summary[name] = {"ok": ok, "failed": len(rows) - ok, "reasons": dict(sorted(reasons.items()))}
    return summary


def format_summary(summary: dict) -> str:
    parts = [f"{summary['rows']} rows, {summary['passed']} passed"]
    for name in CHECKS:
        s = summary[name]
        reasons = ", ".join(f"{k} {v}" for k, v in s["reasons"].items())
        parts.append(f"{name}: {s['ok']} ok, {s['failed']} failed ({reasons})")
    return "; ".join(parts)


def verify_file(samples_path: str | os.PathLike, seeds_path: str | os.PathLike, out_path: str | os.PathLike, *,
                filtering: dict, tokenizer=None, tokenizer_spec: dict | None = None, workers: int = 2,
                judge=None, log=None) -> dict:
    """Verify every sample of a file and write the verified file; returns the summary (also logged).

    tokenizer: a loaded tokenizer, or tokenizer_spec (a model entry: model, revision, tokenizer) to load one.
    workers: processes checking correctness (math-verify and the code sandbox) in parallel.
    """
    from ded.verify.pool import WorkerPool

    log = log or get_logger()
    cfg = filtering_settings(filtering)
    tasks = load_tasks(seeds_path)
    rows = load_samples(samples_path, tasks, seeds_path)
    domains = collections.Counter(tasks[r["question_id"]]["domain"] for r in rows)
    log.info("%s: %d samples (%s) of %d seed questions", samples_path, len(rows), dict(domains), len(tasks))
    if domains.get("code"):
        from ded.verify.sandbox import capabilities

        caps = capabilities()
        if caps["status"] != "ok":
            raise RuntimeError(f"the code sandbox cannot run a trivial program: {caps}")
        isolated = caps.get("namespaces") and caps.get("readonly_fs") and caps.get("uid")
        (log.info if isolated else log.warning)("code sandbox: %s", caps)
        no_tests = sorted({r["question_id"] for r in rows
                           if tasks[r["question_id"]]["domain"] == "code" and not tasks[r["question_id"]]["tests"]})
        if no_tests:
            log.warning("%d code questions have no tests (their answers fail with no_tests): %s", len(no_tests),
                        ", ".join(no_tests[:10]))
    # the workers import math-verify while this process loads the tokenizer and counts tokens
    pool = WorkerPool(workers=max(1, int(workers)), preload=pool_preload(tasks[r["question_id"]] for r in rows)) \
        if rows else None
    try:
        if tokenizer is None:
            if tokenizer_spec is None:
                raise ValueError("verify_file: pass a tokenizer or a tokenizer_spec")
            tokenizer = load_tokenizer(tokenizer_spec)
        lengths = count_tokens(tokenizer, [r["response"] for r in rows])
        done = {"n": 0}
        step = max(1, len(rows) // 10)

        def progress(i, verdict):
            done["n"] += 1
            if done["n"] % step == 0 or done["n"] == len(rows):
                log.info("correctness: %d/%d checked", done["n"], len(rows))

        items = [(tasks[r["question_id"]], r["response"]) for r in rows]
        verdicts = is_correct_many(items, filtering=cfg, pool=pool, judge=judge, on_result=progress) if rows else []
    finally:
        if pool is not None:
            pool.close()
    out_rows = []
    limit = int(cfg["max_tokens"])
    for row, tokens, correct in zip(rows, lengths, verdicts):
        checks = {"length": length_verdict(tokens, limit, row.get("finish_reason")),
                  "format": check_format(row["response"]),
                  "correct": correct}
        out_rows.append({**row, "checks": checks, "passed": passed(checks)})
    write_jsonl(out_path, out_rows)
    summary = summarize(out_rows)
    log.info("verified %s -> %s: %s", samples_path, Path(out_path), format_summary(summary))
    return summary
