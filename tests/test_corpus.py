"""The corpus stage: decontamination, pass rates, diversity, corpus variants, experiment corpora, bad input."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ded.corpus import decontam, diversity, experiment, passrate, registry, variants
from ded.corpus.records import read_verified
from ded.io import DataError, read_json, read_jsonl, write_jsonl
from ded.prompts import user_prompt

ROOT = Path(__file__).resolve().parent.parent


# --- constructed rows ---------------------------------------------------------------------------------------------
def seed(qid, question, domain="math"):
    return {"id": qid, "domain": domain, "question": question, "answer": "1", "tests": None, "time_limit_s": None,
            "memory_limit_mb": None, "difficulty": None, "source": "test", "source_index": qid, "meta": {}}


def vrow(qid, idx, tokens, *, length=True, fmt=True, correct=True, response=None, domain="math", model="t"):
    return {
        "id": f"{qid}#{idx}", "question_id": qid, "domain": domain, "model": model, "sample_index": idx, "seed": idx,
        "response": response if response is not None else f"<think>\n{qid} try {idx}\n</think>\n\n\\boxed{{1}}",
        "num_tokens": tokens + 1000,  # the generator's count; the corpus must use checks.length.tokens instead
        "finish_reason": "stop", "backend": "test",
        "checks": {"length": {"ok": length, "tokens": tokens, "limit": 100},
                   "format": {"ok": fmt, "reason": "" if fmt else "no </think>"},
                   "correct": {"ok": correct, "method": "math_verify", "reason": ""}},
        "passed": length and fmt and correct,
    }


def hits_file(path, seed_ids):
    rows = [{"seed_id": s, "benchmark": "aime24", "benchmark_id": "7", "ngram": "a b c d e f g h"} for s in seed_ids]
    path.write_text(decontam.hits_csv(rows))
    return path


# --- decontamination ----------------------------------------------------------------------------------------------
BENCH_Q = "Find the number of ordered pairs (x, y) of integers such that x^2 + y^2 = 25 and x > 0."


def test_decontamination_hits_and_keeps(tmp_path):
    seeds = [
        seed("copy", "  FIND the number of ordered pairs (x, y)\nof integers such that x^2 + y^2 = 25 and x > 0?"),
        seed("seven", "Find the number of ordered pairs of reals."),  # shares 7 words only
        seed("other", "Compute the sum of the first one hundred positive odd integers please."),
        seed("short", "Solve x + 1 = 2."),  # fewer than 8 words: no n-gram, never a hit (as open-r1)
    ]
    bench = {"aime24": [seed("b1", BENCH_Q), seed("b2", "Solve x + 1 = 2.")],
             "math500": [seed("m1", "Let us compute the sum of the first one hundred positive odd integers.")]}
    paths = {}
    for name, rows in bench.items():
        paths[name] = tmp_path / f"{name}.jsonl"
        write_jsonl(paths[name], rows)
    write_jsonl(tmp_path / "seeds.jsonl", seeds)
    counts = decontam.decontaminate_files(tmp_path / "seeds.jsonl", paths, tmp_path / "kept.jsonl",
                                          tmp_path / "hits.csv", ngram=8)
    assert [r["id"] for r in read_jsonl(tmp_path / "kept.jsonl")] == ["seven", "short"]
    assert read_jsonl(tmp_path / "kept.jsonl")[0] == seeds[1]  # kept rows pass through unchanged
    with open(tmp_path / "hits.csv", newline="") as fh:
        hits = list(csv.DictReader(fh))
    assert [(h["seed_id"], h["benchmark"], h["benchmark_id"]) for h in hits] == [
        ("copy", "aime24", "b1"), ("other", "math500", "m1")]
    assert hits[0]["ngram"] == "find the number of ordered pairs (x, y)"  # case folded, newline collapsed
    assert hits[1]["ngram"] == "compute the sum of the first one hundred"  # the first shared one
    assert counts == {"seeds": 4, "kept": 2, "dropped": 2, "per_benchmark": {"aime24": 1, "math500": 1}}
    assert decontam.read_hits_csv(tmp_path / "hits.csv") == hits


def test_decontamination_punctuation_mode():
    bench = {"b": [seed("b1", "Let $f(x)=x^2+3x$ be given; find the value of f(2) exactly now.")]}
    seeds = [seed("s1", "Let \\(f(x)=x^2+3x\\) be given, find the value of f(2) exactly now!")]
    kept, hits = decontam.decontaminate(seeds, bench, 8, punctuation="keep")
    assert hits == [] and kept == seeds  # open-r1's normalisation keeps punctuation glued to words
    kept, hits = decontam.decontaminate(seeds, bench, 8, punctuation="strip")
    assert kept == [] and hits[0]["benchmark_id"] == "b1"
    assert decontam.normalize_text("A,b  C.", "strip") == "a b c"
    with pytest.raises(ValueError, match="decontamination.punctuation"):
        decontam.normalize_text("x", "drop")


def test_decontamination_real_benchmark(shared_data):
    aime = [json.loads(line) for line in (shared_data / "aime24.jsonl").read_text().splitlines() if line.strip()]
    bench = {"aime24": [seed(str(r["id"]), r["problem"]) for r in aime]}
    planted = [seed(f"p{i}", "  " + aime[i]["problem"].upper().replace(" ", "\n ")) for i in (0, 5, 17)]
    clean = [seed("c0", "Prove that there are infinitely many primes of the form 4k + 3, using a careful argument.")]
    kept, hits = decontam.decontaminate(planted + clean, bench, 8)
    assert [r["id"] for r in kept] == ["c0"]
    assert {(h["seed_id"], h["benchmark_id"]) for h in hits} == {("p0", str(aime[0]["id"])),
                                                                ("p5", str(aime[5]["id"])),
                                                                ("p17", str(aime[17]["id"]))}


# --- pass rates ---------------------------------------------------------------------------------------------------
def test_pass_rates_and_threshold_boundary(tmp_path):
    rows = []
    for q, n_correct in {"q0": 0, "q1": 1, "q2": 2, "q3": 3, "q4": 4}.items():
        rows += [vrow(q, i, 10, correct=i < n_correct, length=i != 0) for i in range(4)]
    write_jsonl(tmp_path / "v.jsonl", rows)
    counts = passrate.passrate_file(tmp_path / "v.jsonl", tmp_path / "p.jsonl", threshold=0.5, k=4)
    out = read_jsonl(tmp_path / "p.jsonl")
    # only the correct verdict counts: sample 0 fails the length check but still counts as solved
    assert [(r["question_id"], r["k"], r["n_correct"], r["pass_rate"], r["hard"]) for r in out] == [
        ("q0", 4, 0, 0.0, True), ("q1", 4, 1, 0.25, True), ("q2", 4, 2, 0.5, True),  # = threshold is kept
        ("q3", 4, 3, 0.75, False), ("q4", 4, 4, 1.0, False)]
    assert counts == {"questions": 5, "hard": 3}
    assert passrate.is_hard(3, 10, 0.3) and not passrate.is_hard(4, 10, 0.3)
    assert passrate.is_hard(7, 10, 0.7)
    with pytest.raises(DataError, match="q0 has 4 samples, expected compression.k = 8"):
        passrate.passrate_file(tmp_path / "v.jsonl", tmp_path / "p2.jsonl", threshold=0.5, k=8)


# --- diversity ----------------------------------------------------------------------------------------------------
def test_diversity_picks_farthest_points():
    # strings of one letter: the edit distance is the difference of lengths, i.e. points on a line
    lengths = [5, 6, 10, 20, 21]
    items = ["a" * n for n in lengths]
    dist = diversity.distance_matrix(items)
    assert (dist == np.abs(np.subtract.outer(lengths, lengths))).all()
    # start: largest distance sum (21); then the farthest from it (5); then the farthest from {5, 21} (10)
    assert diversity.farthest_point_order(dist, 3) == [4, 0, 2]
    assert diversity.select_diverse(items, 3) == [0, 2, 4]
    assert diversity.select_diverse(items, 2) == [0, 4]
    # deterministic ties: identical responses -> lowest sample indices
    assert diversity.select_diverse(["same"] * 6, 3) == [0, 1, 2]
    assert diversity.select_diverse(items, 3, workers=1) == diversity.select_diverse(items, 3, workers=-1)
    # fewer than P (or exactly P) -> all of them
    assert diversity.select_diverse(items[:2], 4) == [0, 1]
    assert diversity.select_diverse(items, 5) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="diversity.P"):
        diversity.select_diverse(items, 0)


def test_diversity_tokens_unit():
    # token-id sequences: distance counts tokens, not characters
    dist = diversity.distance_matrix([[1, 2, 3], [1, 2, 4], [7, 8, 9, 10, 11]])
    assert dist.tolist() == [[0, 1, 5], [1, 0, 5], [5, 5, 0]]
    vocab = {}

    def encode(text):  # one token per word
        return [vocab.setdefault(w, len(vocab)) for w in text.split()]

    # by characters the long word is far from both others (33 vs 11) and the tie goes to index 0;
    # by tokens the six-word response is the far one (distances 5 and 6 against 1)
    texts = ["x", "x " * 6, "supercalifragilisticexpialidocious"]
    assert diversity.distance_matrix(texts).tolist() == [[0, 11, 33], [11, 0, 33], [33, 33, 0]]
    assert diversity.select_diverse(texts, 2) == [0, 2]
    assert diversity.distance_matrix([encode(t) for t in texts]).tolist() == [[0, 5, 1], [5, 0, 6], [1, 6, 0]]
    assert diversity.select_diverse([encode(t) for t in texts], 2) == [1, 2]
    groups = {"q": [read_sample(vrow("q", i, 5, response=t)) for i, t in enumerate(texts)]}
    rows, stats = variants.build_variant("right_hard_diverse", [seed("q", "Q?")], groups, teacher="t",
                                         settings={"P": 2, "unit": "tokens"}, encode=encode,
                                         pass_rates={"q": {"hard": True}})
    assert [r["sample_index"] for r in rows] == [1, 2]
    assert stats["diversity"] == {"P": 2, "unit": "tokens"}
    rows, _ = variants.build_variant("right_hard_diverse", [seed("q", "Q?")], groups, teacher="t",
                                     settings={"P": 2, "unit": "chars"}, pass_rates={"q": {"hard": True}})
    assert [r["sample_index"] for r in rows] == [0, 2]


def read_sample(row):
    from ded.corpus.records import _sample_from_row
    return _sample_from_row(row, "test")


# --- corpus variants ----------------------------------------------------------------------------------------------
@pytest.fixture
def world(tmp_path):
    """4 decontaminated seed questions x 4 teacher samples, the student's pass rates, one decontaminated seed."""
    tasks = [seed("q1", "Question one?"), seed("q2", "Question two?"), seed("q3", "Question three?"),
             seed("q4", "Question four?")]
    rows = [vrow("q1", i, t) for i, t in enumerate([10, 30, 20, 40])]  # all pass; hard
    rows += [vrow("q2", 0, 90, length=False), vrow("q2", 1, 12, fmt=False), vrow("q2", 2, 15),
             vrow("q2", 3, 11, correct=False)]  # one passes (index 2); easy
    rows += [vrow("q3", 0, 99, length=False, correct=False)] + [vrow("q3", i, 9, correct=False) for i in (1, 2, 3)]
    rows += [vrow("q4", 0, 25), vrow("q4", 1, 5, correct=False), vrow("q4", 2, 25), vrow("q4", 3, 50, fmt=False)]
    rows.reverse()  # file order must not matter
    write_jsonl(tmp_path / "seeds.jsonl", tasks)
    write_jsonl(tmp_path / "verified.jsonl", rows)
    write_jsonl(tmp_path / "passrate.jsonl", [
        {"question_id": q, "k": 4, "n_correct": n, "pass_rate": n / 4, "hard": n <= 2}
        for q, n in {"q1": 1, "q2": 4, "q3": 0, "q4": 2}.items()])
    hits_file(tmp_path / "hits.csv", ["gone", "gone"])  # one seed, two hits
    return tmp_path


