"""vLLM backend: a thin adapter over vLLM's offline API (`vllm.LLM`, `vllm.SamplingParams`), checked against vLLM 0.33.

vLLM is imported when the backend is built, never at module import: it lives in the GPU environment only
(envs/sampling.yaml; it cannot share an environment with the CPU training stack).

Each generation is its own request (`SamplingParams(n=1, seed=...)`) with its own recorded seed; vLLM batches all
requests of a call and shares the prompt's KV cache across them (prefix caching). A call gets everything its caller
has (a whole sampling shard, a whole benchmark): `preferred_batch_size` is unbounded, because vLLM schedules
requests itself and a chunked caller would wait for each chunk's longest tail before starting the next chunk.

Reproducibility (vLLM's "Reproducibility" page): a per-request seed gives each sample its own random stream, but
vLLM does not guarantee the same text for the same seed by default: which requests share a batch changes the
floating-point results. Rerunning the same shard with the same vLLM version on the same hardware gives the same
distribution, not necessarily the same bytes; bitwise repeats need VLLM_BATCH_INVARIANT=1 (batch invariance) or
VLLM_ENABLE_V1_MULTIPROCESSING=0 (deterministic scheduling), set in the job's environment.

Prompts are rendered with the model's chat template by its tokenizer (the same rendering as the transformers
backend) and sent as token ids (`{"prompt_token_ids": ...}`), so that no second BOS is added.

`close()` shuts the engine down (vLLM 0.33 has no `LLM.shutdown()`; the engine core runs in its own process(es),
which `LLM.llm_engine.engine_core.shutdown()` stops, so their GPU memory is returned before the next model of the
same job, such as the judge, loads).
"""

from __future__ import annotations

import gc
import importlib
import logging
import sys

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

WHOLE_CALL = sys.maxsize  # preferred_batch_size: everything the caller has, in one generate() call


def import_vllm():
    try:
        return importlib.import_module("vllm")
    except ImportError as exc:
        raise GenerationError(
            "backend 'vllm' needs the vllm package, which is only in the GPU environment (envs/sampling.yaml; "
            "run with --sdm conda on a GPU node, or `pip install vllm` in a CUDA environment): " + str(exc)
        ) from exc


def engine_kwargs(model_spec: dict, *, seed: int = 0, dtype=None, llm_kwargs: dict | None = None) -> dict:
    """The `vllm.LLM(...)` arguments of a model spec (names as in vLLM 0.33's LLM.__init__ / EngineArgs)."""
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
    if int(kwargs.get("data_parallel_size", 1)) > 1:
        # vLLM 0.33 LLM.__init__ raises for data_parallel_size > 1 in one process: replicas are separate jobs here
        raise GenerationError(f"model {model_spec['model']!r}: data_parallel_size > 1 is not supported by vllm.LLM "
                              "in one process; run replicas as separate jobs (smaller tensor_parallel_size, more "
                              "shards)")
    return kwargs


class VLLMBackend:
    name = "vllm"

    def __init__(self, model_spec: dict, *, seed: int = 0, dtype=None, batch_size: int | None = None,
                 llm_kwargs: dict | None = None):
        self._vllm = import_vllm()
        kwargs = engine_kwargs(model_spec, seed=seed, dtype=dtype, llm_kwargs=llm_kwargs)
        log.info("vllm.LLM(%s)", ", ".join(f"{k}={v!r}" for k, v in kwargs.items()))
        self.llm = self._vllm.LLM(**kwargs)
        self.tokenizer = self.llm.get_tokenizer()
        self.preferred_batch_size = int(batch_size or WHOLE_CALL)
        self.model_name = model_spec["model"]
        self.max_model_len = self._engine_max_model_len(kwargs.get("max_model_len"))

    def _engine_max_model_len(self, requested):
        model_config = getattr(self.llm, "model_config", None)  # LLM.model_config in vLLM 0.33
        return getattr(model_config, "max_model_len", None) or requested

    def _sampling_params(self, params: SamplingParams, seed: int):
        return self._vllm.SamplingParams(
            n=1,
            temperature=float(params.temperature),
            top_p=1.0 if params.greedy else float(params.top_p),
            max_tokens=int(params.max_new_tokens),
            seed=int(seed),
        )

    def _warn_context(self, token_ids: list[list[int]], max_new_tokens: int) -> None:
        """vLLM stops a request at max_model_len (finish reason length) without an error: say how many prompts
        cannot get their full max_new_tokens (ded preflight checks the same bound from the config)."""
        if not self.max_model_len:
            return
        over = [len(ids) for ids in token_ids if len(ids) + max_new_tokens > self.max_model_len]
        if over:
            log.warning("%s: %d prompt(s) (longest %d tokens) + max_new_tokens %d exceed max_model_len %d: those "
                        "responses stop at the context limit", self.model_name, len(over), max(over), max_new_tokens,
                        self.max_model_len)

    def generate(self, prompts, params, n: int, seeds) -> list[list[Generation]]:
        if self.llm is None:
            raise GenerationError(f"vllm backend of {self.model_name!r}: generate() after close()")
        params = SamplingParams.from_dict(params)
        seed_grid = expand_seeds(len(prompts), n, seeds)
        texts = [render_prompt(self.tokenizer, m) for m in prompts]
        prefixes = [forced_prefix(t) for t in texts]
        token_ids = [list(self.tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts]
        self._warn_context(token_ids, params.max_new_tokens)
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
        """Stop the engine and return its GPU memory (idempotent)."""
        llm, self.llm = self.llm, None
        if llm is None:
            return
        shutdown_engine(llm)
        del llm
        free_cuda_memory()


def shutdown_engine(llm) -> None:
    """Stop a vllm.LLM's engine. vLLM 0.33: LLM has no shutdown(); LLM.llm_engine.engine_core is the
    EngineCoreClient (SyncMPClient: engine processes; InprocClient: in-process core), whose shutdown() stops them.
    A later vLLM's LLM.shutdown() is preferred where it exists."""
    own = getattr(llm, "shutdown", None)
    if callable(own):
        own()
        return
    core = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
    if core is None or not callable(getattr(core, "shutdown", None)):
        raise GenerationError("vllm.LLM has neither shutdown() nor llm_engine.engine_core.shutdown(): this vLLM "
                              "version is not the one envs/sampling.yaml pins (0.33.0)")
    core.shutdown()


def free_cuda_memory() -> None:
    """Drop this process's cached CUDA blocks after the engine's objects are gone (nothing to do on CPU)."""
    gc.collect()
    try:
        import torch
    except ImportError:
        return
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        free, total = torch.cuda.mem_get_info()
        log.info("after vLLM shutdown: %.1f of %.1f GiB free on cuda:%d", free / 2**30, total / 2**30,
                 torch.cuda.current_device())
