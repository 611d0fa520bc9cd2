"""OpenAI-compatible HTTP backend (chat completions): DeepSeek's API, a remote vLLM server, any compatible service.

- One request per generation (n=1, with the generation's seed), at most `endpoint.concurrency` in flight.
- Retries with exponential backoff and jitter on 429, 5xx, timeouts and connection errors, never sooner than a
  Retry-After header asks; any other 4xx fails at once with the server's message (a retry cannot fix it).
- Every complete answer (finish reason stop or length) is cached on disk before it is returned
  (ded.generation.cache), keyed by the model, the messages, the decoding parameters and the seed (which the sampler
  derives from the question and the sample index), so an interrupted or repeated run never pays twice for the same
  sample. An answer the server cut short for its own reasons (DeepSeek's `insufficient_system_resource`, a missing
  finish reason) is retried like a 5xx; any other incomplete answer (`content_filter`, ...) is returned as
  finish_reason error and never cached, so a later run asks again.
- The model name each response reports is checked against `endpoint.served_model` (default: endpoint.model_name):
  an endpoint that serves another model than the one configured fails at the first answer, not after a paid corpus.
  The served names are logged and kept in each cache entry (`served_model`).
- Endpoints that ignore sampling parameters (`endpoint.ignores_sampling`; DeepSeek's thinking-mode models ignore
  temperature and top_p, api-docs.deepseek.com "Reasoning Model" / "Thinking Mode") are refused unless the config
  accepts it (`endpoint.accept_ignored_sampling: true`): the samples would not be drawn as the config says.
- Reasoning endpoints that return the chain of thought apart (`reasoning_content`, or `reasoning`) get it put back
  as `<think>\\n{reasoning}\\n</think>\\n\\n{content}`.
"""

from __future__ import annotations

import email.utils
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from datetime import timezone

from .base import (
    Generation,
    GenerationError,
    SamplingParams,
    expand_seeds,
    join_reasoning,
    normalise_finish_reason,
)
from .cache import JsonCache, cache_key, default_cache_dir

log = logging.getLogger("ded.generation.openai")


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


# Finish reasons of an answer the server stopped for its own, passing reasons: asking again can succeed.
TRANSIENT_FINISH_REASONS = {None, "", "insufficient_system_resource"}
COMPLETE_FINISH_REASONS = {"stop", "length"}
# What DeepSeek's API documents its thinking-mode models to ignore (set without error, without effect).
KNOWN_IGNORED_SAMPLING = {("api.deepseek.com", "deepseek-reasoner"): ("temperature", "top_p")}


def parse_completion(data: dict) -> dict:
    """text, num_tokens, finish_reason (normalised), raw_finish_reason and served_model of one chat completion
    response (raises KeyError/TypeError when malformed)."""
    choice = data["choices"][0]
    message = choice["message"]
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    usage = data.get("usage") or {}
    tokens = usage.get("completion_tokens")
    raw = choice.get("finish_reason")
    return {
        "text": join_reasoning(reasoning, message.get("content")),
        "num_tokens": int(tokens) if tokens is not None else None,
        "finish_reason": normalise_finish_reason(raw),
        "raw_finish_reason": raw,
        "served_model": data.get("model"),
    }


