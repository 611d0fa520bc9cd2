"""transformers backend: any causal LM folder or hub id, on CPU or GPU, batched with left padding.

Sampling draws each generation's noise from its own torch.Generator seeded with that generation's seed (Gumbel-max
over the temperature- and top-p-processed distribution, applied as a logits processor in front of greedy search).
A generation therefore depends on its seed and prompt only, not on which other prompts share its batch: a resumed
shard, a different batch size or sorted batches give the same texts (up to float rounding in padded batches).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from .base import (
    Generation,
    GenerationError,
    SamplingParams,
    expand_seeds,
    forced_prefix,
    render_prompt,
)

log = logging.getLogger("ded.generation.hf")


def _resolve_dtype(dtype, device: str):
    import torch

    if dtype is None:
        # float32 on CPU: bf16 matmuls there are slow and change results; on GPU the checkpoint's own dtype
        return torch.float32 if device == "cpu" else "auto"
    if isinstance(dtype, str) and dtype != "auto":
        if not isinstance(getattr(torch, dtype, None), torch.dtype):
            raise ValueError(f"dtype: unknown torch dtype {dtype!r} (e.g. float32, bfloat16, auto)")
        return getattr(torch, dtype)
    return dtype


# noise is drawn per row in blocks of steps; the block length depends on the vocabulary only (never on the batch),
# so that a row's draws are the same whatever shares its batch
_NOISE_FLOATS_PER_ROW = 1 << 20
_NUCLEUS_TOPK = 64


def _nucleus_drop(probs, top_p: float):
    """Mask of the tokens outside the top-p nucleus (a token is dropped when the tokens ranked above it already
    hold top_p of the mass; the most likely token always stays). Rows whose nucleus lies within their top 64
    tokens avoid a full sort; the answer is the same either way."""
    import torch

    k = min(_NUCLEUS_TOPK, probs.shape[-1])
    top, order = probs.topk(k, dim=-1)
    keep_sorted = (top.cumsum(dim=-1) - top) < top_p
    keep = torch.zeros_like(probs, dtype=torch.bool).scatter(-1, order, keep_sorted)
    wide = top.sum(dim=-1) < top_p  # the nucleus reaches beyond the top k: rank these rows in full
    if wide.any():
        rows = wide.nonzero(as_tuple=True)[0]
        sorted_p, full_order = probs[rows].sort(dim=-1, descending=True)
        keep_rows = (sorted_p.cumsum(dim=-1) - sorted_p) < top_p
        keep[rows] = torch.zeros_like(keep_rows).scatter(-1, full_order, keep_rows)
    return ~keep


def _seeded_sampler(temperature: float, top_p: float, seeds: Sequence[int]):
    """A logits processor whose argmax is a sample from softmax(scores / T) restricted to the top-p nucleus
    (Gumbel-max), with row r's randomness taken from a generator seeded with seeds[r]."""
    import torch
    from transformers import LogitsProcessor

    class SeededSampler(LogitsProcessor):
        def __init__(self):
            self.generators = [torch.Generator(device="cpu").manual_seed(int(s)) for s in seeds]
            self.step = 0
            self.noise = None

        def _gumbel(self, vocab: int):
            block = max(1, min(64, _NOISE_FLOATS_PER_ROW // vocab))
            if self.step % block == 0:
                # drawn on CPU so that CPU and GPU runs see the same draws
                u = torch.stack([torch.rand(block, vocab, generator=g) for g in self.generators])
                self.noise = -torch.log(-torch.log(u.clamp_(min=1e-38)))
            g = self.noise[:, self.step % block]
            self.step += 1
            return g

        def __call__(self, input_ids, scores):
            logp = torch.log_softmax(scores.float() / temperature, dim=-1)
            if top_p < 1.0:
                logp = logp.masked_fill(_nucleus_drop(logp.exp(), top_p), float("-inf"))
            return logp + self._gumbel(scores.shape[-1]).to(device=scores.device)

    return SeededSampler()


class TransformersBackend:
    name = "transformers"

    def __init__(self, model_spec: dict, *, device: str | None = None, dtype=None, batch_size: int | None = None,
                 num_threads: int | None = None):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if num_threads:
            torch.set_num_threads(int(num_threads))
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        model = model_spec["model"]
        revision = model_spec.get("revision")
        tok_source = model_spec.get("tokenizer") or model
        tok_revision = None if model_spec.get("tokenizer") else revision
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(tok_source, revision=tok_revision)
            self.model = AutoModelForCausalLM.from_pretrained(
                model, revision=revision, dtype=_resolve_dtype(dtype, self.device))
        except OSError as exc:
            raise GenerationError(f"transformers backend: cannot load model {model!r}: {exc}") from exc
        self.model.to(self.device).eval()
        self.tokenizer.padding_side = "left"
        self.eos_ids = self._eos_ids()
        if not self.eos_ids:
            raise GenerationError(f"model {model!r}: neither the tokenizer nor the generation config names an "
                                  "end-of-sequence token")
        pad = self.tokenizer.pad_token_id
        self.pad_id = pad if pad is not None else self.eos_ids[0]
        self.preferred_batch_size = int(batch_size or (64 if self.device == "cpu" else 256))
        self.model_name = model

    def _eos_ids(self) -> list[int]:
        ids = []
        if self.tokenizer.eos_token_id is not None:
            ids.append(self.tokenizer.eos_token_id)
        cfg_eos = getattr(self.model.generation_config, "eos_token_id", None)
        for i in (cfg_eos if isinstance(cfg_eos, (list, tuple)) else [cfg_eos]):
            if i is not None and i not in ids:
                ids.append(int(i))
        return ids

    def generate(self, prompts, params, n: int, seeds) -> list[list[Generation]]:
        params = SamplingParams.from_dict(params)
        seed_grid = expand_seeds(len(prompts), n, seeds)
        texts = [render_prompt(self.tokenizer, m) for m in prompts]
        prefixes = [forced_prefix(t) for t in texts]
        ids = [self.tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
        jobs = [(i, j) for i in range(len(prompts)) for j in range(n)]
        # similar lengths share a batch (less padding); results do not depend on the grouping
        jobs.sort(key=lambda ij: (-len(ids[ij[0]]), ij))
        out: list[list[Generation | None]] = [[None] * n for _ in prompts]
        for start in range(0, len(jobs), self.preferred_batch_size):
            chunk = jobs[start:start + self.preferred_batch_size]
            results = self._generate_batch([ids[i] for i, _ in chunk], [seed_grid[i][j] for i, j in chunk], params)
            for (i, j), (text, num_tokens, reason) in zip(chunk, results):
                out[i][j] = Generation(prefixes[i] + text, num_tokens, reason, seed_grid[i][j])
        return out  # type: ignore[return-value]

    def _generate_batch(self, batch_ids: list[list[int]], seeds: list[int], params: SamplingParams):
        import torch
        from transformers import GenerationConfig, LogitsProcessorList

        width = max(len(x) for x in batch_ids)
        input_ids = torch.tensor([[self.pad_id] * (width - len(x)) + x for x in batch_ids], device=self.device)
        attention = torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in batch_ids], device=self.device)
        # every decoding option set explicitly: transformers fills unset ones from the model's generation_config
        # (e.g. a repetition penalty), which the other backends would not apply
        config = GenerationConfig(max_new_tokens=params.max_new_tokens, do_sample=False, num_beams=1,
                                  eos_token_id=self.eos_ids, pad_token_id=self.pad_id, repetition_penalty=1.0,
                                  no_repeat_ngram_size=0, min_length=0)
        processors = LogitsProcessorList()
        if not params.greedy:
            processors.append(_seeded_sampler(params.temperature, params.top_p, seeds))
        with torch.no_grad():
            out = self.model.generate(input_ids=input_ids, attention_mask=attention, generation_config=config,
                                      logits_processor=processors)
        generated = out[:, width:].tolist()
        eos = set(self.eos_ids)
        results = []
        for toks in generated:
            end = next((k for k, t in enumerate(toks) if t in eos), None)
            if end is None:
                # no eos: the row ran to max_new_tokens (generate stops early only when every row has ended)
                body, num_tokens, reason = toks, len(toks), "length"
            else:
                body, num_tokens, reason = toks[:end], end + 1, "stop"
            text = self.tokenizer.decode(body, skip_special_tokens=False)
            results.append((text, num_tokens, reason))
        return results

    def close(self) -> None:
        self.model = None