def make_variant(world, variant, **kw):
    stats = variants.corpus_variant_files(
        variant, teacher="concise", domain="math", verified=world / "verified.jsonl", seeds=world / "seeds.jsonl",
        hits=world / "hits.csv", out_corpus=world / f"{variant}.jsonl", out_stats=world / f"{variant}.stats.json",
        passrate=world / "passrate.jsonl" if registry.get_variant(variant).needs_pass_rates else None, **kw)
    rows = read_jsonl(world / f"{variant}.jsonl")
    assert read_json(world / f"{variant}.stats.json") == stats
    dropped = stats["dropped"]["samples"]
    assert stats["input"] == {"questions": 4, "samples": 16}
    assert stats["input"]["samples"] == stats["samples"] + sum(dropped.values())  # every sample accounted once
    assert stats["dropped"]["questions"]["decontamination"] == 1
    return rows, stats


def picked(rows):
    return [(r["question_id"], r["sample_index"]) for r in rows]


def test_variant_first(world):
    rows, stats = make_variant(world, "first")
    assert picked(rows) == [("q1", 0), ("q2", 0), ("q3", 0), ("q4", 0)]  # unfiltered
    assert rows[0] == {"question_id": "q1", "domain": "math", "teacher": "concise", "sample_index": 0,
                       "prompt": user_prompt(seed("q1", "Question one?")),
                       "response": "<think>\nq1 try 0\n</think>\n\n\\boxed{1}", "num_tokens": 10}
    assert stats["dropped"]["samples"] == {"length": 0, "format": 0, "correct": 0, "hard_filter": 0,
                                           "not_selected": 12}
    assert stats["failing"] == {"length": 2, "format": 0, "correct": 0}
    assert (stats["questions"], stats["samples"], stats["tokens_mean"], stats["tokens_median"]) == (4, 4, 56, 57.5)
    assert "passrate" not in stats["source"]


