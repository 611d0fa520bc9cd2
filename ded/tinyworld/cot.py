"""Chain-of-thought writers: the pretraining text that gives each tiny model its teacher's style.

- concise (stands in for QwQ-32B): one fixed line per step and nothing else; short, low token entropy.
- verbose (stands in for DeepSeek-R1): the same chain with an opening, re-checks after steps, hesitations, a recap
  and a closing, each drawn from a few phrasings or left out at random, alternative programs, occasional malformed
  think tags, occasional wrong answers (the model's `noise`); longer (some beyond the length filter), higher token
  entropy.
- direct (stands in for a pretrained student before distillation): the question answered without a chain (an
  empty think, then the answer). Only the pretraining drills (bare arithmetic facts, copying, reading options)
  show their steps, in every style: the student knows the single steps but was never shown how to chain them
  for a story, which is what SFT on a teacher's chains then has to teach.

The verbose style stays learnable by a model of 0.4M parameters trained for a minute: its chain is the concise
chain (a tiny model finds the next clause by looking back at the last line, and loses its place when much filler
separates them), its extra text is local repetition and a handful of stock phrases (a larger bank of free-form
filler, restated questions and long re-checks after the chain came out garbled and derailed the answer), and it never
states a wrong equation on purpose.

Every writer returns the assistant turn in the contract's format: `<think>\\n...\\n</think>\\n\\n<answer>`, math and
choice answers in \\boxed{}, code in a final ```python block. `noise` is the share of responses whose final answer is
wrong (a slip in one step carried to the end, or a bug in the program).
"""

from __future__ import annotations

import random

from ded.tinyworld import STYLES

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
# Malformed think tags in this share of verbose responses (the format check's prey), of two kinds: a rarer kind
# falls under top_p=0.95 and the sampled teacher never shows it.
VERBOSE_FORMAT_FAULTS = 0.2

OPENERS = ["Okay, let me see.", "Hmm, let's see.", "Alright, let me think.", "Let me work through this.",
           "Okay, step by step."]
FILLERS = ["Hmm.", "Wait.", "Okay.", "Let me be careful.", "That looks right.", "Let me double-check.",
           "Hmm, okay.", "Right."]
CHECKS = ["Check: {a} {op} {b} = {r}.", "Let me verify: {a} {op} {b} = {r}. Yes.", "Again, {a} {op} {b} = {r}."]
RECAPS = ["Let me go over it once more.", "Let me recap.", "Wait, let me redo the whole thing."]
CLOSERS = ["So the answer is {ans}.", "So the answer should be {ans}.", "That gives {ans}.",
           "I'm fairly confident it is {ans}."]
VERBOSE_MATH_FINAL = ["The final answer is \\boxed{{{ans}}}.", "**Final Answer**\n\\boxed{{{ans}}}",
                      "So the result is {ans}.\n\n**Final Answer**\n\\boxed{{{ans}}}"]
CODE_OPENERS = ["Okay, let me see what the task asks.", "Alright, a programming problem.", "Let me think.",
                "Okay, I need to write a program."]
CODE_THOUGHTS = ["I don't need any imports.", "Maybe a loop is clearer.", "Let me think about edge cases.",
                 "input() already drops the newline.", "The input is small."]


def _slip(rng: random.Random, value: int) -> int:
    wrong = value + rng.choice([-10, -2, -1, 1, 2, 10])
    return wrong if wrong >= 0 and wrong != value else value + 1


def _solved_steps(task: dict, rng: random.Random, wrong: bool) -> tuple[list[dict], int]:
    """The task's steps recomputed, with one slip carried forward when `wrong`."""
    steps = [dict(s) for s in task["meta"]["steps"]]
    slip_at = rng.randrange(len(steps)) if wrong else -1
    value = None
    for i, step in enumerate(steps):
        if value is not None and i > 0:
            step["a"] = value
        a, b = step["a"], step["b"]
        result = a + b if step["op"] == "+" else a - b if step["op"] == "-" else a * b
        if i == slip_at:
            result = _slip(rng, result)
        step["result"] = result
        value = result
    return steps, value


def _clause(step: dict) -> str:
    return step["clause"].rstrip(".")


