"""The tiny world: task generators, chain-of-thought writers, tokenizer (and its agreement with LlamaFactory's qwen
template), and a tiny model that pretrains, saves and reloads by path."""

from __future__ import annotations

import json
import random
import re
import statistics

import pytest

from ded.prompts import build_messages
from ded.tinyworld import cot, models, tasks
from ded.tinyworld.tokenizer import DEFAULT_SYSTEM, build_tokenizer

ROW_FIELDS = ["id", "domain", "question", "answer", "tests", "time_limit_s", "memory_limit_mb", "difficulty",
              "source", "source_index", "meta"]


# ---------------------------------------------------------------------------------------------------------------
# Generators
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("source", tasks.SOURCES)
def test_generate_is_deterministic_and_differs_across_seeds(source):
    a = tasks.generate(source, 20, seed=5, difficulty="mixed")
    assert a == tasks.generate(source, 20, seed=5, difficulty="mixed")
    b = tasks.generate(source, 20, seed=6, difficulty="mixed")
    assert len({r["question"] for r in a} & {r["question"] for r in b}) <= 1
    assert len({r["question"] for r in a}) == 20 and len({r["id"] for r in a}) == 20


@pytest.mark.parametrize("source", tasks.SOURCES)
def test_rows_follow_the_seed_schema(source):
    rows = tasks.generate(source, 30, seed=11)
    domain = tasks.DOMAIN_OF[source]
    for i, row in enumerate(rows):
        assert list(row) == ROW_FIELDS
        assert row["domain"] == domain and row["source"] == source and row["source_index"] == i
        assert isinstance(row["question"], str) and row["question"]
        assert isinstance(row["meta"], dict)
        json.dumps(row)  # JSONL-serialisable
        if domain == "code":
            assert row["answer"] is None and row["time_limit_s"] and row["memory_limit_mb"]
            assert len(row["tests"]) >= 2 and all(set(t) == {"input", "output"} for t in row["tests"])
            assert row["difficulty"] in tasks.DIFFICULTIES
        else:
            assert row["tests"] is None and row["time_limit_s"] is None
        if domain == "math":
            assert re.fullmatch(r"\d+", row["answer"]) and row["difficulty"] in tasks.DIFFICULTIES
        if domain == "choice":
            assert row["answer"] in "ABCD" and row["difficulty"] is None
            options = re.findall(r"^([ABCD])\) (\d+)$", row["question"], flags=re.MULTILINE)
            assert [letter for letter, _ in options] == list("ABCD")
            assert dict(options)[row["answer"]] == str(row["meta"]["value"])


def test_math_answers_follow_from_the_story():
    for row in tasks.generate("synthetic_math", 60, seed=3, difficulty="mixed"):
        steps = row["meta"]["steps"]
        value = steps[0]["a"]
        for step in steps:
            assert step["a"] == value and 0 < step["b"]
            value = {"+": value + step["b"], "-": value - step["b"], "*": value * step["b"]}[step["op"]]
            assert step["result"] == value and 0 < value <= tasks.MATH_CAP
            assert str(step["b"]) in step["clause"] and step["clause"] in row["question"]
        assert row["answer"] == str(value)
        expected_steps = {"easy": 1, "medium": 2, "hard": 3}[row["difficulty"]]
        assert len(steps) == expected_steps


def test_difficulty_levels_and_labels():
    for level in tasks.DIFFICULTIES:
        for source in ("synthetic_math", "synthetic_code"):
            assert {r["difficulty"] for r in tasks.generate(source, 12, seed=1, difficulty=level)} == {level}
    mixed = tasks.generate("synthetic_math", 60, seed=2, difficulty="mixed")
    assert {r["difficulty"] for r in mixed} == set(tasks.DIFFICULTIES)
    assert {r["difficulty"] for r in tasks.generate("synthetic_choice", 8, seed=2, difficulty="hard")} == {"hard"}
    with pytest.raises(ValueError, match="difficulty"):
        tasks.generate("synthetic_math", 2, seed=1, difficulty="extreme")
    with pytest.raises(ValueError, match="source"):
        tasks.generate("synthetic_poetry", 2, seed=1)