CHECK_DROPS = {"length": 2, "format": 2, "correct": 5}


def test_variant_right(world):
    rows, stats = make_variant(world, "right")
    assert picked(rows) == [("q1", 0), ("q2", 2), ("q4", 0)]
    assert stats["dropped"]["samples"] == {**CHECK_DROPS, "hard_filter": 0, "not_selected": 4}
    assert stats["dropped"]["questions"] == {"decontamination": 1, "no_passing": 1, "hard_filter": 0}
    assert stats["failing"] == {"length": 0, "format": 0, "correct": 0}


def test_variant_right_hard(world):
    rows, stats = make_variant(world, "right_hard")
    assert picked(rows) == [("q1", 0), ("q4", 0)]
    assert stats["dropped"]["samples"] == {**CHECK_DROPS, "hard_filter": 1, "not_selected": 4}
    assert stats["dropped"]["questions"] == {"decontamination": 1, "no_passing": 1, "hard_filter": 1}
    assert stats["source"]["passrate"].endswith("passrate.jsonl")


def test_variant_right_hard_diverse(world):
    rows, stats = make_variant(world, "right_hard_diverse", config_sections={"diversity": {"P": 3, "unit": "chars"}})
    # q1 has four passing responses differing only in the digit: all at distance 1, ties -> lowest indices
    assert picked(rows) == [("q1", 0), ("q1", 1), ("q1", 2), ("q4", 0), ("q4", 2)]  # q4: fewer than P -> all
    assert stats["dropped"]["samples"] == {**CHECK_DROPS, "hard_filter": 1, "not_selected": 1}
    assert (stats["questions"], stats["samples"]) == (2, 5)
    assert stats["diversity"] == {"P": 3, "unit": "chars"}


