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

# LiveCodeBench's LeetCode problems are tested by calling a method of the starter code, not through stdin.
FUNCTIONAL_CODE_INSTRUCTION = (
    "Complete the starter code; do not read from standard input. "
    "Reason step by step, then give the complete solution in one ```python code block."
)


def instruction(task: dict) -> str:
    if task["domain"] == "code" and (task.get("meta") or {}).get("testtype") == "functional":
        return FUNCTIONAL_CODE_INSTRUCTION
    return INSTRUCTIONS[task["domain"]]


def user_prompt(task: dict) -> str:
    """The user turn for a seed or benchmark row (fields: domain, question)."""
    domain = task["domain"]
    if domain not in INSTRUCTIONS:
        raise ValueError(f"task {task.get('id')}: unknown domain {domain!r} (expected one of {sorted(INSTRUCTIONS)})")
    return f"{task['question'].strip()}\n\n{instruction(task)}"


def build_messages(task: dict) -> list[dict]:
    return [{"role": "user", "content": user_prompt(task)}]
