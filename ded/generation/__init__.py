"""Generation backends behind one interface (see ded.generation.base for the contract).

    from ded.generation import load_backend, SamplingParams
    backend = load_backend(config["teachers"]["concise"])
    outs = backend.generate([build_messages(task)], SamplingParams(0.6, 0.95, 2048), n=4, seeds=[1, 2, 3, 4])
"""

from __future__ import annotations

from .base import (
    BACKENDS,
    FINISH_REASONS,
    Backend,
    Generation,
    GenerationError,
    SamplingParams,
    derive_seed,
    expand_seeds,
)

# options each backend understands; load_backend passes a backend only its own and rejects unknown names
_OPTIONS = {
    "transformers": {"device", "dtype", "batch_size", "num_threads"},
    "vllm": {"seed", "dtype", "batch_size", "llm_kwargs"},
    "openai": {"cache_dir", "sleep", "backoff_base_s", "backoff_max_s", "batch_size"},
}
_ALL_OPTIONS = set().union(*_OPTIONS.values())


def load_backend(model_spec: dict, backend: str | None = None, **options) -> Backend:
    """Build the backend of a model entry (a teachers/students item of the config, or any dict with `model`).

    `backend` overrides model_spec["backend"] (default transformers). Options (each used by the backends named):
    device, dtype ("float32", "bfloat16", "auto"), num_threads: transformers; seed (engine seed), llm_kwargs
    (extra vllm.LLM arguments): vllm; cache_dir, sleep, backoff_base_s, backoff_max_s: openai; batch_size
    (generations per call that the caller should aim for, exposed as `preferred_batch_size`): all.
    Options meant for another backend are ignored, so one call site can serve every backend; unknown names fail.
    """
    if "model" not in model_spec:
        raise ValueError(f"model spec {model_spec!r}: missing 'model'")
    kind = backend or model_spec.get("backend") or "transformers"
    if kind not in BACKENDS:
        raise ValueError(f"model {model_spec['model']!r}: unknown backend {kind!r} (expected one of {BACKENDS})")
    unknown = set(options) - _ALL_OPTIONS
    if unknown:
        raise TypeError(f"load_backend: unknown option(s) {', '.join(sorted(unknown))}")
    mine = {k: v for k, v in options.items() if k in _OPTIONS[kind] and v is not None}
    if kind == "transformers":
        from .hf import TransformersBackend

        return TransformersBackend(model_spec, **mine)
    if kind == "vllm":
        from .vllm_backend import VLLMBackend

        return VLLMBackend(model_spec, **mine)
    from .openai_backend import OpenAIBackend

    return OpenAIBackend(model_spec, **mine)


__all__ = ["BACKENDS", "FINISH_REASONS", "Backend", "Generation", "GenerationError", "SamplingParams",
           "derive_seed", "expand_seeds", "load_backend"]