def test_variant_longest_shortest(world):
    rows, stats = make_variant(world, "longest")
    assert picked(rows) == [("q1", 3), ("q2", 2), ("q4", 0)]  # q4: 25 = 25 tokens -> lower index
    assert stats["tokens_mean"] == pytest.approx((40 + 15 + 25) / 3, abs=0.01)
    rows, stats = make_variant(world, "shortest")
    assert picked(rows) == [("q1", 0), ("q2", 2), ("q4", 0)]  # q4's 5-token response is wrong: not eligible
    assert stats["dropped"]["samples"]["not_selected"] == 4


def test_variant_needs_and_consistency(world, tmp_path):
    tasks = [seed("q1", "Question one?")]
    groups = read_verified(world / "verified.jsonl")
    with pytest.raises(DataError, match="not in the decontaminated seeds"):
        variants.build_variant("right", tasks, groups, teacher="t")
    with pytest.raises(ValueError, match="pass rates"):
        variants.build_variant("right_hard", tasks, {"q1": groups["q1"]}, teacher="t")
    with pytest.raises(DataError, match="no pass rate for question 'q1'"):
        variants.build_variant("right_hard", tasks, {"q1": groups["q1"]}, teacher="t", pass_rates={})
    with pytest.raises(DataError, match="no samples of seed question 'q9'"):
        variants.build_variant("right", tasks + [seed("q9", "?")], {"q1": groups["q1"]}, teacher="t")
    with pytest.raises(DataError, match="has domain 'math', expected 'code'"):
        variants.build_variant("right", tasks, {"q1": groups["q1"]}, teacher="t", domain="code")
    with pytest.raises(ValueError, match="expected one of"):
        variants.build_variant("best", tasks, {"q1": groups["q1"]}, teacher="t")
    with pytest.raises(ValueError, match="needs a tokenizer"):
        variants.build_variant("right_hard_diverse", tasks, {"q1": groups["q1"]}, teacher="t",
                               settings={"P": 2, "unit": "tokens"}, pass_rates={"q1": {"hard": True}})


