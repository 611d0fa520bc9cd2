"""The chat prompt each task is asked with: one function, shared by sampling, pass rates, evaluation and training
(so that a student is trained on exactly the prompt it is later evaluated with)."""

from __future__ import annotations

INSTRUCTIONS = {
    "math": "Please reason step by step, and put your final answer within \\boxed{}.",
    "choice": "Please reason step by step, and put the letter of the correct option within \\boxed{}.",
    "code": (
        "Write a Python 3 program that reads from standard input and writes to standard output. "
        "Reason step by step, then give the complete program in one ```python code block."
    ),
}


def user_prompt(task: dict) -> str:
    """The user turn for a seed or benchmark row (fields: domain, question)."""
    domain = task["domain"]
    if domain not in INSTRUCTIONS:
        raise ValueError(f"task {task.get('id')}: unknown domain {domain!r} (expected one of {sorted(INSTRUCTIONS)})")
    return f"{task['question'].strip()}\n\n{INSTRUCTIONS[domain]}"


def build_messages(task: dict) -> list[dict]:
    return [{"role": "user", "content": user_prompt(task)}]