def test_sets_drawn_with_other_seeds_rarely_share_an_8gram():
    from ded.corpus.decontam import decontaminate

    bench = {"a": tasks.generate("synthetic_math", 60, seed=201, difficulty="hard"),
             "b": tasks.generate("synthetic_math", 60, seed=203, difficulty="mixed"),
             "c": tasks.generate("synthetic_code", 40, seed=205, difficulty="mixed")}
    for source, seed in (("synthetic_math", 101), ("synthetic_code", 102)):
        seeds = tasks.generate(source, 60, seed=seed)
        kept, _ = decontaminate(seeds, bench, 8)
        assert len(kept) >= 0.85 * len(seeds), source


def test_code_reference_solutions_pass_their_own_tests():
    rows = tasks.generate("synthetic_code", 60, seed=9, difficulty="mixed")
    by_family = {}
    for row in rows:
        by_family.setdefault(row["meta"]["family"], row)
    assert len(by_family) == sum(len(v) for v in tasks.CODE_FAMILIES.values())
    for family, row in by_family.items():
        assert models.run_program(row["meta"]["solution"], row["tests"]), family
        assert models.run_program(row["meta"]["alternative"], row["tests"]), family
    assert not models.run_program("print(0)\n", by_family["binop"]["tests"])


def test_ood_arith_items():
    items = tasks.ood_arith_items(40, seed=0)
    assert items == tasks.ood_arith_items(40, seed=0) and items != tasks.ood_arith_items(40, seed=1)
    for item in items:
        a, op, b = re.fullmatch(r"What is (\d+) ([-+*]) (\d+)\?", item["question"]).groups()
        assert item["answer"] == str(eval(f"{a} {op} {b}"))


# ---------------------------------------------------------------------------------------------------------------
# Chain-of-thought writers and the checks of the scorer
# ---------------------------------------------------------------------------------------------------------------
def _responses(style, source, n=60, noise=0.0, seed=0):
    rng = random.Random(seed)
    rows = tasks.generate(source, n, seed=31)
    return rows, [cot.write_response(row, style, rng, noise) for row in rows]


def test_concise_responses_are_well_formed_and_right():
    for source in ("synthetic_math", "synthetic_choice"):
        rows, responses = _responses("concise", source)
        for row, response in zip(rows, responses):
            assert re.fullmatch(r"<think>\n.+\n</think>\n\n.*\\boxed\{\w+\}\.", response, flags=re.DOTALL)
            assert models.format_ok(response) and models.is_correct(row, response)
    rows, responses = _responses("concise", "synthetic_code", n=8)
    for row, response in zip(rows, responses):
        assert re.fullmatch(r"<think>\n.+\n</think>\n\n```python\n.+```\n", response, flags=re.DOTALL)
        assert models.is_correct(row, response)


def test_verbose_responses_are_longer_with_some_format_faults():
    rows, concise = _responses("concise", "synthetic_math", n=200)
    _, verbose = _responses("verbose", "synthetic_math", n=200)
    assert statistics.mean(map(len, verbose)) > 1.5 * statistics.mean(map(len, concise))
    faults = sum(not models.format_ok(r) for r in verbose)
    assert 15 < faults < 70
    assert all(models.last_boxed(r) == row["answer"] for row, r in zip(rows, verbose))
    assert len(set(verbose)) == len(verbose)


def test_noise_plants_wrong_answers_and_direct_answers_without_a_chain():
    rows, noisy = _responses("concise", "synthetic_math", n=100, noise=0.5)
    wrong = sum(not models.is_correct(row, r) for row, r in zip(rows, noisy))
    assert 30 < wrong < 70
    # the student before distillation: a story of one step shows its equation (a single step it knows), a longer
    # one is answered without a chain; always the right answer and a well-formed response
    rows, direct = _responses("direct", "synthetic_math", n=100)
    for row, r in zip(rows, direct):
        assert models.format_ok(r) and models.is_correct(row, r)
        steps = row["meta"]["steps"]
        if len(steps) == 1:
            s = steps[0]
            assert r.startswith(f"<think>\n{s['a']} {s['op']} {s['b']} = {s['result']}.\n</think>")
        else:
            assert r.startswith("<think>\n\n</think>\n\nThe answer is")
    assert any(len(row["meta"]["steps"]) == 1 for row in rows) and any(len(row["meta"]["steps"]) > 1 for row in rows)
    code_rows, code = _responses("direct", "synthetic_code", n=20)
    assert all(r.startswith("<think>\n\n</think>\n\n```python\n") and models.last_program(r) for r in code)
    with pytest.raises(ValueError, match="style"):
        cot.write_response(rows[0], "chatty", random.Random(0))