def test_unchecked_variant_without_a_first_response_names_the_file_and_question(world):
    groups = read_verified(world / "verified.jsonl")
    later = {"q1": [s for s in groups["q1"] if s.sample_index > 0]}
    with pytest.raises(DataError, match=r"v\.jsonl: question 'q1': no sample_index 0"):
        variants.build_variant("first", [seed("q1", "Question one?")], later, teacher="t",
                               sources={"verified": "v.jsonl"})


def test_diversity_settings_are_checked_with_their_key(world):
    tasks, groups = [seed("q1", "Question one?")], read_verified(world / "verified.jsonl")
    for settings, message in [({}, "diversity.P: must be an integer >= 1, got None"),
                              ({"P": 0}, "diversity.P: must be an integer >= 1, got 0"),
                              ({"P": 2, "unit": "words"}, "diversity.unit: expected one of")]:
        with pytest.raises(ValueError, match=re.escape(message)):
            variants.build_variant("right_hard_diverse", tasks, {"q1": groups["q1"]}, teacher="t",
                                   settings=settings, pass_rates={"q1": {"hard": True}})


# --- the variant registry -----------------------------------------------------------------------------------------
def test_schema_enum_and_config_names_are_the_registry():
    schema = __import__("yaml").safe_load((ROOT / "config" / "schema.yaml").read_text())
    piece = schema["definitions"]["experiment"]["properties"]["data"]["items"]["properties"]["variant"]
    assert piece["enum"] == list(registry.VARIANTS)
    from ded import config as dedcfg

    assert dedcfg.CORPUS_VARIANTS == tuple(registry.VARIANTS)


