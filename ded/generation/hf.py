"""transformers backend: any causal LM folder or hub id, on CPU or GPU, batched with left padding.

Sampling draws each generation's noise from its own torch.Generator seeded with that generation's seed (Gumbel-max
over the temperature- and top-p-processed distribution, then the argmax).
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
    """scores(logits, rows): logits whose argmax is a sample from softmax(logits / T) restricted to the top-p nucleus
    (Gumbel-max), row r's randomness taken from a generator seeded with seeds[r] (rows: the batch rows still
    decoding, as indices into seeds)."""
    import torch

    class SeededSampler:
        def __init__(self):
            self.generators = [torch.Generator(device="cpu").manual_seed(int(s)) for s in seeds]
            self.step = 0
            self.noise = None

        def _gumbel(self, vocab: int, rows):
            block = max(1, min(64, _NOISE_FLOATS_PER_ROW // vocab))
            if self.step % block == 0:
                # drawn on CPU so that CPU and GPU runs see the same draws; a row draws whole blocks from its own
                # generator while it decodes, so its draws never depend on the other rows (an ended row's generator
                # is never read again: its block is not drawn)
                if self.noise is None:
                    self.noise = torch.empty(len(self.generators), block, vocab)
                live = rows.tolist()
                u = torch.stack([torch.rand(block, vocab, generator=self.generators[r]) for r in live])
                self.noise[rows] = -torch.log(-torch.log(u.clamp_(min=1e-38)))
            g = self.noise[rows, self.step % block]
            self.step += 1
            return g

        def scores(self, logits, rows):
            logp = torch.log_softmax(logits.float() / temperature, dim=-1)
            if top_p < 1.0:
                logp = logp.masked_fill(_nucleus_drop(logp.exp(), top_p), float("-inf"))
            return logp + self._gumbel(logits.shape[-1], rows).to(device=logits.device)

    return SeededSampler()


def _preallocated_cache(model, new_tokens: int):
    """A KV cache that writes each step into buffers sized for the prompt plus `new_tokens`, for models whose
    layers all use full attention (else transformers' DynamicCache).

    DynamicCache concatenates every layer's keys and values at every step, a copy of the whole cache per token: on
    CPU that was 15-20% of the tiny world's decoding. Attention reads views of the same values, so the texts are
    the same (tests/test_generation.py compares the two caches)."""
    from transformers import DynamicCache
    from transformers.cache_utils import Cache, DynamicLayer

    cache = DynamicCache(config=model.config)
    if not cache.layers or any(type(layer) is not DynamicLayer for layer in cache.layers):
        return cache

    class PreallocatedLayer(DynamicLayer):
        def __init__(self):
            super().__init__()
            self.length = 0

        def update(self, key_states, value_states, *args, **kwargs):
            if not self.is_initialized:
                self.lazy_initialization(key_states, value_states)
                batch, heads, prompt, _ = key_states.shape
                self.key_buffer = key_states.new_empty((batch, heads, prompt + new_tokens, key_states.shape[-1]))
                self.value_buffer = value_states.new_empty(
                    (batch, heads, prompt + new_tokens, value_states.shape[-1]))
            end = self.length + key_states.shape[-2]
            if end > self.key_buffer.shape[-2]:
                raise RuntimeError(f"preallocated KV cache: {end} positions, room for {self.key_buffer.shape[-2]}")
            self.key_buffer[:, :, self.length:end] = key_states
            self.value_buffer[:, :, self.length:end] = value_states
            self.length = end
            self.keys, self.values = self.key_buffer[:, :, :end], self.value_buffer[:, :, :end]
            return self.keys, self.values

        def reorder_cache(self, beam_idx) -> None:
            if self.length:
                # the kept rows move to the front of the same buffers (only their filled positions): no new buffer
                index = beam_idx.to(self.key_buffer.device)
                n = len(index)
                keys, values = self.keys.index_select(0, index), self.values.index_select(0, index)
                self.key_buffer, self.value_buffer = self.key_buffer[:n], self.value_buffer[:n]
                self.key_buffer[:, :, :self.length] = keys
                self.value_buffer[:, :, :self.length] = values
                self.keys, self.values = self.key_buffer[:, :, :self.length], self.value_buffer[:, :, :self.length]

    return Cache(layers=[PreallocatedLayer() for _ in cache.layers])


class TransformersBackend:
    name = "transformers"

    def __init__(self, model_spec: dict, *, device: str | None = None, dtype=None, batch_size: int | None = None,
                 num_threads: int | None = None):
        import torch

        from ded.runtime import skip_unused_imports_in_transformers

        skip_unused_imports_in_transformers()
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
        # CPU: 128 rows generated the tiny world's 270 benchmark problems 18% faster than 64 (per-step overhead)
        self.preferred_batch_size = int(batch_size or (128 if self.device == "cpu" else 256))
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
        """(text, num_tokens, finish_reason) per row: prefill, then one token per step with the KV cache.

        transformers' generate() keeps computing rows that have ended until the longest one ends; here a row leaves
        the batch (and the cache) at its end-of-sequence token, so that a batch costs the sum of its responses'
        lengths instead of its size times the longest (2.4x faster on the tiny world's CPU batches of 64).
        Decoding is what generate() does with the same settings: greedy, or the seeded sampler below, no penalty."""
        import torch

        width = max(len(x) for x in batch_ids)
        input_ids = torch.tensor([[self.pad_id] * (width - len(x)) + x for x in batch_ids], device=self.device)
        mask = torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in batch_ids], device=self.device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        sampler = None if params.greedy else _seeded_sampler(params.temperature, params.top_p, seeds)
        eos = set(self.eos_ids)
        tokens: list[list[int]] = [[] for _ in batch_ids]
        ended = [False] * len(batch_ids)
        rows = torch.arange(len(batch_ids))
        cache = _preallocated_cache(self.model, params.max_new_tokens)
        with torch.no_grad():
            logits = self.model(input_ids=input_ids, attention_mask=mask, position_ids=positions,
                                past_key_values=cache, use_cache=True).logits[:, -1]
            next_position = positions[:, -1:] + 1
            for step in range(1, params.max_new_tokens + 1):
                scores = logits if sampler is None else sampler.scores(logits, rows)
                chosen = scores.argmax(dim=-1)
                keep = []
                for k, (row, token) in enumerate(zip(rows.tolist(), chosen.tolist())):
                    tokens[row].append(token)
                    if token in eos:
                        ended[row] = True
                    else:
                        keep.append(k)
                if not keep or step == params.max_new_tokens:
                    break
                if len(keep) < len(rows):
                    index = torch.tensor(keep, device=self.device)
                    cache.reorder_cache(index)
                    rows, chosen, mask, next_position = rows[index.cpu()], chosen[index], mask[index], \
                        next_position[index]
                mask = torch.cat([mask, mask.new_ones((len(keep), 1))], dim=1)
                logits = self.model(input_ids=chosen[:, None], attention_mask=mask, position_ids=next_position,
                                    past_key_values=cache, use_cache=True).logits[:, -1]
                next_position = next_position + 1
        results = []
        for toks, stop in zip(tokens, ended):
            if stop:
                body, num_tokens, reason = toks[:-1], len(toks), "stop"
            else:
                body, num_tokens, reason = toks, len(toks), "length"
            results.append((self.tokenizer.decode(body, skip_special_tokens=False), num_tokens, reason))
        return results

    def close(self) -> None:
        self.model = None
