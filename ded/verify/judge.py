"""LLM-as-a-judge for the math answers math-verify cannot read (`filtering.judge`, a model spec; null = off).

Only verdicts whose reason is `unparseable` or `gold_unparseable` go to the judge; its verdict replaces them, with
the math-verify reason kept as `math_verify`. The judge is any ded.generation backend (loaded lazily, once per
process and spec), asked greedily, one short reply per answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

METHOD = "judge"
JUDGEABLE = ("unparseable", "gold_unparseable")
TEMPLATE = (
    "You are grading the final answer to a math problem.\n\n"
    "Problem:\n{question}\n\n"
    "Reference answer: {gold}\n\n"
    "Candidate's final answer: {candidate}\n\n"
    "Is the candidate's answer mathematically equivalent to the reference answer? "
    "Reply with exactly one word: CORRECT or INCORRECT."
)
DEFAULT_PARAMS = {"temperature": 0.0, "top_p": 1.0, "max_new_tokens": 1024}
_WORD = re.compile(r"\b(INCORRECT|CORRECT)\b", re.IGNORECASE)
_QUESTION_SHOWN = 8000
_REPLY_SHOWN = 200
_BACKENDS: dict[str, object] = {}


def wants_judge(verdict: dict) -> bool:
    return verdict.get("method") == "math-verify" and verdict.get("reason") in JUDGEABLE


def judge_messages(task: dict, candidate: str) -> list[dict]:
    text = TEMPLATE.format(question=str(task.get("question", ""))[:_QUESTION_SHOWN], gold=task.get("answer"),
                           candidate=candidate)
    return [{"role": "user", "content": text}]


def parse_reply(text: str) -> bool | None:
    """True (CORRECT), False (INCORRECT) or None: the last of the two words after any reasoning block."""
    text = text.rsplit("</think>", 1)[-1]
    words = _WORD.findall(text)
    return None if not words else words[-1].upper() == "CORRECT"


def load_judge(spec: dict):
    """The backend of a judge spec, loaded once per process."""
    key = json.dumps(spec, sort_keys=True, default=str)
    if key not in _BACKENDS:
        from ded.generation import load_backend

        _BACKENDS[key] = load_backend(spec)
    return _BACKENDS[key]


def _sampling_params(spec: dict | None):
    params = {**DEFAULT_PARAMS, **((spec or {}).get("sampling") or {})}
    try:
        from ded.generation import SamplingParams
    except ImportError:  # generation not installed: a judge object passed in takes any params
        from types import SimpleNamespace

        return SimpleNamespace(**params)
    return SamplingParams.from_dict(params)


def judge_verdicts(backend, items: Sequence[tuple[dict, dict]], spec: dict | None = None) -> list[dict]:
    """New verdicts for (task, math-verify verdict) pairs, one generate() call for all of them."""
    if not items:
        return []
    prompts = [judge_messages(task, verdict.get("extracted") or "") for task, verdict in items]
    outs = backend.generate(prompts, _sampling_params(spec), 1, [0] * len(prompts))
    verdicts = []
    for (_, prior), gens in zip(items, outs):
        reply = gens[0].text if gens else ""
        decision = parse_reply(reply)
        reason = "judge_unclear" if decision is None else ("judge_correct" if decision else "judge_incorrect")
        verdicts.append({"ok": bool(decision), "method": METHOD, "reason": reason, "extracted": prior.get("extracted"),
                         "gold": prior.get("gold"), "math_verify": prior.get("reason"),
                         "judge_reply": reply[-_REPLY_SHOWN:]})
    return verdicts