def test_registry_declares_what_each_variant_reads():
    config = {"diversity": {"P": 4, "unit": "chars"}}
    hard = [name for name, v in registry.VARIANTS.items() if v.needs_pass_rates]
    assert hard == ["right_hard", "right_hard_diverse"]
    reads = {name: v.settings(config) for name, v in registry.VARIANTS.items() if v.settings_key}
    assert reads == {"right_hard_diverse": {"P": 4, "unit": "chars"}}
    assert not any(v.uses_tokenizer(config) for v in registry.VARIANTS.values())
    tokens = {"diversity": {"P": 4, "unit": "tokens"}}
    assert [n for n, v in registry.VARIANTS.items() if v.uses_tokenizer(tokens)] == ["right_hard_diverse"]
    assert {n: v.threads for n, v in registry.VARIANTS.items() if v.threads > 1} == {"right_hard_diverse": 8}
    with pytest.raises(ValueError, match="corpus variant 'best': expected one of first, right"):
        registry.get_variant("best")


def test_a_new_variant_is_one_registry_entry(world, monkeypatch):
    """A variant declared only in the registry is built like the shipped ones: the hard filter from its entry, its
    own choice among the passing responses."""
    longest = registry.VARIANTS["longest"]
    monkeypatch.setitem(registry.VARIANTS, "longest_hard",
                        registry.Variant("longest_hard", longest.select, needs_pass_rates=True))
    rows, stats = make_variant(world, "longest_hard")
    assert picked(rows) == [("q1", 3), ("q4", 0)]  # q2 is easy; q1's longest passing response is index 3
    assert stats["dropped"]["questions"]["hard_filter"] == 1 and stats["variant"] == "longest_hard"


# --- experiment corpus --------------------------------------------------------------------------------------------
def corpus_rows(domain, n_questions, per_question, teacher="concise"):
    return [{"question_id": f"{domain}{q}", "domain": domain, "teacher": teacher, "sample_index": i,
             "prompt": f"p{q}", "response": f"r{q}.{i}", "num_tokens": 10 * q + i}
            for q in range(n_questions) for i in range(per_question)]


def test_experiment_limit_and_mixing(tmp_path):
    math, code = corpus_rows("math", 5, 3), corpus_rows("code", 4, 2)
    write_jsonl(tmp_path / "math.jsonl", math)
    write_jsonl(tmp_path / "code.jsonl", code)
    pieces = [{"domain": "math", "variant": "right_hard_diverse", "limit": 7},
              {"domain": "code", "variant": "right_hard_diverse", "limit": None}]
    stats = experiment.experiment_corpus_files("mixed", pieces, [tmp_path / "math.jsonl", tmp_path / "code.jsonl"],
                                               tmp_path / "out.jsonl", tmp_path / "out.stats.json", seed=42)
    rows = read_jsonl(tmp_path / "out.jsonl")
    assert len(rows) == 7 + 8 and rows[7:] == code  # config order; an unlimited piece is whole
    drawn = rows[:7]
    per_q = {}
    for r in drawn:
        per_q.setdefault(r["question_id"], []).append(r["sample_index"])
    # whole questions first: two complete questions, then one row of a third
    assert sorted(len(v) for v in per_q.values()) == [1, 3, 3]
    assert drawn == [r for r in math if r in drawn]  # the piece's own order is kept
    assert (stats["samples"], stats["questions"], stats["dropped"]) == (15, 7, {"samples": {"limit": 8}})
    assert [(p["rows_in"], p["rows_out"]) for p in stats["pieces"]] == [(15, 7), (8, 8)]
    # deterministic for a seed; another seed draws other questions
    again = experiment.draw_limit(math, 7, 42)
    assert again == drawn
    draws = {tuple(r["question_id"] for r in experiment.draw_limit(math, 6, s)) for s in range(10)}
    assert len(draws) > 1 and all(len(set(d)) == 2 for d in draws)
    assert experiment.draw_limit(math, 100, 0) == math


