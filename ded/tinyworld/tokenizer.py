"""The tiny world's tokenizer: a byte-level BPE with Qwen2's pre-tokenizer (digits one by one), special tokens
`<|endoftext|>` (pad), `<|im_start|>`, `<|im_end|>` (eos), the added tokens `<think>`/`</think>`, and a Qwen2.5-style
chat template that inserts the system message "You are a helpful assistant." when the conversation has none.

LlamaFactory's `template: qwen` with `default_system: You are a helpful assistant.` renders the very same text
(tests/test_tinyworld.py checks it), so the prompt seen in SFT is the prompt seen in sampling and evaluation.
"""

from __future__ import annotations

import os
import random

from ded.prompts import build_messages
from ded.tinyworld import STYLES, atomic_dir
from ded.tinyworld.cot import write_response
from ded.tinyworld.tasks import SOURCES, generate

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# Not "special": decoding with skip_special_tokens=True must keep the think tags of a response.
THINK_TOKENS = ["<think>", "</think>"]
EOS, PAD = "<|im_end|>", "<|endoftext|>"
DEFAULT_SYSTEM = "You are a helpful assistant."
# Qwen2's pre-tokenizer pattern (words, single digits, punctuation runs, newlines), except that the space before a
# number goes with the word or sign in front of it (" buys 5" -> " buys ", "5"): digits are then always the same ten
# tokens, so a tiny model learns one addition table (not one for "5" and one for " 5"), and it copies a number from
# the question by looking up the word before it ("buys " -> "5") rather than an ambiguous lone space.
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+ (?=\p{N})|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
                 r" ?[^\s\p{L}\p{N}]+ (?=\p{N})| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
CHAT_TEMPLATE = (
    "{%- if not messages or messages[0]['role'] != 'system' %}"
    "{{- '<|im_start|>system\\n" + DEFAULT_SYSTEM + "<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


def training_texts(n_per_style: int, seed: int) -> list[str]:
    """Whole conversations (system, user, assistant) in every style and domain: the BPE's training corpus."""
    rng = random.Random(f"tokenizer|{seed}")
    texts = []
    for style in STYLES:
        for source in SOURCES:
            for task in generate(source, n_per_style, seed=rng.randrange(10**9)):
                user = build_messages(task)[0]["content"]
                response = write_response(task, style, rng)
                texts.append(f"<|im_start|>system\n{DEFAULT_SYSTEM}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n"
                             f"<|im_start|>assistant\n{response}<|im_end|>\n")
    return texts


def build_tokenizer(vocab_size: int, seed: int, n_per_style: int = 200):
    """Train the BPE on generated conversations and wrap it as a transformers PreTrainedTokenizerFast."""
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        pre_tokenizers,
        trainers,
    )
    from transformers import PreTrainedTokenizerFast

    if vocab_size < 256 + len(SPECIAL_TOKENS) + len(THINK_TOKENS):
        raise ValueError(f"tinyworld.tokenizer.vocab_size: {vocab_size} cannot hold the 256 byte tokens and the "
                         f"{len(SPECIAL_TOKENS) + len(THINK_TOKENS)} special tokens")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    # The think tags are added after training but take part of the requested vocabulary size.
    trainer = trainers.BpeTrainer(vocab_size=vocab_size - len(THINK_TOKENS), special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.add_special_tokens(SPECIAL_TOKENS)
    tok.train_from_iterator(training_texts(n_per_style, seed), trainer)
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in THINK_TOKENS])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS, pad_token=PAD,
                                   additional_special_tokens=["<|im_start|>"], model_max_length=1024)
    fast.chat_template = CHAT_TEMPLATE
    return fast


def save_tokenizer(out_dir: str | os.PathLike, vocab_size: int, seed: int) -> dict:
    """Build and save_pretrained the tokenizer into out_dir; return a short summary for the log."""
    fast = build_tokenizer(vocab_size, seed)
    with atomic_dir(out_dir) as tmp:
        fast.save_pretrained(tmp)
    return {"vocab_size": len(fast), "eos": fast.eos_token, "pad": fast.pad_token}
