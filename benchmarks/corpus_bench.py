"""Performance of the corpus stage at the paper's scale (prints figures; not a test).

A synthetic corpus of QUESTIONS x TRAJECTORIES responses of about CHARS characters each (paper: 1,000 x 8 x ~45,000
characters, ~12k tokens) is generated question by question (so memory stays flat), and for each question the script
times:
  - the length check (tokenize + compare with the limit) and the format check (strict <think> ... </think>), with
    ded.verify's functions when it provides them, else a stand-in that is named in the output;
  - math verification: math-verify's parse + verify of the extracted \\boxed{} answer against the gold answer;
  - diversity: ded.corpus.diversity.select_diverse against the bare rapidfuzz cdist on the same items (both with
    workers=-1, i.e. every core), for each unit: chars (the strings) and tokens (token-id lists).
The ratio selection / bare cdist must stay <= 1.5 (selection computes the matrix once and then does O(P n) work).

    python benchmarks/corpus_bench.py                       # the paper's scale (about an hour on 2 idle cores)
    python benchmarks/corpus_bench.py --questions 8         # a quick run
    python benchmarks/corpus_bench.py --tokenizer PATH      # a real tokenizer folder instead of a BPE trained here
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import statistics
import sys
import time
from pathlib import Path

from ded.corpus import diversity

WORDS = ("so we need to compute the value of first note that since therefore let us check whether this gives "
         "wait actually consider the case where then substituting back we get hence the sum equals and thus "
         "but hold on maybe I made a mistake recall that by symmetry it follows the answer is").split()
LATEX = ["\\frac{{{a}}}{{{b}}}", "x^{{{a}}}", "\\sqrt{{{a}}}", "{a} + {b} = {c}", "({a}, {b})", "{a} \\cdot {b}",
         "\\binom{{{a}}}{{{b}}}", "{a}!", "f({a}) = {c}"]


def trajectory(rng: random.Random, chars: int, answer: str) -> str:
    """Reasoning-like text of about `chars` characters: words, numbers and LaTeX, ending in a boxed answer."""
    parts, size = ["<think>\n"], 8
    while size < chars:
        if rng.random() < 0.18:
            a, b = rng.randint(1, 999), rng.randint(1, 99)
            piece = "$" + rng.choice(LATEX).format(a=a, b=b, c=a + b) + "$"
        elif rng.random() < 0.05:
            piece = ".\n\n"
        else:
            piece = rng.choice(WORDS)
        parts.append(piece + " ")
        size += len(piece) + 1
    parts.append(f"\n</think>\n\nThe answer is $\\boxed{{{answer}}}$.")
    return "".join(parts)


def gold_and_predictions(rng: random.Random, m: int) -> tuple[str, list[str]]:
    """A gold answer and m predicted answers: equal, equivalent in another form, or wrong."""
    num, den = rng.randint(1, 50), rng.randint(2, 9)
    gold = f"\\frac{{{num}}}{{{den}}}"
    forms = [gold, f"\\dfrac{{{num}}}{{{den}}}", f"{num}/{den}", f"\\frac{{{num + 1}}}{{{den}}}", str(num * den)]
    return gold, [rng.choice(forms) for _ in range(m)]


def train_bpe(texts: list[str], vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<|endoftext|>", "<think>", "</think>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>")


# --- the checks: ded.verify's when it has them, else stand-ins ----------------------------------------------------
THINK = re.compile(r"\A\s*<think>(?:(?!<think>|</think>).)*</think>(?:(?!<think>|</think>).)*\Z", re.S)
BOXED = re.compile(r"\\boxed\{")


def standin_length(response: str, tokenizer, max_tokens: int) -> dict:
    tokens = len(tokenizer(response, add_special_tokens=False)["input_ids"])
    return {"ok": tokens <= max_tokens, "tokens": tokens, "limit": max_tokens}


def standin_format(response: str) -> dict:
    return {"ok": bool(THINK.match(response)), "reason": ""}


def last_boxed(text: str) -> str | None:
    """Content of the last \\boxed{...}, braces balanced."""
    starts = [m.end() for m in BOXED.finditer(text)]
    if not starts:
        return None
    i, depth = starts[-1], 1
    for j in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i:j]
    return None


def standin_math(gold: str, response: str) -> bool:
    from math_verify import parse, verify

    answer = last_boxed(response)
    return bool(answer is not None and verify(parse(f"${gold}$"), parse(f"${answer}$")))


def resolve_checks():
    """(length fn, format fn, math fn, label): ded.verify's functions when importable, else the stand-ins above."""
    try:
        from ded.verify import check_format, check_length, check_math
    except ImportError as exc:
        return standin_length, standin_format, standin_math, f"stand-ins (ded.verify not importable: {exc})"
    return (lambda r, tok, limit: check_length(r, tokenizer=tok, limit=limit), check_format,
            lambda gold, r: check_math(gold, r, timeout_s=5)["ok"],
            "ded.verify.check_length / check_format / check_math (math-verify, 5 s limit)")


