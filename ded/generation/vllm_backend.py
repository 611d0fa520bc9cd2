"""vLLM backend: a thin adapter over vLLM's offline API (`vllm.LLM`, `vllm.SamplingParams`).

vLLM is imported when the backend is built, never at module import: it lives in the GPU environment only
(envs/sampling.yaml; it cannot share an environment with the CPU training stack).

Each generation is its own request (`SamplingParams(n=1, seed=...)`) so that every sample has its own recorded seed
and is reproducible on its own; vLLM batches all requests of a call and shares the prompt's KV cache across them
(prefix caching), so this costs little against `n` samples of one request. Prompts are rendered with the model's
chat template by its tokenizer (the same rendering as the transformers backend) and sent as token ids, so that no
second BOS is added.
"""

from __future__ import annotations

import importlib
import logging

from .base import (
    Generation,
    GenerationError,
    SamplingParams,
    expand_seeds,
    forced_prefix,
    normalise_finish_reason,
    render_prompt,
)

log = logging.getLogger("ded.generation.vllm")


def import_vllm():
    try:
        return importlib.import_module("vllm")
    except ImportError as exc:
        raise GenerationError(
            "backend 'vllm' needs the vllm package, which is only in the GPU environment (envs/sampling.yaml; "
            "run with --sdm conda on a GPU node, or `pip install vllm` in a CUDA environment): " + str(exc)
        ) from exc


class VLLMBackend:
    name = "vllm"

    def __init__(self, model_spec: dict, *, seed: int = 0, dtype=None, batch_size: int | None = None,
                 llm_kwargs: dict | None = None):
        self._vllm = import_vllm()
        kwargs = {
            "model": model_spec["model"],
            "revision": model_spec.get("revision"),
            "tokenizer": model_spec.get("tokenizer"),
            "tensor_parallel_size": int(model_spec.get("tensor_parallel_size") or 1),
            "max_model_len": model_spec.get("max_model_len"),
            "seed": int(seed),
            "dtype": dtype,
        }
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        kwargs.update(llm_kwargs or {})
        log.info("vllm.LLM(%s)", ", ".join(f"{k}={v!r}" for k, v in kwargs.items()))
        self.llm = self._vllm.LLM(**kwargs)
        self.tokenizer = self.llm.get_tokenizer()
        # requests per generate() call: large enough to keep the engine's batch full, small enough that an
        # interrupted shard loses little
        self.preferred_batch_size = int(batch_size or 512)
        self.model_name = model_spec["model"]

    def _sampling_params(self, params: SamplingParams, seed: int):
        return self._vllm.SamplingParams(
            n=1,
            temperature=float(params.temperature),
            top_p=1.0 if params.greedy else float(params.top_p),
            max_tokens=int(params.max_new_tokens),
            seed=int(seed),
        )

    def generate(self, prompts, params, n: int, seeds) -> list[list[Generation]]:
        params = SamplingParams.from_dict(params)
        seed_grid = expand_seeds(len(prompts), n, seeds)
        texts = [render_prompt(self.tokenizer, m) for m in prompts]
        prefixes = [forced_prefix(t) for t in texts]
        token_ids = [list(self.tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts]
        jobs = [(i, j) for i in range(len(prompts)) for j in range(n)]
        requests = [{"prompt_token_ids": token_ids[i]} for i, _ in jobs]
        sampling = [self._sampling_params(params, seed_grid[i][j]) for i, j in jobs]
        outputs = self.llm.generate(requests, sampling_params=sampling, use_tqdm=False) if jobs else []
        if len(outputs) != len(jobs):
            raise GenerationError(f"vllm returned {len(outputs)} outputs for {len(jobs)} requests")
        result: list[list[Generation | None]] = [[None] * n for _ in prompts]
        for (i, j), request_output in zip(jobs, outputs):
            completion = request_output.outputs[0]
            result[i][j] = Generation(
                text=prefixes[i] + completion.text,
                num_tokens=len(completion.token_ids),
                finish_reason=normalise_finish_reason(completion.finish_reason),
                seed=seed_grid[i][j],
            )
        return result  # type: ignore[return-value]

    def close(self) -> None:
        self.llm = None