def ignored_sampling(endpoint: dict) -> tuple[str, ...]:
    """Sampling parameters this endpoint ignores: the config's `ignores_sampling`, else what its provider documents."""
    if endpoint.get("ignores_sampling") is not None:
        return tuple(endpoint["ignores_sampling"])
    for (host, name), params in KNOWN_IGNORED_SAMPLING.items():
        if host in str(endpoint.get("base_url", "")) and endpoint.get("model_name") == name:
            return params
    return ()


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class OpenAIBackend:
    name = "openai"

    def __init__(self, model_spec: dict, *, cache_dir: str | os.PathLike | None = None,
                 sleep: Callable[[float], None] = time.sleep, backoff_base_s: float = 1.0,
                 backoff_max_s: float = 120.0, batch_size: int | None = None):
        import httpx

        self._httpx = httpx
        endpoint = dict(model_spec.get("endpoint") or {})
        if not endpoint.get("base_url"):
            raise GenerationError(f"model {model_spec.get('model')!r}: backend 'openai' needs endpoint.base_url")
        self.base_url = endpoint["base_url"].rstrip("/")
        self.url = f"{self.base_url}/chat/completions"
        self.model = model_spec.get("model")
        self.model_name = endpoint.get("model_name") or self.model
        self.served_model = endpoint.get("served_model") or self.model_name
        self.ignored = ignored_sampling(endpoint)
        self.accept_ignored = bool(endpoint.get("accept_ignored_sampling", False))
        self.served_models: dict[str, int] = {}
        self.api_key_env = endpoint.get("api_key_env") or "OPENAI_API_KEY"
        self.concurrency = int(endpoint.get("concurrency") or 8)
        self.max_retries = int(endpoint.get("max_retries", 6))
        self.timeout_s = float(endpoint.get("timeout_s") or 600)
        self.cache = JsonCache(cache_dir or endpoint.get("cache_dir") or default_cache_dir())
        self._sleep = sleep
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.preferred_batch_size = int(batch_size or max(64, 8 * self.concurrency))
        headers = {"Content-Type": "application/json"}
        api_key = os.environ.get(self.api_key_env)
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        else:
            log.warning("%s is not set: requests to %s go without an API key", self.api_key_env, self.base_url)
        self.client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(self.timeout_s),
            limits=httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency),
        )
        self._lock = threading.Lock()
        self.stats = {"requests": 0, "retries": 0, "cache_hits": 0, "cache_misses": 0}

    # -- one request ---------------------------------------------------------------------------------------------
    def _count(self, key: str) -> None:
        with self._lock:
            self.stats[key] += 1

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        delay = min(self.backoff_max_s, self.backoff_base_s * (2 ** attempt))
        delay = delay / 2 + random.uniform(0, delay / 2)  # jitter: parallel workers do not retry in lockstep
        return max(delay, retry_after) if retry_after is not None else delay

    def _post_once(self, payload: dict) -> dict:
        httpx = self._httpx
        self._count("requests")
        try:
            resp = self.client.post(self.url, json=payload)
        except httpx.TimeoutException as exc:
            raise _Retryable(f"timeout after {self.timeout_s:g} s ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise _Retryable(f"connection error ({type(exc).__name__}: {exc})") from exc
        status = resp.status_code
        if status == 429 or status >= 500:
            raise _Retryable(f"HTTP {status}: {resp.text[:200]}", parse_retry_after(resp.headers.get("Retry-After")))
        if status != 200:
            hint = f" (is {self.api_key_env} set to a valid key?)" if status in (401, 403) else ""
            raise GenerationError(f"{self.url}: HTTP {status} for model {self.model_name!r}{hint}; not retried: "
                                  f"{resp.text[:500]}")
        try:
            answer = parse_completion(resp.json())
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise _Retryable(f"malformed response ({type(exc).__name__}: {exc}): {resp.text[:200]}") from exc
        self._check_served_model(answer.get("served_model"))
        if answer["raw_finish_reason"] in TRANSIENT_FINISH_REASONS:
            raise _Retryable(f"answer cut short by the server (finish_reason {answer['raw_finish_reason']!r})")
        return answer

    def _check_served_model(self, served: str | None) -> None:
        with self._lock:
            self.served_models[str(served)] = self.served_models.get(str(served), 0) + 1
        if served is not None and served != self.served_model:
            raise GenerationError(f"{self.url}: asked for {self.model_name!r} (model {self.model!r}), the endpoint "
                                  f"answered as {served!r}; set endpoint.served_model to the name it should report, "
                                  "or point endpoint.base_url/model_name at an endpoint that serves this model")

    def _request(self, payload: dict) -> dict:
        for attempt in range(self.max_retries + 1):
            try:
                return self._post_once(payload)
            except _Retryable as exc:
                if attempt == self.max_retries:
                    if exc.reason.startswith("answer cut short"):
                        # recorded failed (never cached): a later run asks again
                        log.warning("%s: %s after %d attempts; recorded as failed", self.model_name, exc.reason,
                                    attempt + 1)
                        return {"text": "", "num_tokens": None, "finish_reason": "error",
                                "raw_finish_reason": exc.reason, "served_model": None}
                    raise GenerationError(f"{self.url}: model {self.model_name!r}: giving up after "
                                          f"{attempt + 1} attempts; last: {exc.reason}") from exc
                delay = self._backoff(attempt, exc.retry_after)
                self._count("retries")
                log.warning("%s: %s; retry %d/%d in %.1f s", self.model_name, exc.reason, attempt + 1,
                            self.max_retries, delay)
                self._sleep(delay)
        raise AssertionError("unreachable")

    def _fetch(self, key: str, request: dict, payload: dict) -> dict:
        response = self._request(payload)
        if response["finish_reason"] in COMPLETE_FINISH_REASONS:
            self.cache.put(key, request, response)  # saved at once: a later failure elsewhere must not waste it
        else:
            log.warning("%s: incomplete answer (finish_reason %r) not cached", self.model_name,
                        response.get("raw_finish_reason"))
        return response

    def check_sampling(self, params: SamplingParams) -> None:
        """Refuse decoding settings the endpoint would silently ignore, unless the config accepts that."""
        if self.ignored and not self.accept_ignored:
            raise GenerationError(
                f"{self.base_url} model {self.model_name!r} ignores {', '.join(self.ignored)} (asked: "
                f"temperature {params.temperature}, top_p {params.top_p}); its samples would not follow the config. "
                "Serve the model yourself (e.g. vLLM's OpenAI-compatible server), or set "
                "endpoint.accept_ignored_sampling: true to use its own decoding")

    # -- the Backend interface -----------------------------------------------------------------------------------
    def cache_request(self, messages: list[dict], params: SamplingParams, seed: int) -> dict:
        """What identifies one paid generation (its hash is the cache key)."""
        return {"model": self.model, "model_name": self.model_name, "messages": messages,
                "params": params.to_dict(), "seed": int(seed)}

    def payload(self, messages: list[dict], params: SamplingParams, seed: int) -> dict:
        return {"model": self.model_name, "messages": messages, "temperature": params.temperature,
                "top_p": params.top_p, "max_tokens": params.max_new_tokens, "seed": int(seed), "n": 1}

    def generate(self, prompts, params, n: int, seeds) -> list[list[Generation]]:
        params = SamplingParams.from_dict(params)
        self.check_sampling(params)
        seed_grid = expand_seeds(len(prompts), n, seeds)
        responses: dict[tuple[int, int], dict] = {}
        pending = []
        for i, messages in enumerate(prompts):
            for j in range(n):
                request = self.cache_request(messages, params, seed_grid[i][j])
                key = cache_key(request)
                entry = self.cache.get(key)
                if entry is not None and entry["response"].get("finish_reason") == "error":
                    entry = None  # written by an older version that cached failures: ask again
                if entry is not None:
                    self._count("cache_hits")
                    responses[(i, j)] = entry["response"]
                else:
                    self._count("cache_misses")
                    pending.append(((i, j), key, request, self.payload(messages, params, seed_grid[i][j])))
        if pending:
            log.info("%s: %d cached, %d to request (%d at a time)", self.model_name, len(responses), len(pending),
                     self.concurrency)
            with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="openai") as pool:
                futures = {pool.submit(self._fetch, key, request, payload): ij
                           for ij, key, request, payload in pending}
                done, not_done = wait(futures, return_when=FIRST_EXCEPTION)
                failed = [f for f in done if f.exception() is not None]
                if failed:
                    for f in not_done:
                        f.cancel()
                    raise failed[0].exception()
                for f in done:
                    responses[futures[f]] = f.result()
            log.info("%s: served as %s", self.model_name,
                     ", ".join(f"{name} ({count} answers)" for name, count in sorted(self.served_models.items())))
        return [[Generation(responses[(i, j)]["text"], responses[(i, j)]["num_tokens"],
                            responses[(i, j)]["finish_reason"], seed_grid[i][j]) for j in range(n)]
                for i in range(len(prompts))]

    def close(self) -> None:
        self.client.close()