# --- the benchmark ------------------------------------------------------------------------------------------------
def run(args) -> dict:
    rng = random.Random(args.seed)
    length_fn, format_fn, math_fn, checks_label = resolve_checks()
    if args.tokenizer:
        from transformers import AutoTokenizer
        tokenizer, tok_label = AutoTokenizer.from_pretrained(args.tokenizer), args.tokenizer
    else:
        sample = [trajectory(random.Random(i), args.chars, "1") for i in range(4)]
        tokenizer = train_bpe(sample, args.vocab_size)
        tok_label = f"byte-level BPE trained here (vocab {args.vocab_size})"

    math_fn("1", "<think>\nx\n</think>\n\n$\\boxed{1}$")  # import math-verify and build its grammar untimed
    t = {k: 0.0 for k in ("generate", "length", "format", "math", "encode", "cdist_chars", "select_chars",
                          "cdist_tokens", "select_tokens")}
    n_chars, n_tokens, n_correct, n_over = [], [], 0, 0
    for q in range(args.questions):
        t0 = time.perf_counter()
        gold, preds = gold_and_predictions(rng, args.trajectories)
        texts = [trajectory(rng, args.chars, p) for p in preds]
        t["generate"] += time.perf_counter() - t0

        t0 = time.perf_counter()
        lengths = [length_fn(x, tokenizer, args.max_tokens) for x in texts]
        t["length"] += time.perf_counter() - t0
        n_over += sum(not v["ok"] for v in lengths)
        t0 = time.perf_counter()
        formats = [format_fn(x) for x in texts]
        t["format"] += time.perf_counter() - t0
        assert all(f["ok"] for f in formats), "generated responses must be well formed"

        t0 = time.perf_counter()
        n_correct += sum(math_fn(gold, x) for x in texts)
        t["math"] += time.perf_counter() - t0

        t0 = time.perf_counter()
        ids = [tokenizer(x, add_special_tokens=False)["input_ids"] for x in texts]
        t["encode"] += time.perf_counter() - t0
        n_chars += [len(x) for x in texts]
        n_tokens += [len(i) for i in ids]

        for unit, items in (("chars", texts), ("tokens", ids)):
            # alternate the order so that neither side always runs on warm caches
            order = ("cdist", "select") if q % 2 == 0 else ("select", "cdist")
            for what in order:
                t0 = time.perf_counter()
                if what == "cdist":
                    diversity.distance_matrix(items, workers=-1)
                else:
                    diversity.select_diverse(items, args.P, workers=-1)
                t[f"{what}_{unit}"] += time.perf_counter() - t0
        if args.progress and (q + 1) % max(1, args.questions // 10) == 0:
            print(f"  ... {q + 1}/{args.questions} questions", file=sys.stderr, flush=True)

    n = args.questions * args.trajectories
    return {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "size": {"questions": args.questions, "trajectories": args.trajectories, "responses": n,
                 "chars_mean": statistics.fmean(n_chars), "tokens_mean": statistics.fmean(n_tokens), "P": args.P},
        "tokenizer": tok_label,
        "checks": checks_label,
        "seconds": t,
        "per_response_ms": {k: 1000 * t[k] / n for k in ("length", "format", "math", "encode")},
        "math_correct": n_correct,
        "over_length": n_over,
        "ratio": {u: t[f"select_{u}"] / t[f"cdist_{u}"] for u in ("chars", "tokens")},
    }


def report(r: dict) -> str:
    s, size, sec = r["seconds"], r["size"], r["seconds"]
    q = size["questions"]
    lines = [
        f"corpus benchmark: {q} questions x {size['trajectories']} responses, "
        f"{size['chars_mean']:,.0f} chars / {size['tokens_mean']:,.0f} tokens each (mean), P = {size['P']}, "
        f"{r['machine']['cpus']} CPUs",
        f"tokenizer: {r['tokenizer']}",
        f"checks: {r['checks']}",
        "",
        f"{'step':<34}{'total s':>10}{'per question ms':>18}{'per response ms':>18}",
    ]

    def row(name, total, per_response=True):
        pr = f"{1000 * total / (q * size['trajectories']):>18.2f}" if per_response else f"{'':>18}"
        lines.append(f"{name:<34}{total:>10.2f}{1000 * total / q:>18.1f}{pr}")

    row("length check (tokenize + limit)", sec["length"])
    row("format check (<think> pairing)", sec["format"])
    row("math verification (math-verify)", sec["math"])
    row("tokenize (for the tokens unit)", sec["encode"])
    for unit in ("chars", "tokens"):
        row(f"bare cdist, {unit}", sec[f"cdist_{unit}"], per_response=False)
        row(f"diversity selection, {unit}", sec[f"select_{unit}"], per_response=False)
    lines.append("")
    for unit in ("chars", "tokens"):
        ratio = r["ratio"][unit]
        verdict = "ok" if ratio <= 1.5 else "TOO SLOW"
        lines.append(f"selection / bare cdist, {unit}: {ratio:.3f} (limit 1.5: {verdict})")
    unit_cost = (s["select_tokens"] + s["encode"]) / s["select_chars"] if s["select_chars"] else float("nan")
    lines.append(f"unit cost: tokens (selection + tokenizing) / chars = {unit_cost:.3f}; "
                 f"math-verify judged {r['math_correct']} of {q * size['trajectories']} answers correct; "
                 f"{r['over_length']} responses over the length limit")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=1000, help="questions (paper: 1,000)")
    parser.add_argument("--trajectories", type=int, default=8, help="responses per question (paper: 8)")
    parser.add_argument("--chars", type=int, default=45000, help="characters per response (paper: ~45,000)")
    parser.add_argument("--P", type=int, default=4, help="responses kept per question by diversity (paper: ~4)")
    parser.add_argument("--max-tokens", type=int, default=16384, help="length-check limit (paper: 16,384)")
    parser.add_argument("--tokenizer", default=None, help="a tokenizer folder or id (default: a BPE trained here)")
    parser.add_argument("--vocab-size", type=int, default=2000,
                        help="vocabulary of the BPE trained here (2,000 gives ~12.7k tokens per 45k characters)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    parser.add_argument("--progress", action="store_true", help="print progress to stderr")
    args = parser.parse_args(argv)
    result = run(args)
    print(report(result))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0 if max(result["ratio"].values()) <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