def test_scorer_helpers():
    assert models.last_boxed("x \\boxed{3} then \\boxed{1{2}}") == "1{2}"
    assert models.last_boxed("no box") is None
    assert models.format_ok("<think>\na\n</think>\n\nb") and not models.format_ok("<think>\na\n\nb")
    assert not models.format_ok("a\n</think>\n\nb") and not models.format_ok("<think>\na\n</think>\n</think>\n\nb")
    text = "<think>\n```python\nprint(1)\n```\n</think>\n\n```python\nprint(input())\n```\n"
    assert models.last_program(text) == "print(input())\n"
    assert models.run_program("print(input()[::-1])\n", [{"input": "abc\n", "output": "cba\n"}])
    assert not models.run_program("while True: pass\n", [{"input": "", "output": ""}], timeout_s=0.5)


# ---------------------------------------------------------------------------------------------------------------
# Tokenizer
# ---------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny_tokenizer")
    build_tokenizer(vocab_size=600, seed=1, n_per_style=40).save_pretrained(out)
    return out


def test_tokenizer_round_trip_and_special_tokens(tokenizer_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    assert len(tok) == 600
    assert tok.eos_token == "<|im_end|>" and tok.pad_token == "<|endoftext|>"
    row = tasks.generate("synthetic_math", 1, seed=4)[0]
    response = cot.write_response(row, "verbose", random.Random(0))
    ids = tok(response, add_special_tokens=False)["input_ids"]
    assert tok.decode(ids) == response
    # the think tags are single tokens that survive skip_special_tokens (generation backends decode with it)
    for tag in ("<think>", "</think>"):
        assert len(tok(tag, add_special_tokens=False)["input_ids"]) == 1
    assert tok.decode(ids, skip_special_tokens=True) == response
    # every digit is its own token (with the space before it, when there is one)
    pieces = tok.tokenize("x 1234 + 56 = 1290")
    assert [p.replace("Ġ", "") for p in pieces if any(c.isdigit() for c in p)] == list("1234561290")


def test_chat_template_inserts_the_default_system(tokenizer_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    text = tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True)
    assert text == (f"<|im_start|>system\n{DEFAULT_SYSTEM}<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n"
                    "<|im_start|>assistant\n")
    own = tok.apply_chat_template([{"role": "system", "content": "S"}, {"role": "user", "content": "hi"}],
                                  tokenize=False)
    assert own == "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n"


def test_chat_template_matches_llamafactory_qwen_template(tokenizer_dir):
    from llamafactory.data.template import get_template_and_fix_tokenizer
    from llamafactory.hparams import DataArguments
    from transformers import AutoTokenizer

    ours = AutoTokenizer.from_pretrained(tokenizer_dir)
    theirs = AutoTokenizer.from_pretrained(tokenizer_dir)
    template = get_template_and_fix_tokenizer(theirs, DataArguments(template="qwen", default_system=DEFAULT_SYSTEM))
    assert theirs.eos_token == ours.eos_token and len(theirs) == len(ours)  # nothing added or replaced
    for source in tasks.SOURCES:
        row = tasks.generate(source, 1, seed=8)[0]
        response = cot.write_response(row, "verbose", random.Random(1))
        messages = build_messages(row) + [{"role": "assistant", "content": response}]
        prompt_ids, response_ids = template.encode_oneturn(theirs, messages)
        prompt_text = ours.apply_chat_template(messages[:-1], tokenize=False, add_generation_prompt=True)
        assert theirs.decode(prompt_ids) == prompt_text
        assert prompt_ids == ours(prompt_text, add_special_tokens=False)["input_ids"]
        assert theirs.decode(prompt_ids + response_ids) == ours.apply_chat_template(messages, tokenize=False)
        assert response_ids == ours(response + "<|im_end|>\n", add_special_tokens=False)["input_ids"]


# ---------------------------------------------------------------------------------------------------------------
# Tiny model
# ---------------------------------------------------------------------------------------------------------------
def test_tiny_model_pretrains_saves_and_reloads_by_path(tokenizer_dir, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(1)
    out = tmp_path / "models" / "tiny"
    spec = {"style": "direct", "hidden_size": 32, "num_layers": 1, "pretrain_steps": 4, "batch_size": 4}
    params = {"temperature": 0.8, "top_p": 0.95, "max_new_tokens": 8}
    scores = models.build_model(tokenizer_dir, out, spec, seed=0, sampling=params, max_tokens=100)
    saved = json.loads((out / models.SCORES_FILE).read_text())
    assert saved["spec"]["hidden_size"] == 32 and saved == json.loads(json.dumps(scores))
    for domain in ("math", "code", "choice"):
        assert 0 <= saved[domain]["accuracy"] <= 1 and saved[domain]["mean_tokens"] <= 8
    assert not list(tmp_path.glob("models/.tiny.*"))  # no temporary folder left behind

    tok = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out)
    assert type(model).__name__ == "Qwen2ForCausalLM" and model.config.hidden_size == 32
    assert model.generation_config.eos_token_id == tok.eos_token_id
    prompt = tok.apply_chat_template(build_messages(tasks.generate("synthetic_math", 1, seed=1)[0]),
                                     tokenize=False, add_generation_prompt=True)
    ids = tok(prompt, return_tensors="pt", add_special_tokens=False).input_ids
    gen = model.generate(ids, max_new_tokens=6, do_sample=False)
    assert gen.shape[1] > ids.shape[1]
    # the loss on the response tokens falls during pretraining
    _, history = models.pretrain({**spec, "pretrain_steps": 30, "learning_rate": 0.01}, tok, seed=0)
    assert statistics.mean(history[-5:]) < statistics.mean(history[:5])


def test_model_spec_checks():
    assert models.model_spec({"style": "concise"})["hidden_size"] == 128
    with pytest.raises(ValueError, match="style"):
        models.model_spec({"hidden_size": 64})
    with pytest.raises(ValueError, match="hidden_size"):
        models.model_spec({"style": "concise", "hidden_size": 48})


def test_option_drills_read_the_options_in_every_style():
    rows = tasks.option_drills(30, seed=3)
    for style in ("concise", "verbose", "direct"):
        for row in rows:
            r = cot.write_response(row, style, random.Random(0))
            assert models.format_ok(r) and models.last_boxed(r) == row["answer"]
            assert f"{row['answer']}) {row['meta']['value']} yes." in r


def test_tiny_models_have_a_key_value_head_per_head(tokenizer_dir):
    """No grouped-query attention: transformers would copy the whole cache at every decoding step under a mask."""
    from transformers import AutoTokenizer

    config = models.qwen2_config(models.model_spec({"style": "direct"}), AutoTokenizer.from_pretrained(tokenizer_dir))
    assert config.num_key_value_heads == config.num_attention_heads == 128 // models.HEAD_DIM


def test_a_teacher_continues_from_its_base(tokenizer_dir, tmp_path):
    """init: the model starts from the base's weights (the teachers from the student), not from scratch."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(1)
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    base_spec = {"style": "direct", "hidden_size": 32, "num_layers": 1, "pretrain_steps": 3, "batch_size": 2}
    base, _ = models.pretrain(base_spec, tok, seed=0)
    base.save_pretrained(tmp_path / "base")
    spec = {**base_spec, "style": "concise", "pretrain_steps": 1, "learning_rate": 1e-6}
    continued, _ = models.pretrain(spec, tok, seed=1, init=tmp_path / "base")
    fresh, _ = models.pretrain(spec, tok, seed=1)
    start = AutoModelForCausalLM.from_pretrained(tmp_path / "base")
    w = "model.layers.0.mlp.up_proj.weight"
    near = (continued.state_dict()[w] - start.state_dict()[w]).abs().max()
    far = (fresh.state_dict()[w] - start.state_dict()[w]).abs().max()
    assert near < 1e-3 < far
    with pytest.raises(ValueError, match="hidden_size"):
        models.pretrain({**spec, "hidden_size": 64}, tok, seed=1, init=tmp_path / "base")
