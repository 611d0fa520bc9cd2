"""The one generation interface every stage uses (sampling, pass rates, evaluation, the judge).

    backend = load_backend(model_spec)              # a teacher/student entry of the config, or {"model": path}
    outs = backend.generate(prompts, params, n, seeds)
    outs[i][j]                                      # Generation j of prompt i

`prompts` are chat message lists (ded.prompts.build_messages). Local backends render them with the model's own chat
template (add_generation_prompt=True); the HTTP backend sends them as they are.

Seeds: either one per generation (len(prompts) * n, row-major: seeds[i * n + j] is generation j of prompt i) or, for
convenience when n > 1, one per prompt (generation j then uses derive_seed(seeds[i], j)). Each Generation carries
the seed it was drawn with. With the same model, prompt, parameters and seed, the transformers backend gives the
same text whatever else is in the batch (up to floating-point noise of padded batches), so a resumed shard
reproduces what an uninterrupted one would have written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

FINISH_REASONS = ("stop", "length", "error")
BACKENDS = ("transformers", "vllm", "openai")

Message = dict  # {"role": ..., "content": ...}


class GenerationError(RuntimeError):
    """A generation request that cannot succeed (bad request, exhausted retries, missing backend)."""


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 0.6
    top_p: float = 0.95
    max_new_tokens: int = 32768

    def __post_init__(self):
        if not (isinstance(self.temperature, (int, float)) and self.temperature >= 0):
            raise ValueError(f"sampling params: temperature must be a number >= 0, got {self.temperature!r}")
        if not (isinstance(self.top_p, (int, float)) and 0 < self.top_p <= 1):
            raise ValueError(f"sampling params: top_p must be in (0, 1], got {self.top_p!r}")
        if not (isinstance(self.max_new_tokens, int) and self.max_new_tokens >= 1):
            raise ValueError(f"sampling params: max_new_tokens must be an integer >= 1, got {self.max_new_tokens!r}")

    @classmethod
    def from_dict(cls, params: dict | SamplingParams) -> SamplingParams:
        """From a config block (ded.config.sampling_params); unknown keys are an error naming them."""
        if isinstance(params, SamplingParams):
            return params
        unknown = set(params) - {"temperature", "top_p", "max_new_tokens"}
        if unknown:
            raise ValueError(f"sampling params: unknown key(s) {', '.join(sorted(unknown))} "
                             "(expected temperature, top_p, max_new_tokens)")
        return cls(**params)

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


@dataclass(frozen=True)
class Generation:
    text: str
    num_tokens: int | None   # generated tokens (with the final eos) in the generator's tokenizer; None if unknown
    finish_reason: str       # stop | length | error
    seed: int | None = None

    def __post_init__(self):
        if self.finish_reason not in FINISH_REASONS:
            raise ValueError(f"finish_reason must be one of {FINISH_REASONS}, got {self.finish_reason!r}")


@runtime_checkable
class Backend(Protocol):
    name: str                   # transformers | vllm | openai (the `backend` field of sample rows)
    preferred_batch_size: int   # generations per generate() call that keep the backend busy

    def generate(self, prompts: list[list[Message]], params: SamplingParams, n: int,
                 seeds: list[int]) -> list[list[Generation]]: ...

    def close(self) -> None: ...


def derive_seed(*parts: Any) -> int:
    """A 31-bit seed from any parts (ints, strings): stable across runs, machines and Python versions."""
    data = "\x1f".join(str(p) for p in parts).encode("utf-8")
    return int.from_bytes(hashlib.sha256(data).digest()[:4], "big") & 0x7FFFFFFF


def expand_seeds(n_prompts: int, n: int, seeds: Sequence[int]) -> list[list[int]]:
    """Per-generation seeds [[seed of generation j of prompt i for j] for i], from either accepted form."""
    if n < 1:
        raise ValueError(f"generate: n must be >= 1, got {n}")
    seeds = [int(s) for s in seeds]
    if len(seeds) == n_prompts * n:
        return [seeds[i * n:(i + 1) * n] for i in range(n_prompts)]
    if len(seeds) == n_prompts:
        return [[derive_seed(s, j) for j in range(n)] for s in seeds]
    raise ValueError(f"generate: expected {n_prompts * n} seeds (one per generation) or {n_prompts} (one per "
                     f"prompt), got {len(seeds)}")


def normalise_finish_reason(reason: str | None) -> str:
    """Backend-specific reasons onto stop | length | error (abort, content_filter, missing ... are errors)."""
    if reason in ("stop", "eos", "stop_sequence"):
        return "stop"
    if reason in ("length", "max_tokens"):
        return "length"
    return "error"


THINK_OPEN = "<think>"


def render_prompt(tokenizer, messages: list[Message]) -> str:
    """The model's own chat template, ending with the assistant turn's opening."""
    if not getattr(tokenizer, "chat_template", None):
        raise GenerationError(f"tokenizer {getattr(tokenizer, 'name_or_path', '?')!r} has no chat template: "
                              "the prompts are chat messages")
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def forced_prefix(prompt_text: str) -> str:
    """The part of the assistant turn that the chat template already wrote (R1-distill and QwQ templates end
    with '<think>\\n'). It is put back in front of the generated text, so that every response is the full
    assistant turn '<think>\\n...</think>\\n\\n<answer>' whatever the template forces."""
    stripped = prompt_text.rstrip()
    if stripped.endswith(THINK_OPEN):
        return prompt_text[len(stripped) - len(THINK_OPEN):]
    return ""


def join_reasoning(reasoning: str | None, content: str | None) -> str:
    """Rebuild the full response when an endpoint returns the reasoning apart from the answer."""
    content = content or ""
    if not reasoning:
        return content
    return f"<think>\n{reasoning.strip()}\n</think>\n\n{content.lstrip()}"
