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
_CHOICE_PATTERNS = [
    re.compile(r"answer\s*(?:is|:)?\s*[:\s]*\**\s*\(?([A-Z])\)?(?![A-Za-z])", re.IGNORECASE),
    re.compile(r"option\s*\(?([A-Z])\)?(?![A-Za-z])", re.IGNORECASE),
]


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


def _letter(text: str) -> str | None:
    t = re.sub(r"\\(?:text|textbf|mathrm|mathbf)\s*\{([^{}]*)\}", r"\1", text)
    t = t.replace("$", "").strip().strip("*").strip()
    m = re.fullmatch(r"\(?([A-Za-z])\)?(?:[.:)]\s*.*)?", t, re.DOTALL)
    if m and (m.group(1).isupper() or len(t) <= 3):
        return m.group(1).upper()
    return None


def extract_choice(response: str) -> str | None:
    """The chosen option letter: the last \\boxed{} when it holds one, else the last 'answer is (X)'."""
    region = answer_region(response)
    boxed = last_boxed(region)
    if boxed is not None:
        letter = _letter(boxed)
        if letter:
            return letter
    tail = region[-4000:]
    for pattern in _CHOICE_PATTERNS:
        matches = [m.group(1) for m in pattern.finditer(tail)]
        if matches:
            return matches[-1].upper()
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
