"""Gold answers from reference solutions: the last \\boxed{} and s1K's other solution formats."""

from __future__ import annotations

import re

# \fbox and \framebox also mark final answers in AoPS-derived solutions (AIME 2024 uses \framebox).
_BOX_COMMANDS = ("\\boxed", "\\fbox", "\\framebox")


def brace_group_end(text: str, open_at: int) -> int | None:
    """Index just past the brace group that opens at text[open_at] == '{', or None if it never closes.

    Also used by ded.verify.answers.
    """
    depth = 0
    i = open_at
    while i < len(text):
        ch = text[i]
        if ch == "\\":  # an escaped brace (\{ or \}) does not count
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None


def boxed_contents(text: str) -> list[str]:
    """Contents of every \\boxed{...} (and \\fbox, \\framebox) in order, braces balanced; `\\boxed 5` too."""
    out = []
    pattern = re.compile("|".join(re.escape(c) for c in _BOX_COMMANDS) + r"(?![A-Za-z])")
    for m in pattern.finditer(text):
        j = m.end()
        while j < len(text) and text[j] == " ":
            j += 1
        if j < len(text) and text[j] == "{":
            end = brace_group_end(text, j)
            if end is not None:
                out.append(text[j + 1:end - 1].strip())
        elif m.group(0) == "\\boxed" and j > m.end():  # "\boxed 5": one token
            tok = re.match(r"[^\s$.,;]+", text[j:])
            if tok:
                out.append(tok.group(0))
    return out


def last_boxed(text: str) -> str | None:
    found = [b for b in boxed_contents(text) if b]
    return found[-1] if found else None


def _strip_math(s: str) -> str:
    s = s.strip()
    for left, right in (("$$", "$$"), ("\\[", "\\]"), ("\\(", "\\)"), ("$", "$")):
        if s.startswith(left) and s.endswith(right) and len(s) > len(left) + len(right):
            s = s[len(left):-len(right)].strip()
    return s


def _final_value(expr: str) -> str:
    """The right-hand side of a chain `a = b = 42` (the value a sentence announces), trimmed of punctuation."""
    expr = _strip_math(expr.strip().rstrip(".,;: "))
    depth, cut = 0, -1
    for i, ch in enumerate(expr):  # the last top-level '=' (not inside braces or brackets)
        if ch in "{([":
            depth += 1
        elif ch in "})]":
            depth -= 1
        elif ch == "=" and depth == 0 and expr[i - 1:i] not in ("<", ">", "!", "\\"):
            cut = i
    if cut >= 0:
        expr = expr[cut + 1:]
    # a chain cut inside $...$ leaves one unpaired '$' at an end
    return _strip_math(expr.strip().rstrip(".,;: ")).strip("$").rstrip(".,;: ").strip()


# "the answer is X" / "final answer is X" / "Answer: X", where X is math ($...$, $$...$$), a number or a letter.
_PHRASE = re.compile(
    r"(?:final\s+answer|the\s+answer|answer)\s*(?:is|:|=)\s*(?:thus\s+|therefore\s+)?"
    r"(?P<x>\$\$.+?\$\$|\$[^$]+\$|\\\[.+?\\\]|-?\d[\d,]*(?:\.\d+)?|\(?[A-E]\)?(?![A-Za-z]))",
    re.IGNORECASE | re.DOTALL,
)

# A whole solution this short and on one line is itself the answer (AIME numbers, "ABC", "True", "[2.0, 1.32]").
SHORT_SOLUTION_CHARS = 64


def s1k_answer(solution: str) -> tuple[str | None, str]:
    """Gold answer of an s1K row and the rule that produced it.

    s1K's `solution` field comes in three formats (checked on all 912 non-GPQA rows of s1K v1.0): a worked solution
    ending in \\boxed{} (295 rows), the bare final answer (375 rows: AIME-style numbers, option letters, True/False,
    lists), or a worked solution / proof with no marked answer (242). Rules, first match wins:
      boxed   - the last \\boxed{} / \\fbox{} / \\framebox{};
      phrase  - the last "the answer is X" / "final answer is X" / "Answer: X" where X is math, a number or a letter
                (for `a = b = 42` the last value);
      whole   - a one-line solution of at most 64 characters is the answer itself ("Answer: " prefix and $...$ removed;
                for `C(4) = 14` the last value);
      none    - no checkable answer (proofs, derivations): answer null, kept for the judge or dropped downstream.
    """
    text = (solution or "").strip()
    boxed = last_boxed(text)
    if boxed:
        return boxed, "boxed"
    matches = list(_PHRASE.finditer(text))
    if matches:
        value = _final_value(matches[-1].group("x"))
        value = re.sub(r"^\((?P<l>[A-E])\)$", r"\g<l>", value)
        if value:
            return value, "phrase"
    if text and "\n" not in text and len(text) <= SHORT_SOLUTION_CHARS:
        short = re.sub(r"^(?:final\s+)?answer\s*:\s*", "", text, flags=re.IGNORECASE)
        short = _final_value(short)
        if short:
            return short, "whole"
    return None, "none"


def aime_integer(answer, where: str) -> str:
    """An AIME answer as a canonical integer string ('025' -> '25'); AIME answers are integers 0..999."""
    from ded.io import DataError

    text = str(answer).strip()
    text = _strip_math(text)
    if not re.fullmatch(r"[+-]?\d+", text):
        raise DataError(f"{where}: AIME answer {answer!r} is not an integer (expected 0..999)")
    value = int(text)
    if not 0 <= value <= 999:
        raise DataError(f"{where}: AIME answer {answer!r} is outside 0..999")
    return str(value)