def _predicate(step: dict) -> str:
    """The clause without its subject ("She buys 5 more." -> "buys 5 more")."""
    return _clause(step).split(" ", 1)[1]


def _start_predicate(task: dict) -> str:
    return task["meta"]["start"].split(" ", 1)[1].rstrip(".")


def _concise_reasoning(task: dict, steps: list[dict]) -> list[str]:
    # Each line repeats the clause's words as the question spells them (lower case, no subject): a tiny model
    # then finds the number by copying, and the operation from the verb next to it.
    lines = [] if steps[0]["op"] == "*" else [f"- {_start_predicate(task)}."]
    for s in steps:
        lines.append(f"- {_predicate(s)}: {s['a']} {s['op']} {s['b']} = {s['result']}.")
    return lines


def _verbose_reasoning(task: dict, steps: list[dict], rng: random.Random) -> list[str]:
    lines = [rng.choice(OPENERS)]
    if rng.random() < 0.5:
        lines.append(rng.choice(FILLERS))
    chain = _concise_reasoning(task, steps)
    first = len(chain) - len(steps)      # the start line of a story without a product has no equation
    for i, line in enumerate(chain):
        lines.append(line)
        if i >= first and rng.random() < 0.4:
            s = steps[i - first]
            lines.append(rng.choice(CHECKS).format(a=s["a"], op=s["op"], b=s["b"], r=s["result"]))
    if rng.random() < 0.4:
        lines.append(rng.choice(FILLERS))
    # The recap comes last when there is one, so that the final value is the last number before the closer.
    if rng.random() < 0.4:
        lines.append(rng.choice(RECAPS) + " " + " ".join(
            f"{s['a']} {s['op']} {s['b']} = {s['result']}." for s in steps))
    return lines


def _wrap(reasoning: str, answer: str, rng: random.Random | None, faults: float = 0.0) -> str:
    """The contract's format, or (with probability `faults`) a malformed one: no closing tag, or two."""
    if rng is not None and rng.random() < faults:
        if rng.random() < 0.5:
            return f"{THINK_OPEN}\n{reasoning}\n\n{answer}"
        return f"{THINK_OPEN}\n{reasoning}\n{THINK_CLOSE}\n{THINK_CLOSE}\n\n{answer}"
    return f"{THINK_OPEN}\n{reasoning}\n{THINK_CLOSE}\n\n{answer}"


DIRECT_MATH_ANSWER = "The answer is \\boxed{{{ans}}}."


def _direct(answer: str) -> str:
    """No chain: an empty think, then the answer (like a reasoning model's no-thinking mode)."""
    return f"{THINK_OPEN}\n\n{THINK_CLOSE}\n\n{answer}"


def math_response(task: dict, style: str, rng: random.Random, noise: float = 0.0) -> str:
    if task["meta"].get("family") == "copy":
        return _wrap(task["meta"]["sequence"], f"The answer is \\boxed{{{task['answer']}}}.", None)
    steps, value = _solved_steps(task, rng, wrong=rng.random() < noise)
    if task["meta"].get("family") == "drill":   # bare arithmetic: the same lines in every style
        lines = [f"{s['a']} {s['op']} {s['b']} = {s['result']}." for s in steps]
        return _wrap("\n".join(lines), f"The answer is \\boxed{{{value}}}.", None)
    if style == "direct":
        if len(steps) == 1:   # a single step is a fact the student knows: its equation, as in the drills
            s = steps[0]
            return _wrap(f"{s['a']} {s['op']} {s['b']} = {s['result']}.", DIRECT_MATH_ANSWER.format(ans=value), None)
        return _direct(DIRECT_MATH_ANSWER.format(ans=value))
    if style == "concise":
        lines = _concise_reasoning(task, steps) + [f"Answer: {value}."]
        return _wrap("\n".join(lines), f"The answer is \\boxed{{{value}}}.", None)
    lines = _verbose_reasoning(task, steps, rng)
    if rng.random() < 0.8:
        lines.append(rng.choice(CLOSERS).format(ans=value))
    return _wrap("\n".join(lines), rng.choice(VERBOSE_MATH_FINAL).format(ans=value), rng, VERBOSE_FORMAT_FAULTS)


