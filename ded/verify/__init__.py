"""Verification (DED stage 2): every sampled response gets three verdicts, all kept.

    checks = verify_response(task, response, tokenizer=tok, filtering=config["filtering"])
    checks["length"]   # {ok, tokens, limit, reason}               tokens in the tokenizer of filtering.tokenizer_of
    checks["format"]   # {ok, reason}                              one <think>, one </think>, then an answer
    checks["correct"]  # {ok, method, reason, ...}                 = is_correct(task, response, filtering=...)

    verdict = is_correct(task, response, filtering=filtering)            # one answer, in this process
    verdicts = is_correct_many([(task, response), ...], filtering=...)   # many, in worker processes, hard deadlines

`correct` by domain: math, math-verify's reading of the answer part (after </think>: several \\boxed{}, or none)
against the gold answer, with the judge (filtering.judge) for answers it cannot read; choice, the option letter;
code, the last ```python block run in the sandbox (ded.verify.sandbox) against every test of the task (LiveCodeBench
problems by LiveCodeBench's own rules). Verdict fields: see the check_* functions.
The Snakemake stage is ded.verify.stage.verify_file (rule `verify`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from ded.config import deep_merge
from ded.verify.answers import answer_region, extract_choice, last_boxed, last_code_block
from ded.verify.codecheck import CHECKER_LIMITS, check_code, per_test_limits
from ded.verify.format import check_format
from ded.verify.judge import judge_verdicts, load_judge, wants_judge
from ded.verify.length import check_length, count_tokens, length_verdict
from ded.verify.mathcheck import check_math, in_main_thread
from ded.verify.sandbox import default_wall_s

FILTERING_DEFAULTS = {
    "max_tokens": 16384,
    "tokenizer_of": "student",
    "math_timeout_s": 5,
    "code": {"timeout_s": 6, "memory_mb": 1024, "float_tolerance": 1.0e-6},
    "judge": None,
}
CHECKS = ("length", "format", "correct")
DOMAINS = ("math", "choice", "code")


def filtering_settings(filtering: dict | None) -> dict:
    """The filtering section with the schema's defaults filled in (callers may pass a partial dict)."""
    return deep_merge(FILTERING_DEFAULTS, filtering or {})


def passed(checks: dict) -> bool:
    return all(bool(checks[name]["ok"]) for name in CHECKS)


def choice_letters(task: dict) -> str:
    """The option letters of a choice task (its meta.options keys; GPQA's four by default)."""
    options = (task.get("meta") or {}).get("options")
    letters = "".join(sorted(k for k in options if len(k) == 1 and k.isupper())) if isinstance(options, dict) else ""
    return letters or "ABCD"


def check_choice(gold: str | None, response: str, letters: str = "ABCD") -> dict:
    """{ok, method: choice, reason: equal | not_equal | no_answer | no_gold, extracted, gold}."""
    if not gold:
        return {"ok": False, "method": "choice", "reason": "no_gold", "extracted": None, "gold": gold}
    letter = extract_choice(response, letters)
    if letter is None:
        return {"ok": False, "method": "choice", "reason": "no_answer", "extracted": None, "gold": gold}
    ok = letter == str(gold).strip().upper()
    return {"ok": ok, "method": "choice", "reason": "equal" if ok else "not_equal", "extracted": letter, "gold": gold}


def _domain(task: dict) -> str:
    domain = task.get("domain")
    if domain not in DOMAINS:
        raise ValueError(f"task {task.get('id')!r}: unknown domain {domain!r} (expected one of {', '.join(DOMAINS)})")
    return domain


def correct_job(task: dict, response: str, filtering: dict) -> dict:
    """The correctness verdict without the judge, computed in this process (a pool worker's job)."""
    cfg = filtering_settings(filtering)
    if not isinstance(response, str):
        return {"ok": False, "method": _METHODS[_domain(task)], "reason": "not_text"}
    domain = _domain(task)
    if domain == "math":
        return check_math(task.get("answer"), response, timeout_s=cfg["math_timeout_s"])
    if domain == "choice":
        return check_choice(task.get("answer"), response, choice_letters(task))
    return check_code(task, response, code_cfg=cfg["code"])


def job_deadline_s(task: dict, filtering: dict) -> float:
    """Wall seconds a pool worker gets for one answer before it is killed (the checks' own limits come first)."""
    cfg = filtering_settings(filtering)
    if task.get("domain") == "code":
        time_s, _ = per_test_limits(task, cfg["code"])
        per_test = default_wall_s(time_s) + 3
        if (task.get("meta") or {}).get("checker"):
            per_test += default_wall_s(CHECKER_LIMITS["time_limit_s"]) + 3
        return len(task.get("tests") or []) * per_test + 15
    return 2 * float(cfg["math_timeout_s"]) + 15


_METHODS = {"math": "math-verify", "choice": "choice", "code": "sandbox"}