def test_experiment_piece_domain_mismatch(tmp_path):
    write_jsonl(tmp_path / "c.jsonl", corpus_rows("code", 1, 1))
    with pytest.raises(DataError, match="row of domain 'code' in a piece of domain 'math'"):
        experiment.experiment_corpus_files("x", [{"domain": "math", "variant": "right"}], [tmp_path / "c.jsonl"],
                                           tmp_path / "o.jsonl", tmp_path / "o.stats.json", seed=0)


# --- bad input ----------------------------------------------------------------------------------------------------
def test_bad_input(tmp_path):
    good = json.dumps(vrow("q1", 0, 5))
    path = tmp_path / "v.jsonl"
    path.write_text(good + "\n{not json\n")
    with pytest.raises(DataError, match=r"v\.jsonl:2: malformed JSON"):
        read_verified(path)
    no_checks = vrow("q1", 1, 5)
    del no_checks["checks"]
    path.write_text(good + "\n\n" + json.dumps(no_checks) + "\n")
    with pytest.raises(DataError, match=r"v\.jsonl:3: missing field\(s\) checks"):
        read_verified(path)
    bad = vrow("q1", 1, 5)
    del bad["checks"]["format"]
    path.write_text(json.dumps(bad) + "\n")
    with pytest.raises(DataError, match=r"v\.jsonl:1: checks.format must be an object"):
        read_verified(path)
    bad = vrow("q1", 1, 5, correct=False)
    bad["passed"] = True
    path.write_text(json.dumps(bad) + "\n")
    with pytest.raises(DataError, match=r"v\.jsonl:1: passed is True but the checks say False"):
        read_verified(path)
    path.write_text(good + "\n" + good + "\n")
    with pytest.raises(DataError, match=r"v\.jsonl:2: duplicate sample q1#0 \(first on line 1\)"):
        read_verified(path)
    seeds = tmp_path / "s.jsonl"
    seeds.write_text(json.dumps({"id": "a", "domain": "math"}) + "\n")
    with pytest.raises(DataError, match=r"s\.jsonl:1: missing field\(s\) question"):
        decontam.decontaminate_files(seeds, {}, tmp_path / "k.jsonl", tmp_path / "h.csv", ngram=8)
    (tmp_path / "h.csv").write_text("id,bench\n")
    with pytest.raises(DataError, match=r"h\.csv:1: expected columns"):
        decontam.read_hits_csv(tmp_path / "h.csv")