def _option_walk(options: list[int], value: int, rng: random.Random) -> tuple[list[str], str]:
    """The options read in order up to the one equal to value (so that the answer is the last letter written)."""
    letter = "ABCD"[options.index(value)] if value in options else rng.choice("ABCD")
    walk = []
    for i, option in enumerate(options):
        walk.append(f"{'ABCD'[i]}) {option} {'yes' if option == value else 'no'}.")
        if option == value:
            break
    if value not in options:
        walk.append(f"None matches. Guess {letter}.")
    return walk, letter


def choice_response(task: dict, style: str, rng: random.Random, noise: float = 0.0) -> str:
    if task["meta"].get("family") == "options":   # reading options: the same walk in every style
        walk, letter = _option_walk(task["meta"]["options"], task["meta"]["value"], rng)
        return _wrap("\n".join(walk), f"The answer is \\boxed{{{letter}}}.", None)
    steps, value = _solved_steps(task, rng, wrong=rng.random() < noise)
    walk, letter = _option_walk(task["meta"]["options"], value, rng)
    if style == "direct":
        return _direct(f"The answer is \\boxed{{{letter}}}.")
    if style == "concise":
        lines = _concise_reasoning(task, steps) + [f"Value: {value}."] + walk
        return _wrap("\n".join(lines), f"The answer is \\boxed{{{letter}}}.", None)
    lines = _verbose_reasoning(task, steps, rng) + [f"Value: {value}. Now the options."] + walk
    if rng.random() < 0.3:
        lines.append(rng.choice(FILLERS))
    answer = rng.choice(["The answer is \\boxed{{{l}}}.", "**Final Answer**\n\\boxed{{{l}}}",
                         "The correct option is {l}.\n\n\\boxed{{{l}}}"]).format(l=letter)
    return _wrap("\n".join(lines), answer, rng, VERBOSE_FORMAT_FAULTS)


BUGS = [(" + ", " - "), (" > ", " >= "), ("[::-1]", "[::1]"), (".upper()", ".lower()"), ("== 0", "== 1"),
        ("range(1, ", "range(0, "), ("max(", "min("), ("min(", "max("), ("len(", "sum(1 for _ in "), (" * ", " + ")]


def buggy(program: str, rng: random.Random) -> str:
    """The program with one plausible bug (a changed operator, bound or call), or unchanged if none applies."""
    candidates = [(old, new) for old, new in BUGS if old in program]
    if not candidates:
        return program
    old, new = rng.choice(candidates)
    return program.replace(old, new, 1)


def code_response(task: dict, style: str, rng: random.Random, noise: float = 0.0) -> str:
    meta = task["meta"]
    wrong = rng.random() < noise
    if style == "direct":
        return _direct(f"```python\n{meta['solution']}```\n")
    if style == "concise":
        program = buggy(meta["solution"], rng) if wrong else meta["solution"]
        return _wrap("\n".join(meta["plan"]), f"```python\n{program}```\n", None)
    program = meta["alternative"] if rng.random() < 0.5 else meta["solution"]
    program = buggy(program, rng) if wrong else program
    lines = [rng.choice(CODE_OPENERS)] + list(meta["plan"])
    if rng.random() < 0.5:
        lines.insert(rng.randint(1, len(lines)), rng.choice(CODE_THOUGHTS))
    if rng.random() < 0.4:
        example = task["tests"][0]
        lines.append(f"Check the example: {example['input'].strip()} gives {example['output'].strip()}.")
    if rng.random() < 0.3:
        lines.append(rng.choice(FILLERS))
    lead = rng.choice(["", "Here is the program:\n\n", "The solution:\n\n"])
    return _wrap("\n".join(lines), f"{lead}```python\n{program}```\n", rng, VERBOSE_FORMAT_FAULTS)


def write_response(task: dict, style: str, rng: random.Random, noise: float = 0.0) -> str:
    """A response to a generated task (a row of ded.tinyworld.tasks.generate) in `style`."""
    if style not in STYLES:
        raise ValueError(f"style: expected one of {STYLES}, got {style!r}")
    writer = {"math": math_response, "choice": choice_response, "code": code_response}.get(task["domain"])
    if writer is None:
        raise ValueError(f"task {task.get('id')}: unknown domain {task['domain']!r}")
    return writer(task, style, rng, noise)
