"""Shared fixtures: the real files in ../shared/data (skipped cleanly when absent) and a random tiny model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

QWEN_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def pytest_collection_modifyitems(config, items):
    """End-to-end runs of the whole DAG (marker e2e) take minutes: DED_E2E=0 skips them for a quick local loop."""
    if os.environ.get("DED_E2E", "1") != "0":
        return
    skip = pytest.mark.skip(reason="end-to-end run of the whole DAG skipped: DED_E2E=0")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)


def shared_data_dir() -> Path | None:
    env = os.environ.get("DED_SHARED_DATA")
    path = Path(env) if env else ROOT.parent / "shared" / "data"
    return path if path.is_dir() else None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if path is None:
        pytest.skip("../shared/data is absent (set DED_SHARED_DATA to a folder of the real benchmark files)")
    return path


@pytest.fixture(scope="session")
def random_tiny_model(tmp_path_factory) -> Path:
    """A randomly initialised Qwen2 model (0.1M parameters) with a byte-level BPE, saved with save_pretrained.

    For tests that need *a* model (tokenizer lengths, backends, SFT plumbing), not a trained one.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    out = tmp_path_factory.mktemp("random_tiny_model")
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    corpus = ["What is 12 + 30? <think> 12 + 30 = 42 </think> The answer is \\boxed{42}.",
              "print(sum(map(int, input().split())))", "Please reason step by step."] * 20
    tok.train_from_iterator(corpus, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   additional_special_tokens=["<|im_start|>", "<think>", "</think>"])
    fast.chat_template = QWEN_CHAT_TEMPLATE
    fast.save_pretrained(out)
    cfg = Qwen2Config(vocab_size=len(fast), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                      num_attention_heads=2, num_key_value_heads=1, tie_word_embeddings=True,
                      max_position_embeddings=1024, eos_token_id=fast.eos_token_id, pad_token_id=fast.pad_token_id)
    import torch
    torch.manual_seed(0)
    Qwen2ForCausalLM(cfg).save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    """The whole DAG on the smallest config, run once per session in a scratch copy of the workflow."""
    from tests.smoke import copy_workflow, run_snakemake, write_smoke_config

    workdir = copy_workflow(tmp_path_factory.mktemp("smoke"))
    write_smoke_config(workdir)
    res = run_snakemake(workdir, "--cores", "2", "--configfile", "config/smoke.yaml")
    (workdir / "snakemake.stderr.txt").write_text(res.stderr)
    assert res.returncode == 0, f"the smoke run failed:\n{res.stderr[-6000:]}"
    return workdir
