"""Where the final answer of a response is: the text after `</think>`, its last \\boxed{}, a choice letter, the last
fenced Python block. Pure string functions, linear in the response length (responses can be megabytes)."""

from __future__ import annotations

import re

from ded.seeds.answers import brace_group_end

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
_BOX_COMMANDS = ("\\boxed", "\\fbox")
_MAX_BOX_TRIES = 20          # unterminated \boxed{ ... (a truncated response): try this many earlier ones
_FENCE = re.compile(r"```[ \t]*([^\n`]*)\n(.*?)```", re.DOTALL)
_PYTHON_TAGS = {"python", "py", "python3", "py3"}
# Where a choice is announced: "answer is", "answer:", "correct option is", "option", "choice" (any case). The letter
# is looked for in a short window after it, as a letter: uppercase, standing alone (no letter or digit beside it),
# and one of the task's option letters; "I" followed by a lowercase word is the pronoun ("I would pick (B)").
_CHOICE_ANCHOR = re.compile(r"(?i:\banswer\s*(?:is\b|:|=)|\b(?:option|choice)s?\b(?:\s+is\b)?)")
_STANDALONE_LETTER = re.compile(r"(?<![A-Za-z0-9])([A-Z])(?![A-Za-z0-9])")
_PRONOUN = re.compile(r"\s+[a-z]")
_CHOICE_WINDOW = 60


def answer_region(response: str) -> str:
    """The final answer part: after the last `</think>`, or the whole response when there is none."""
    cut = response.rfind(THINK_CLOSE)
    return response[cut + len(THINK_CLOSE):] if cut >= 0 else response


def last_boxed(text: str) -> str | None:
    """Content of the last complete \\boxed{...} (or \\fbox{...}, or `\\boxed 5`); None when there is none."""
    end = len(text)
    for _ in range(_MAX_BOX_TRIES):
        pos, cmd = max((text.rfind(c, 0, end), c) for c in _BOX_COMMANDS)
        if pos < 0:
            return None
        i = pos + len(cmd)
        while i < len(text) and text[i] in " \t":
            i += 1
        if i < len(text) and text[i] == "{":
            close = brace_group_end(text, i)
            if close is not None:
                return text[i + 1:close - 1].strip()
        elif i > pos + len(cmd) and i < len(text):
            m = re.match(r"[^\s$]+", text[i:])
            if m:
                return m.group(0)
        end = pos
    return None


def _letter(text: str, letters: str) -> str | None:
    """The option letter a \\boxed{} holds (`B`, `(b)`, `\\text{(D)}`, `C) 42`), if it holds one."""
    t = re.sub(r"\\(?:text|textbf|mathrm|mathbf)\s*\{([^{}]*)\}", r"\1", text)
    t = t.replace("$", "").strip().strip("*").strip()
    m = re.fullmatch(r"\(?([A-Za-z])\)?(?:[.:)]\s*.*)?", t, re.DOTALL)
    if m and (m.group(1).isupper() or len(t) <= 3) and m.group(1).upper() in letters:
        return m.group(1).upper()
    return None


def _announced_letter(window: str, letters: str) -> str | None:
    for m in _STANDALONE_LETTER.finditer(window):
        letter = m.group(1)
        if letter not in letters:
            continue
        if letter == "I" and _PRONOUN.match(window, m.end()):
            continue
        return letter
    return None


def extract_choice(response: str, letters: str = "ABCD") -> str | None:
    """The chosen option letter: the last \\boxed{} when it holds one, else the letter announced after the last
    "answer is" / "answer:" / "option" that announces one. Letters count only as letters (see _CHOICE_ANCHOR)."""
    region = answer_region(response)
    boxed = last_boxed(region)
    if boxed is not None:
        letter = _letter(boxed, letters)
        if letter:
            return letter
    tail = region[-4000:]
    for m in reversed(list(_CHOICE_ANCHOR.finditer(tail))):
        window = tail[m.end():].lstrip(" \t\n:*")[:_CHOICE_WINDOW]
        letter = _announced_letter(window, letters)
        if letter:
            return letter
    return None


def last_code_block(response: str) -> str | None:
    """The last ```python block of the answer part (an untagged ``` block when no block is tagged python)."""
    region = answer_region(response)
    tagged, untagged = None, None
    for m in _FENCE.finditer(region):
        tag = m.group(1).strip().split(" ")[0].lower() if m.group(1).strip() else ""
        if tag in _PYTHON_TAGS:
            tagged = m.group(2)
        elif not tag:
            untagged = m.group(2)
    code = tagged if tagged is not None else untagged
    return code if code is not None and code.strip() else None
