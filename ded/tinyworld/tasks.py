"""Generators of the tiny world's tasks, deterministic by seed, in the seed/benchmark row schema (ARCHITECTURE.md).

- synthetic_math: word problems with an integer answer; easy = one step, medium = two, hard = three with a product.
- synthetic_code: stdin/stdout programs from a few families; hidden tests come from the family's reference solution.
- synthetic_choice: the same arithmetic stories in a science dress, as four lettered options (a GPQA stand-in).

Questions are built from short clauses with a name, an object, a verb or a number every few words, so that two sets
drawn with different seeds rarely share a word 8-gram (the decontamination test of ded.corpus.decontam).
The solution of every row is kept in `meta` (math: the steps; code: the program): the chain-of-thought writers
(ded.tinyworld.cot) use it to write pretraining text, nothing downstream reads it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

SOURCES = ("synthetic_math", "synthetic_code", "synthetic_choice")
DIFFICULTIES = ("easy", "medium", "hard")
DOMAIN_OF = {"synthetic_math": "math", "synthetic_code": "code", "synthetic_choice": "choice"}
ID_PREFIX = {"synthetic_math": "tmath", "synthetic_code": "tcode", "synthetic_choice": "tchoice"}
LETTERS = "ABCD"
CODE_TESTS = 5
CODE_TIME_LIMIT_S = 2
CODE_MEMORY_LIMIT_MB = 256

NAMES = [("Mia", "she"), ("Tom", "he"), ("Ava", "she"), ("Leo", "he"), ("Zoe", "she"), ("Sam", "he"),
         ("Ivy", "she"), ("Max", "he"), ("Lily", "she"), ("Ben", "he"), ("Emma", "she"), ("Noah", "he"),
         ("Ruby", "she"), ("Jack", "he"), ("Nora", "she"), ("Owen", "he"), ("Ella", "she"), ("Finn", "he"),
         ("Rosa", "she"), ("Hugo", "he"), ("Anna", "she"), ("Luke", "he"), ("Cleo", "she"), ("Eli", "he"),
         ("Maya", "she"), ("Ian", "he"), ("Lena", "she"), ("Omar", "he"), ("Tara", "she"), ("Kai", "he"),
         ("Jade", "she"), ("Ravi", "he"), ("Iris", "she"), ("Theo", "he"), ("Nina", "she"), ("Adam", "he"),
         ("Vera", "she"), ("Paul", "he"), ("Dana", "she"), ("Carl", "he")]
OBJECTS = ["apples", "marbles", "stickers", "coins", "books", "pencils", "cookies", "cards", "stamps", "shells",
           "flowers", "toys", "candies", "balloons", "beads", "buttons", "eggs", "oranges", "cupcakes", "rocks",
           "ribbons", "crayons", "blocks", "tickets", "nuts", "pebbles", "lemons", "feathers", "badges", "muffins"]
CONTAINERS = ["boxes", "bags", "packs", "jars", "baskets", "crates", "trays", "bowls"]


def _rng(source: str, seed: int, difficulty: str | None, salt: str = "") -> random.Random:
    # str seeds hash with sha512 in CPython: the same on every run and machine (unlike hash()).
    return random.Random(f"{source}|{seed}|{difficulty}|{salt}")


def _person(rng: random.Random, other_than: str | None = None) -> tuple[str, str]:
    while True:
        name, pron = rng.choice(NAMES)
        if name != other_than:
            return name, pron


# ---------------------------------------------------------------------------------------------------------------
# Math: a story of one person's pile of objects, changed step by step.
# ---------------------------------------------------------------------------------------------------------------
ADD_CLAUSES = ["{P} buys {b} more.", "{P} finds {b} more.", "{P} gets {b} more from {M}.",
               "{M} gives {O} {b} more.", "{P} wins {b} more.", "{P} picks up {b} more."]
SUB_CLAUSES = ["{P} gives {b} to {M}.", "{P} loses {b}.", "{P} sells {b} to {M}.", "{M} takes {b}.",
               "{P} gives away {b}.", "{P} trades {b} with {M}."]
START_HAS = ["{N} has {a} {obj}.", "{N} owns {a} {obj}.", "{N} collects {a} {obj}.", "{N} starts with {a} {obj}."]
START_MUL = ["{N} buys {a} {cont} of {obj} with {b} in each.", "{N} has {a} {cont} with {b} {obj} in each.",
             "{N} fills {a} {cont} with {b} {obj} each.", "{N} packs {b} {obj} into each of {a} {cont}."]
QUESTIONS = ["How many {obj} does {N} have now?", "How many {obj} does {N} have in the end?",
             "How many {obj} does {N} have at last?", "How many {obj} does {N} own after that?"]
QUESTIONS_SUB = ["How many {obj} are left?", "How many {obj} does {N} still have?"]
# The largest value a story reaches. The tiny models learn a small addition table, not an algorithm: with values up
# to 30 a teacher pretrained for a minute solved about 20% of the problems, with 20 about 50%.
MATH_CAP = 20
OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}


@dataclass
class Story:
    question: str
    start: str = ""
    steps: list[dict] = field(default_factory=list)
    answer: int = 0
    family: str = ""


def _fill(template: str, **kw) -> str:
    text = template.format(**kw)
    return text[0].upper() + text[1:]


def _change_steps(rng: random.Random, value: int, count: int, hi: int, cap: int) -> list[tuple[str, int]]:
    """`count` additions or subtractions of 1..hi that keep the pile between 1 and cap."""
    out = []
    for _ in range(count):
        can_sub, can_add = value > 1, value + 1 <= cap
        if can_sub and (not can_add or rng.random() < 0.5):
            b = rng.randint(1, min(hi, value - 1))
            out.append(("-", b))
            value -= b
        else:
            b = rng.randint(1, min(hi, cap - value))
            out.append(("+", b))
            value += b
    return out


def math_story(rng: random.Random, difficulty: str, science: bool = False) -> Story:
    """One word problem: easy a +/- b; medium two such steps, or a product then one step; hard a product then two
    steps. Operands are single digits and values stay within MATH_CAP: the levels differ in the number of steps."""
    name, pron = _person(rng)
    other, _ = _person(rng, other_than=name)
    obj = rng.choice(SCIENCE_QUANTITIES if science else OBJECTS)
    kw = {"N": name, "P": pron, "O": "her" if pron == "she" else "him", "M": other, "obj": obj,
          "cont": rng.choice(CONTAINERS)}
    steps: list[dict] = []
    if difficulty not in DIFFICULTIES:
        raise ValueError(f"difficulty: expected one of {DIFFICULTIES}, got {difficulty!r}")
    product = difficulty == "hard" or (difficulty == "medium" and rng.random() < 0.5)
    if product:
        a = rng.randint(2, 5)
        b = rng.randint(2, min(5 if difficulty == "hard" else 4, MATH_CAP // a))
        start = rng.choice(START_MUL).format(a=a, b=b, **kw)
        steps.append({"a": a, "op": "*", "b": b, "result": a * b, "clause": start})
        a = a * b
    else:
        a = rng.randint(2, 9)
        start = rng.choice(START_HAS).format(a=a, **kw)
    count = {"easy": 1, "medium": 1 if product else 2, "hard": 2}[difficulty]
    changes = _change_steps(rng, a, count, 9, MATH_CAP)
    family = f"{'product_' if product else ''}{count}_steps"
    clauses = [start]
    value = a
    for op, b in changes:
        clause = _fill(rng.choice(ADD_CLAUSES if op == "+" else SUB_CLAUSES), b=b, **kw)
        clauses.append(clause)
        result = OPS[op](value, b)
        steps.append({"a": value, "op": op, "b": b, "result": result, "clause": clause})
        value = result
    if science:
        ask = rng.choice(SCIENCE_QUESTIONS)
    else:
        ask = rng.choice(QUESTIONS_SUB if changes[-1][0] == "-" and rng.random() < 0.5 else QUESTIONS)
    clauses.append(_fill(ask, **kw))
    return Story(question=" ".join(clauses), start=start, steps=steps, answer=value, family=family)


# ---------------------------------------------------------------------------------------------------------------
# Choice: the same stories about lab quantities, with four numeric options.
# ---------------------------------------------------------------------------------------------------------------
SCIENCE_QUANTITIES = ["grams of salt", "cells", "bacteria colonies", "photons", "volts", "moles of gas",
                      "drops of acid", "seeds", "crystals", "samples", "electrons", "spores"]
SCIENCE_QUESTIONS = ["How many {obj} does {N} record in the end?", "Which value does {N}'s lab notebook show now?",
                     "What amount of {obj} does {N} measure at last?", "How many {obj} remain in {N}'s lab?"]


def choice_options(rng: random.Random, answer: int) -> tuple[list[int], int]:
    """Four distinct positive options, the answer among them at a random position."""
    pool = [answer + d for d in (-10, -3, -2, -1, 1, 2, 3, 10) if answer + d > 0]
    distractors = rng.sample(pool, 3)
    options = distractors + [answer]
    rng.shuffle(options)
    return options, options.index(answer)


# ---------------------------------------------------------------------------------------------------------------
# Code: families of stdin/stdout tasks, each with a reference program and a test-input generator.
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class CodeTask:
    family: str
    difficulty: str
    statement: str
    program: str          # the reference solution (stdin -> stdout)
    solve: Callable[[str], str]
    make_input: Callable[[random.Random], str]
    plan: list[str]       # the solution in a few plain sentences (chain-of-thought material)
    alternative: str      # an equivalent, longer program (the verbose style's variety)


THINGS = ["scores", "prices", "weights", "heights", "ages", "points", "votes", "steps", "marks", "speeds"]
WORDS = ["word", "name", "code", "label", "password", "message", "tag", "line"]
VERBS_HAS = ["writes down", "records", "notes", "collects", "keeps", "lists", "gets", "reads"]
PRINT = ["Print", "Output", "Write", "Show"]
ONE_LINE = ["on one line", "in one row", "on a single line", "side by side", "in one line"]
VAR_PAIRS = [("a", "b"), ("x", "y"), ("p", "q"), ("m", "n"), ("u", "v"), ("s", "t")]
LIST_VARS = ["a", "nums", "vals", "xs", "arr", "data"]
STR_VARS = ["s", "w", "t", "text", "word", "line"]
LOWER = "abcdefghijklmnopqrstuvwxyz"


def _word(rng: random.Random, lo: int = 3, hi: int = 9) -> str:
    return "".join(rng.choice(LOWER) for _ in range(rng.randint(lo, hi)))


def _int_list_input(rng: random.Random, lo: int = 1, hi: int = 50) -> str:
    n = rng.randint(1, 7)
    return f"{n}\n{' '.join(str(rng.randint(lo, hi)) for _ in range(n))}\n"


def _ints(inp: str) -> list[int]:
    return [int(v) for v in inp.split("\n")[1].split()]


def _list_input_sentence(rng, kw, v: str) -> str:
    return rng.choice([f"Line one holds n, line two {kw['N']}'s {kw['things']} {v}.",
                       f"First comes n, then {kw['N']}'s {kw['things']} {v}.",
                       f"The input is n and then {kw['N']}'s n {kw['things']} {v}.",
                       f"{kw['N']} gives n first, then the {kw['things']} {v}."])


def _binop(rng, kw):
    op, word = rng.choice([("+", "sum"), ("-", "difference"), ("*", "product")])
    x, y = rng.choice(VAR_PAIRS)
    statement = (f"{kw['N']} {kw['verb']} two {kw['things']}, {x} and {y}, {rng.choice(ONE_LINE)}. "
                 f"{rng.choice(PRINT)} {x} {op} {y}, the {word} of {kw['N']}'s {kw['things']}.")
    program = f"{x}, {y} = map(int, input().split())\nprint({x} {op} {y})\n"
    alternative = (f"line = input().split()\n{x} = int(line[0])\n{y} = int(line[1])\n"
                   f"result = {x} {op} {y}\nprint(result)\n")
    plan = [f"Read {x} and {y} from one line.", f"Print {x} {op} {y}."]
    return ("binop", "easy", statement, program, alternative, plan,
            lambda inp: str(OPS[op](*map(int, inp.split()))),
            lambda r: f"{r.randint(0, 99)} {r.randint(0, 99)}\n")


def _reverse(rng, kw):
    v = rng.choice(STR_VARS)
    statement = (f"{kw['N']} {kw['verb']} a secret {kw['word']} {v}. "
                 f"{rng.choice(PRINT)} {kw['N']}'s {kw['word']} {v} "
                 f"{rng.choice(['backwards', 'reversed', 'in reverse order', 'from right to left'])}.")
    program = f"{v} = input()\nprint({v}[::-1])\n"
    alternative = f"{v} = input()\nout = ''\nfor ch in {v}:\n    out = ch + out\nprint(out)\n"
    plan = [f"Read the string {v}.", f"Print {v}[::-1]."]
    return ("reverse", "easy", statement, program, alternative, plan,
            lambda inp: inp.strip("\n")[::-1], lambda r: _word(r) + "\n")


def _upper(rng, kw):
    v = rng.choice(STR_VARS)
    statement = (f"{kw['N']} {kw['verb']} a {kw['word']} {v} in small letters. "
                 f"{rng.choice(PRINT)} {kw['N']}'s {kw['word']} {v} in "
                 f"{rng.choice(['capital', 'upper case', 'big'])} letters.")
    program = f"{v} = input()\nprint({v}.upper())\n"
    alternative = f"{v} = input()\nout = ''\nfor ch in {v}:\n    out = out + ch.upper()\nprint(out)\n"
    plan = [f"Read the string {v}.", f"Print {v}.upper()."]
    return ("upper", "easy", statement, program, alternative, plan,
            lambda inp: inp.strip("\n").upper(), lambda r: _word(r) + "\n")


def _length(rng, kw):
    v = rng.choice(STR_VARS)
    statement = (f"{kw['N']} {kw['verb']} a {kw['word']} {v}. "
                 f"{rng.choice(PRINT)} how many letters {kw['N']}'s {kw['word']} {v} has.")
    program = f"{v} = input()\nprint(len({v}))\n"
    alternative = f"{v} = input()\ncount = 0\nfor ch in {v}:\n    count += 1\nprint(count)\n"
    plan = [f"Read the string {v}.", f"Print len({v})."]
    return ("length", "easy", statement, program, alternative, plan,
            lambda inp: str(len(inp.strip("\n"))), lambda r: _word(r, 1, 12) + "\n")


_AGG = {"max": ("largest", max), "min": ("smallest", min), "sum": ("total", sum)}


def _aggregate(rng, kw):
    fn_name = rng.choice(sorted(_AGG))
    word, fn = _AGG[fn_name]
    v = rng.choice(LIST_VARS)
    statement = (f"{kw['N']} {kw['verb']} n {kw['things']}. {_list_input_sentence(rng, kw, v)} "
                 f"{rng.choice(PRINT)} the {word} of {kw['N']}'s {kw['things']}.")
    program = f"n = int(input())\n{v} = list(map(int, input().split()))\nprint({fn_name}({v}))\n"
    if fn_name == "sum":
        body = f"best = 0\nfor val in {v}:\n    best = best + val\n"
    else:
        cmp = ">" if fn_name == "max" else "<"
        body = f"best = {v}[0]\nfor val in {v}:\n    if val {cmp} best:\n        best = val\n"
    alternative = f"n = int(input())\n{v} = list(map(int, input().split()))\n{body}print(best)\n"
    plan = ["Read n, then the list " + v + ".", f"Print {fn_name}({v})."]
    return ("aggregate", "medium", statement, program, alternative, plan,
            lambda inp: str(fn(_ints(inp))), _int_list_input)


def _count_char(rng, kw):
    c = rng.choice("aeiost")
    v = rng.choice(STR_VARS)
    statement = (f"{kw['N']} {kw['verb']} a {kw['word']} {v}. "
                 f"{rng.choice(PRINT)} how often '{c}' occurs in {kw['N']}'s {kw['word']} {v}.")
    program = f"{v} = input()\nprint({v}.count('{c}'))\n"
    alternative = (f"{v} = input()\ncount = 0\nfor ch in {v}:\n    if ch == '{c}':\n        count += 1\n"
                   "print(count)\n")
    plan = [f"Read the string {v}.", f"Print {v}.count('{c}')."]
    return ("count_char", "medium", statement, program, alternative, plan,
            lambda inp: str(inp.strip("\n").count(c)),
            lambda r: "".join(r.choice(c * 4 + LOWER) for _ in range(r.randint(3, 12))) + "\n")


def _affine(rng, kw):
    k, m = rng.randint(2, 9), rng.randint(1, 9)
    v = rng.choice("xnkd")
    statement = (f"{kw['N']} {kw['verb']} one of the {kw['things']}, {v}. "
                 f"{rng.choice(PRINT)} {v} * {k} + {m} for {kw['N']}.")
    program = f"{v} = int(input())\nprint({v} * {k} + {m})\n"
    alternative = f"{v} = int(input())\nresult = {v} * {k}\nresult = result + {m}\nprint(result)\n"
    plan = [f"Read the integer {v}.", f"Print {v} * {k} + {m}."]
    return ("affine", "medium", statement, program, alternative, plan,
            lambda inp: str(int(inp) * k + m), lambda r: f"{r.randint(0, 99)}\n")


def _count_div(rng, kw):
    k = rng.randint(2, 9)
    v = rng.choice(LIST_VARS)
    statement = (f"{kw['N']} {kw['verb']} n {kw['things']}. {_list_input_sentence(rng, kw, v)} "
                 f"{rng.choice(PRINT)} how many of {kw['N']}'s {kw['things']} are divisible by {k}.")
    program = (f"n = int(input())\n{v} = list(map(int, input().split()))\n"
               f"print(sum(1 for val in {v} if val % {k} == 0))\n")
    alternative = (f"n = int(input())\n{v} = list(map(int, input().split()))\ncount = 0\nfor val in {v}:\n"
                   f"    if val % {k} == 0:\n        count += 1\nprint(count)\n")
    plan = ["Read n, then the list " + v + ".", f"Count the values with val % {k} == 0.", "Print the count."]
    return ("count_div", "hard", statement, program, alternative, plan,
            lambda inp: str(sum(1 for x in _ints(inp) if x % k == 0)), _int_list_input)


def _sum_greater(rng, kw):
    k = rng.randint(5, 40)
    v = rng.choice(LIST_VARS)
    statement = (f"{kw['N']} {kw['verb']} n {kw['things']}. {_list_input_sentence(rng, kw, v)} "
                 f"{rng.choice(PRINT)} the sum of {kw['N']}'s {kw['things']} above {k}.")
    program = (f"n = int(input())\n{v} = list(map(int, input().split()))\n"
               f"print(sum(val for val in {v} if val > {k}))\n")
    alternative = (f"n = int(input())\n{v} = list(map(int, input().split()))\ntotal = 0\nfor val in {v}:\n"
                   f"    if val > {k}:\n        total += val\nprint(total)\n")
    plan = ["Read n, then the list " + v + ".", f"Add the values with val > {k}.", "Print the sum."]
    return ("sum_greater", "hard", statement, program, alternative, plan,
            lambda inp: str(sum(x for x in _ints(inp) if x > k)), _int_list_input)


def _vowels(rng, kw):
    v = rng.choice(STR_VARS)
    statement = (f"{kw['N']} {kw['verb']} a {kw['word']} {v}. "
                 f"{rng.choice(PRINT)} the number of vowels in {kw['N']}'s {kw['word']} {v}.")
    program = f"{v} = input()\nprint(sum(1 for ch in {v} if ch in 'aeiou'))\n"
    alternative = (f"{v} = input()\ncount = 0\nfor ch in {v}:\n    if ch in 'aeiou':\n        count += 1\n"
                   "print(count)\n")
    plan = [f"Read the string {v}.", "Count the letters in 'aeiou'.", "Print the count."]
    return ("vowels", "hard", statement, program, alternative, plan,
            lambda inp: str(sum(1 for ch in inp.strip("\n") if ch in "aeiou")), lambda r: _word(r, 3, 12) + "\n")


def _multiples(rng, kw):
    k = rng.randint(2, 9)
    v = rng.choice("nkmc")
    statement = (f"{kw['N']} {kw['verb']} one of the {kw['things']}, {v}. "
                 f"{rng.choice(PRINT)} {kw['N']}'s first {v} multiples of {k} {rng.choice(ONE_LINE)}.")
    program = f"{v} = int(input())\nprint(' '.join(str(i * {k}) for i in range(1, {v} + 1)))\n"
    alternative = (f"{v} = int(input())\nout = []\nfor i in range(1, {v} + 1):\n    out.append(str(i * {k}))\n"
                   "print(' '.join(out))\n")
    plan = [f"Read the integer {v}.", f"Make i * {k} for i from 1 to {v}.", "Print them joined by spaces."]
    return ("multiples", "hard", statement, program, alternative, plan,
            lambda inp: " ".join(str(i * k) for i in range(1, int(inp) + 1)), lambda r: f"{r.randint(1, 9)}\n")


CODE_FAMILIES = {"easy": [_binop, _reverse, _upper, _length],
                 "medium": [_aggregate, _count_char, _affine],
                 "hard": [_count_div, _sum_greater, _vowels, _multiples]}


def code_task(rng: random.Random, difficulty: str) -> CodeTask:
    if difficulty not in CODE_FAMILIES:
        raise ValueError(f"difficulty: expected one of {DIFFICULTIES}, got {difficulty!r}")
    name, _ = _person(rng)
    kw = {"N": name, "verb": rng.choice(VERBS_HAS), "things": rng.choice(THINGS), "word": rng.choice(WORDS)}
    build = rng.choice(CODE_FAMILIES[difficulty])
    family, diff, statement, program, alternative, plan, solve, make_input = build(rng, kw)
    return CodeTask(family=family, difficulty=diff, statement=statement, program=program, solve=solve,
                    make_input=make_input, plan=plan, alternative=alternative)


def code_tests(task: CodeTask, rng: random.Random, n: int = CODE_TESTS) -> list[dict]:
    """n tests with distinct inputs (fewer when the family has fewer distinct inputs)."""
    tests, seen = [], set()
    for _ in range(n * 10):
        inp = task.make_input(rng)
        if inp in seen:
            continue
        seen.add(inp)
        tests.append({"input": inp, "output": task.solve(inp) + "\n"})
        if len(tests) == n:
            break
    return tests


def _example_block(test: dict) -> str:
    return f"Example input:\n{test['input'].rstrip()}\nExample output:\n{test['output'].rstrip()}"


# ---------------------------------------------------------------------------------------------------------------
# Rows
# ---------------------------------------------------------------------------------------------------------------
def _difficulty_for(rng: random.Random, difficulty: str | None) -> str:
    if difficulty in (None, "mixed"):
        return rng.choice(DIFFICULTIES)
    if difficulty not in DIFFICULTIES:
        raise ValueError(f"difficulty: expected one of {DIFFICULTIES}, 'mixed' or null, got {difficulty!r}")
    return difficulty


def _row(source: str, seed: int, index: int, question: str, *, answer, tests, difficulty, meta) -> dict:
    code = source == "synthetic_code"
    return {
        "id": f"{ID_PREFIX[source]}-{seed}-{index:04d}",
        "domain": DOMAIN_OF[source],
        "question": question,
        "answer": answer,
        "tests": tests,
        "time_limit_s": CODE_TIME_LIMIT_S if code else None,
        "memory_limit_mb": CODE_MEMORY_LIMIT_MB if code else None,
        "difficulty": difficulty,
        "source": source,
        "source_index": index,
        "meta": meta,
    }


def _one(source: str, rng: random.Random, seed: int, index: int, difficulty: str | None) -> dict:
    level = _difficulty_for(rng, difficulty)
    if source == "synthetic_math":
        story = math_story(rng, level)
        return _row(source, seed, index, story.question, answer=str(story.answer), tests=None, difficulty=level,
                    meta={"family": story.family, "start": story.start, "steps": story.steps})
    if source == "synthetic_choice":
        story = math_story(rng, level, science=True)
        options, correct = choice_options(rng, story.answer)
        lines = [story.question, ""] + [f"{LETTERS[i]}) {value}" for i, value in enumerate(options)]
        # GPQA has no difficulty split: only an explicitly requested level labels the rows.
        return _row(source, seed, index, "\n".join(lines), answer=LETTERS[correct], tests=None,
                    difficulty=difficulty if difficulty in DIFFICULTIES else None,
                    meta={"family": story.family, "start": story.start, "steps": story.steps, "options": options,
                          "value": story.answer, "level": level})
    if source == "synthetic_code":
        task = code_task(rng, level)
        tests = code_tests(task, rng)
        question = f"{task.statement}\n\n{_example_block(tests[0])}"
        return _row(source, seed, index, question, answer=None, tests=tests, difficulty=task.difficulty,
                    meta={"family": task.family, "solution": task.program, "alternative": task.alternative,
                          "plan": task.plan})
    raise ValueError(f"source: expected one of {SOURCES}, got {source!r}")


def generate(source: str, n: int, seed: int, difficulty: str | None = None) -> list[dict]:
    """n rows of `source` (synthetic_math | synthetic_code | synthetic_choice), the same for the same arguments.

    difficulty: easy | medium | hard (every row at that level), mixed or None (each row drawn uniformly and
    labelled; synthetic_choice rows are labelled only when a level is asked for). Questions are distinct in a set.
    """
    if source not in SOURCES:
        raise ValueError(f"source: expected one of {SOURCES}, got {source!r}")
    if n < 0:
        raise ValueError(f"n: expected a non-negative count, got {n}")
    rng = _rng(source, seed, difficulty)
    rows, seen = [], set()
    attempts = 0
    while len(rows) < n:
        attempts += 1
        if attempts > 50 * n + 100:
            raise ValueError(f"{source}: cannot draw {n} distinct questions with seed {seed} (got {len(rows)})")
        row = _one(source, rng, seed, len(rows), difficulty)
        if row["question"] in seen:
            continue
        seen.add(row["question"])
        rows.append(row)
    return rows


def drills(n: int, seed: int) -> list[dict]:
    """Bare chains of the stories' arithmetic ("What is 4 * 3 + 6 - 2?"), math rows for pretraining only: many
    small-table facts per token, which is what the tiny models are slowest to learn."""
    rng = _rng("drill", seed, None)
    rows = []
    for index in range(n):
        if rng.random() < 0.3:
            a = rng.randint(2, 5)
            b = rng.randint(2, min(5, MATH_CAP // a))
            steps = [{"a": a, "op": "*", "b": b, "result": a * b}]
            value, text = a * b, f"{a} * {b}"
        else:
            value = rng.randint(2, 9)
            steps, text = [], str(value)
        for op, b in _change_steps(rng, value, rng.randint(4, 8), 9, MATH_CAP):
            result = OPS[op](value, b)
            steps.append({"a": value, "op": op, "b": b, "result": result})
            text += f" {op} {b}"
            value = result
        rows.append(_row("synthetic_math", seed, index, f"What is {text}?", answer=str(value), tests=None,
                         difficulty=None, meta={"family": "drill", "steps": steps}))
    return rows


def copy_drills(n: int, seed: int) -> list[dict]:
    """"Repeat this list ..." math rows for pretraining only: copying words and numbers from the question is how a
    tiny model reads a story, and plain copying teaches it fastest."""
    rng = _rng("copy", seed, None)
    rows = []
    for index in range(n):
        words = []
        for _ in range(rng.randint(6, 14)):
            kind = rng.random()
            words.append(str(rng.randint(1, 30)) if kind < 0.4 else rng.choice(NAMES)[0] if kind < 0.6 else
                         rng.choice(OBJECTS) if kind < 0.8 else rng.choice(["buys", "gives", "has", "takes", "finds",
                                                                            "more", "to", "each", "with", "of"]))
        words.append(str(rng.randint(1, 30)))
        seq = " ".join(words)
        rows.append(_row("synthetic_math", seed, index, f"Repeat this list, then give its last number: {seq}",
                         answer=words[-1], tests=None, difficulty=None, meta={"family": "copy", "sequence": seq}))
    return rows


def option_drills(n: int, seed: int) -> list[dict]:
    """"Which option is 12?" choice rows for pretraining only: reading lettered options for a value, the last step
    of a multiple-choice story, on its own."""
    rng = _rng("options", seed, None)
    rows = []
    for index in range(n):
        value = rng.randint(2, MATH_CAP)
        options, correct = choice_options(rng, value)
        lines = [f"Which option is {value}?", ""] + [f"{LETTERS[i]}) {v}" for i, v in enumerate(options)]
        rows.append(_row("synthetic_choice", seed, index, "\n".join(lines), answer=LETTERS[correct], tests=None,
                         difficulty=None, meta={"family": "options", "options": options, "value": value}))
    return rows


def ood_arith_items(n: int, seed: int) -> list[dict]:
    """Bare arithmetic questions (`id`, `question`, `answer` as a digit string): the tiny OOD suite's items."""
    rng = _rng("ood_arith", seed, None)
    items, seen = [], set()
    while len(items) < n:
        op = rng.choice("+-*")
        if op == "*":
            a, b = rng.randint(2, 9), rng.randint(2, 9)
        else:
            a, b = rng.randint(2, 40), rng.randint(1, 9)
            if op == "-" and b > a:
                a, b = b, a
        question = f"What is {a} {op} {b}?"
        if question in seen:
            continue
        seen.add(question)
        items.append({"id": f"ood-arith-{seed}-{len(items):04d}", "question": question,
                      "answer": str(OPS[op](a, b))})
    return items