def pool_preload(tasks) -> tuple[str, ...]:
    """What a worker loads before its first job: math-verify only when some task needs it."""
    return ("ded.verify.mathcheck:warm_up",) if any(t.get("domain") == "math" for t in tasks) else ()


def _from_outcome(task: dict, outcome) -> dict:
    if outcome.status == "ok":
        return outcome.value
    method = _METHODS.get(task.get("domain"), "unknown")
    reason = "timeout" if outcome.status == "timeout" else "error"
    return {"ok": False, "method": method, "reason": reason, "message": outcome.message}


# A one-worker pool for math checks asked from threads other than the main one (signals do not work there).
_SHARED = {"pool": None}
_SHARED_LOCK = threading.Lock()


def _check_in_shared_pool(task: dict, response: str, filtering: dict) -> dict:
    from ded.verify.pool import Job, WorkerPool

    with _SHARED_LOCK:
        if _SHARED["pool"] is None:
            import atexit

            _SHARED["pool"] = WorkerPool(workers=1)
            atexit.register(_SHARED["pool"].close)
        job = Job("ded.verify:correct_job", (task, response, filtering), deadline_s=job_deadline_s(task, filtering))
        return _from_outcome(task, _SHARED["pool"].run([job])[0])


def _apply_judge(items: list[tuple[dict, str]], verdicts: list[dict], cfg: dict, judge) -> list[dict]:
    todo = [i for i, v in enumerate(verdicts) if wants_judge(v)]
    if not todo or (judge is None and not cfg.get("judge")):
        return verdicts
    backend = judge if judge is not None else load_judge(cfg["judge"])
    new = judge_verdicts(backend, [(items[i][0], verdicts[i]) for i in todo], spec=cfg.get("judge"))
    out = list(verdicts)
    for i, verdict in zip(todo, new):
        out[i] = verdict
    return out


def is_correct(task: dict, response: str, *, filtering: dict, judge=None) -> dict:
    """The correctness verdict {ok, method, reason, ...} of one response (evaluation, pass rates).

    judge: a loaded backend (anything with .generate(prompts, params, n, seeds)); None loads filtering.judge when
    it is set and an answer needs it. Math checks time out after filtering.math_timeout_s (reason `timeout`); from
    a thread other than the main one they run in a helper process. For many answers prefer is_correct_many.
    """
    cfg = filtering_settings(filtering)
    if _domain(task) == "math" and not in_main_thread():
        verdict = _check_in_shared_pool(task, response, cfg)
    else:
        verdict = correct_job(task, response, cfg)
    return _apply_judge([(task, response)], [verdict], cfg, judge)[0]


def is_correct_many(items: Sequence[tuple[dict, str]], *, filtering: dict, workers: int = 2, judge=None,
                    pool=None, on_result=None) -> list[dict]:
    """Verdicts for (task, response) pairs, in order, computed by `workers` processes with a hard deadline each.

    pool: an open ded.verify.pool.WorkerPool to reuse (else one is started and closed here).
    on_result(index, verdict): progress callback (before the judge).
    """
    from ded.verify.pool import Job, WorkerPool

    cfg = filtering_settings(filtering)
    items = list(items)
    if not items:
        return []
    for task, _ in items:
        _domain(task)
    jobs = [Job("ded.verify:correct_job", (task, response, cfg), deadline_s=job_deadline_s(task, cfg))
            for task, response in items]
    callback = None if on_result is None else (lambda i, o: on_result(i, _from_outcome(items[i][0], o)))
    if pool is None:
        with WorkerPool(workers=workers, preload=pool_preload(t for t, _ in items)) as own:
            outcomes = own.run(jobs, on_result=callback)
    else:
        outcomes = pool.run(jobs, on_result=callback)
    verdicts = [_from_outcome(task, o) for (task, _), o in zip(items, outcomes)]
    return _apply_judge(items, verdicts, cfg, judge)


def verify_response(task: dict, response: str, *, tokenizer, filtering: dict, finish_reason: str | None = None,
                    judge=None) -> dict:
    """{length, format, correct}: every verdict of one response (in this process; ded.verify.stage.verify_file
    verifies a file of them)."""
    cfg = filtering_settings(filtering)
    return {
        "length": check_length(response, tokenizer=tokenizer, limit=int(cfg["max_tokens"]),
                               finish_reason=finish_reason),
        "format": check_format(response),
        "correct": is_correct(task, response, filtering=cfg, judge=judge),
    }


__all__ = [
    "CHECKS", "FILTERING_DEFAULTS", "answer_region", "check_choice", "check_code", "check_format", "check_length",
    "check_math", "choice_letters", "correct_job", "count_tokens", "extract_choice", "filtering_settings", "is_correct",
    "is_correct_many", "last_boxed", "last_code_block", "length_verdict", "passed", "verify_response",
]