# --- the rules, end to end on constructed inputs ------------------------------------------------------------------
def test_corpus_rules_snakemake(tmp_path):
    snakemake = Path(sys.executable).parent / "snakemake"
    if not snakemake.exists():
        pytest.skip("snakemake is not installed beside this Python")
    work = tmp_path / "wf"
    work.mkdir()
    for item in ("Snakefile", "rules", "scripts", "config", "envs", "report"):
        if (ROOT / item).exists():
            (shutil.copytree if (ROOT / item).is_dir() else shutil.copy)(ROOT / item, work / item)
    (work / "envs").mkdir(exist_ok=True)
    if not (work / "envs/data.yaml").exists():  # the conda: directive's file must exist even when unused
        (work / "envs/data.yaml").write_text("name: data\ndependencies: [python=3.11]\n")
    # Only this stage's rules: without the rules that make them, the constructed seeds, benchmarks and verified files
    # are plain inputs (with the whole Snakefile, Snakemake would rightly resample once decontamination reruns).
    snakefile = (work / "Snakefile").read_text()
    includes = [line for line in snakefile.splitlines() if line.startswith("include:")]
    head = snakefile.split(includes[0])[0]
    (work / "Snakefile").write_text(head + 'include: "rules/common.smk"\ninclude: "rules/corpus.smk"\n')
    R = work / "results"
    tasks = [seed(f"m{i}", f"What is {i} plus {3 * i}?") for i in range(5)]
    tasks.append(seed("m5", "Find the number of ordered pairs of integers whose squares sum to fifty."))
    write_jsonl(R / "seeds/math.jsonl", tasks)
    config = __import__("yaml").safe_load((ROOT / "config/config.yaml").read_text())
    for b in config["benchmarks"]:  # one benchmark copies seed m5
        write_jsonl(R / f"benchmarks/{b}.jsonl", [seed("b0", tasks[5]["question"] if b == "aime24" else "x y")])
    # sampling only sees decontaminated seeds (m0-m4); the student never solves m0 and m3 and always solves the rest,
    # so they are the hard questions whatever compression.threshold (in [0, 1)) the config sets
    teacher_rows = [vrow(t["id"], i, 10 + i, correct=(i + j) % 3 != 0, model="concise")
                    for j, t in enumerate(tasks[:5]) for i in range(4)]
    write_jsonl(R / "verified/concise/math.jsonl", teacher_rows)
    student_rows = [vrow(t["id"], i, 10 + i, correct=j not in (0, 3), model="student")
                    for j, t in enumerate(tasks[:5]) for i in range(4)]
    write_jsonl(R / "verified/student/math.jsonl", student_rows)
    def run(*targets):
        proc = subprocess.run([str(snakemake), *targets, "--cores", "2"],
                              cwd=work, capture_output=True, text=True, timeout=600, check=False)
        assert proc.returncode == 0, proc.stderr[-3000:]
        ran = set(re.findall(r"^(?:local)?rule (\w+):", proc.stdout + proc.stderr, flags=re.M))
        assert ran <= {"decontaminate", "passrate", "corpus_variant", "experiment_corpus"}, ran
        return ran

    assert run("results/corpus/experiments/concise_math_first.jsonl") == {"decontaminate", "corpus_variant",
                                                                          "experiment_corpus"}
    assert not (R / "passrate").exists()  # `first` does not wait for the student's pass rates
    run(*[f"results/corpus/concise/math/{v}.jsonl" for v in ("right", "right_hard_diverse")])
    kept = read_jsonl(R / "decontam/math.jsonl")
    assert [t["id"] for t in kept] == ["m0", "m1", "m2", "m3", "m4"]
    first = read_jsonl(R / "corpus/concise/math/first.jsonl")
    assert [r["question_id"] for r in first] == ["m0", "m1", "m2", "m3", "m4"]
    assert read_jsonl(R / "corpus/experiments/concise_math_first.jsonl") == first
    stats = read_json(R / "corpus/concise/math/right_hard_diverse.stats.json")
    assert stats["dropped"]["questions"]["decontamination"] == 1
    assert stats["diversity"] == {"P": config["diversity"]["P"], "unit": "chars"}
    rhd = read_jsonl(R / "corpus/concise/math/right_hard_diverse.jsonl")
    assert stats["samples"] == len(rhd) == 4 and {r["question_id"] for r in rhd} == {"m0", "m3"}
    assert stats["dropped"]["questions"]["hard_filter"] == 3
    assert (R / "passrate/student/math.jsonl").exists()
    assert not (R / "passrate/concise").exists()


def test_variant_tokens_unit_with_a_saved_tokenizer(world, random_tiny_model):
    encode = diversity.load_token_encoder({"model": str(random_tiny_model), "revision": None})
    ids = encode("What is 12 + 30? <think> 12 + 30 = 42 </think>")
    assert ids and all(isinstance(i, int) for i in ids)
    rows, stats = make_variant(world, "right_hard_diverse", config_sections={"diversity": {"P": 3, "unit": "tokens"}},
                               tokenizer_spec={"model": str(random_tiny_model), "revision": None})
    assert stats["diversity"] == {"P": 3, "unit": "tokens"}
    assert [r["question_id"] for r in rows].count("q1") == 3 and [r["question_id"] for r in rows].count("q4") == 2
    with pytest.raises(ValueError, match="needs the tokenizer"):
        make_variant(world, "right_hard_diverse", config_sections={"diversity": {"P": 3, "unit": "tokens"}})
