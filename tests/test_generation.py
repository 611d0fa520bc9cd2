"""Generation backends: transformers on a random tiny model, vLLM through a fake module, OpenAI over loopback HTTP."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
import types
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ded.generation import Generation, GenerationError, SamplingParams, derive_seed, expand_seeds, load_backend
from ded.generation.base import forced_prefix, join_reasoning, normalise_finish_reason, render_prompt
from ded.generation.cache import JsonCache
from ded.generation.openai_backend import parse_retry_after

PROMPTS = [
    [{"role": "user", "content": "What is 12 + 30?"}],
    [{"role": "user", "content": "Write a program that prints the sum of two integers, please."}],
    [{"role": "user", "content": "hi"}],
]


# --- the interface ------------------------------------------------------------------------------------------------
def test_sampling_params_validation():
    assert SamplingParams.from_dict({"temperature": 0.0, "top_p": 1.0, "max_new_tokens": 5}).greedy
    with pytest.raises(ValueError, match="unknown key"):
        SamplingParams.from_dict({"temperature": 0.6, "top_k": 20})
    with pytest.raises(ValueError, match="top_p"):
        SamplingParams(0.6, 0.0, 10)
    with pytest.raises(ValueError, match="max_new_tokens"):
        SamplingParams(0.6, 0.9, 0)
    with pytest.raises(ValueError, match="finish_reason"):
        Generation("x", 1, "eos")


def test_seed_forms():
    assert expand_seeds(2, 3, [1, 2, 3, 4, 5, 6]) == [[1, 2, 3], [4, 5, 6]]
    per_prompt = expand_seeds(2, 3, [7, 8])
    assert per_prompt[0] == [derive_seed(7, j) for j in range(3)] and len(set(per_prompt[0] + per_prompt[1])) == 6
    with pytest.raises(ValueError, match="expected 6 seeds"):
        expand_seeds(2, 3, [1, 2, 3])
    assert derive_seed("a", 1) == derive_seed("a", 1) != derive_seed("a", 2)
    assert 0 <= derive_seed("x") < 2 ** 31


def test_prefix_and_reasoning_helpers():
    assert forced_prefix("<|im_start|>assistant\n<think>\n") == "<think>\n"
    assert forced_prefix("<|im_start|>assistant\n") == ""
    assert join_reasoning("  step 1\n", "\nThe answer is 4.") == "<think>\nstep 1\n</think>\n\nThe answer is 4."
    assert join_reasoning(None, "plain") == "plain"
    assert [normalise_finish_reason(r) for r in ("stop", "length", "abort", None)] == ["stop", "length", "error",
                                                                                        "error"]


def test_load_backend_rejects_bad_names():
    with pytest.raises(ValueError, match="unknown backend"):
        load_backend({"model": "x", "backend": "tgi"})
    with pytest.raises(TypeError, match="unknown option"):
        load_backend({"model": "x"}, temprature=0.5)
    with pytest.raises(GenerationError, match="endpoint.base_url"):
        load_backend({"model": "x", "backend": "openai"})


# --- transformers -------------------------------------------------------------------------------------------------
def test_nucleus_matches_a_full_sort():
    import torch

    from ded.generation.hf import _nucleus_drop

    torch.manual_seed(0)
    logits = torch.cat([torch.randn(6, 300), torch.randn(6, 300) * 12])  # flat rows and peaked rows
    probs = torch.softmax(logits, dim=-1)
    for top_p in (0.5, 0.95):
        sorted_p, order = probs.sort(dim=-1, descending=True)
        drop_sorted = (sorted_p.cumsum(-1) - sorted_p) >= top_p
        expected = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        got = _nucleus_drop(probs, top_p)
        assert torch.equal(got, expected)
        kept_mass = (probs * ~got).sum(-1)
        assert bool((kept_mass >= top_p - 1e-6).all()) and bool((~got).sum(-1).min() >= 1)


@pytest.fixture(scope="module")
def hf_backend(random_tiny_model):
    return load_backend({"model": str(random_tiny_model), "backend": "transformers"}, num_threads=1, batch_size=4)


def test_transformers_shapes_seeds_and_determinism(hf_backend):
    params = SamplingParams(temperature=1.0, top_p=0.95, max_new_tokens=24)
    seeds = list(range(100, 106))
    out = hf_backend.generate(PROMPTS[:3], params, 2, seeds)
    assert [len(o) for o in out] == [2, 2, 2]
    assert [g.seed for o in out for g in o] == seeds
    for g in (g for o in out for g in o):
        assert g.finish_reason in ("stop", "length") and 1 <= g.num_tokens <= 24
        assert g.finish_reason == "stop" or g.num_tokens == 24
    assert len({g.text for o in out for g in o}) == 6  # different seeds, different samples
    again = hf_backend.generate(PROMPTS[:3], params, 2, seeds)
    assert again == out
    # a generation depends on its prompt and seed only, not on its batch (4 per batch here, sorted by length)
    alone = hf_backend.generate([PROMPTS[1]], params, 1, [seeds[3]])
    assert alone[0][0] == out[1][1]
    other = hf_backend.generate([PROMPTS[1]], params, 1, [999])
    assert other[0][0].text != out[1][1].text


def test_transformers_greedy_ignores_seeds(hf_backend):
    params = SamplingParams(temperature=0.0, top_p=1.0, max_new_tokens=12)
    out = hf_backend.generate(PROMPTS[:2], params, 3, [1, 2])
    assert all(len({g.text for g in o}) == 1 for o in out)
    assert all(g.num_tokens == 12 and g.finish_reason == "length" for o in out for g in o)
    assert hf_backend.generate(PROMPTS[:1], params, 1, [42])[0][0].text == out[0][0].text


def test_transformers_decode_loop_matches_generate(hf_backend):
    """The backend's own decode loop (rows leave the batch at their end) gives what transformers' generate() gives
    for the same padded batch: greedy continuations of prompts of different lengths, token for token."""
    import torch

    params = SamplingParams(temperature=0.0, top_p=1.0, max_new_tokens=16)
    ids = [hf_backend.tokenizer(render_prompt(hf_backend.tokenizer, m), add_special_tokens=False)["input_ids"]
           for m in PROMPTS[:3]]
    assert len({len(x) for x in ids}) > 1, "the prompts must need padding"
    ours = hf_backend._generate_batch(ids, [0, 0, 0], params)
    width = max(map(len, ids))
    input_ids = torch.tensor([[hf_backend.pad_id] * (width - len(x)) + x for x in ids])
    mask = torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in ids])
    with torch.no_grad():
        ref = hf_backend.model.generate(input_ids=input_ids, attention_mask=mask, do_sample=False, max_new_tokens=16,
                                        eos_token_id=hf_backend.eos_ids, pad_token_id=hf_backend.pad_id)
    for row, (text, num_tokens, reason) in enumerate(ours):
        toks = ref[row, width:].tolist()
        end = next((k for k, t in enumerate(toks) if t in hf_backend.eos_ids), None)
        expected = toks if end is None else toks[:end]
        assert text == hf_backend.tokenizer.decode(expected, skip_special_tokens=False)
        assert num_tokens == (16 if end is None else end + 1)
        assert reason == ("length" if end is None else "stop")


def test_preallocated_cache_gives_the_texts_of_dynamic_cache(hf_backend, monkeypatch):
    """The preallocated KV cache (rows leaving it as they end) samples the same tokens as transformers'
    DynamicCache, with and without sampling noise; it is the cache the backend uses for a full-attention model."""
    import transformers

    from ded.generation import hf

    assert not isinstance(hf._preallocated_cache(hf_backend.model, 8), transformers.DynamicCache)
    # frequent tokens end rows early, at different steps, so that rows leave the cache
    stoppers = hf_backend.tokenizer.convert_tokens_to_ids(["<think>", "</think>", "<|im_start|>", "<|endoftext|>"])
    monkeypatch.setattr(hf_backend, "eos_ids", hf_backend.eos_ids + stoppers)
    ids = [hf_backend.tokenizer(render_prompt(hf_backend.tokenizer, m), add_special_tokens=False)["input_ids"]
           for m in PROMPTS * 6]
    seeds = list(range(7, 7 + len(ids)))
    cases = [SamplingParams(temperature=1.0, top_p=0.9, max_new_tokens=40),
             SamplingParams(temperature=0.0, top_p=1.0, max_new_tokens=40)]
    ours = [hf_backend._generate_batch(ids, seeds, p) for p in cases]
    assert len({n for _, n, _ in ours[0]}) > 2 and {r for _, _, r in ours[0]} == {"stop", "length"}
    monkeypatch.setattr(hf, "_preallocated_cache", lambda model, new_tokens: transformers.DynamicCache())
    assert [hf_backend._generate_batch(ids, seeds, p) for p in cases] == ours


def test_preallocated_cache_holds_what_dynamic_cache_holds(hf_backend):
    """A prompt, then one position per step, rows dropped on the way: the same keys and values as DynamicCache,
    and an error (not a silent overwrite) past the room it was sized for."""
    import torch
    import transformers

    from ded.generation import hf

    torch.manual_seed(0)
    ours, ref = hf._preallocated_cache(hf_backend.model, 6), transformers.DynamicCache()
    rows = 5
    for step, keep in enumerate([None, None, [0, 2, 3, 4], None, [1, 3], [0], None]):
        if keep is not None:
            for cache in (ours, ref):
                cache.reorder_cache(torch.tensor(keep))
            rows = len(keep)
        k, v = torch.randn(rows, 1, 4 if step == 0 else 1, 16), torch.randn(rows, 1, 4 if step == 0 else 1, 16)
        got, want = ours.update(k, v, 0), ref.update(k, v, 0)
        assert all(torch.equal(g, w) for g, w in zip(got, want))
        assert ours.get_seq_length() == ref.get_seq_length() == 4 + step
    with pytest.raises(RuntimeError, match="room for 10"):
        ours.update(torch.randn(1, 1, 1, 16), torch.randn(1, 1, 1, 16), 0)


def test_transformers_stop_at_eos(random_tiny_model, tmp_path):
    """With extra end-of-sequence tokens (a model whose generation config lists several), each sample is the
    same draw cut at the first of them: finish_reason stop, num_tokens counting the eos, the eos not in the text."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(random_tiny_model)
    stoppers = ["<think>", "</think>", "<|im_start|>", "<|endoftext|>"]
    model_dir = tmp_path / "model"
    shutil.copytree(random_tiny_model, model_dir)
    gen_cfg = json.loads((model_dir / "generation_config.json").read_text())
    gen_cfg["eos_token_id"] = [tok.eos_token_id] + tok.convert_tokens_to_ids(stoppers)
    (model_dir / "generation_config.json").write_text(json.dumps(gen_cfg))

    params = SamplingParams(temperature=1.0, top_p=1.0, max_new_tokens=40)
    seeds = list(range(16))
    prompts = [PROMPTS[0]] * 16
    free = load_backend({"model": str(random_tiny_model)}, num_threads=1).generate(prompts, params, 1, seeds)
    cut = load_backend({"model": str(model_dir)}, num_threads=1).generate(prompts, params, 1, seeds)
    reasons = set()
    for [f], [c] in zip(free, cut):
        hits = [f.text.index(s) for s in stoppers if s in f.text]
        if hits:
            assert c.finish_reason == "stop" and c.text == f.text[:min(hits)]
            assert c.num_tokens < 40 and not any(s in c.text for s in stoppers)
        else:
            assert c == f
        reasons.add(c.finish_reason)
    assert reasons == {"stop", "length"}  # both cases were exercised


# --- vLLM through a fake module -----------------------------------------------------------------------------------
class _FakeVLLM(types.ModuleType):
    """Records what the adapter asks of vLLM's documented offline API."""

    def __init__(self, tokenizer):
        super().__init__("vllm")
        fake = self
        self.init_kwargs = None
        self.generate_calls = []
        self.shutdowns = 0

        class SamplingParams:
            def __init__(self, **kwargs):
                self.kwargs = kwargs

        class EngineCore:  # vLLM 0.33: LLM.llm_engine.engine_core is the EngineCoreClient
            def shutdown(self, timeout=None):
                fake.shutdowns += 1

        class LLM:
            def __init__(self, **kwargs):
                fake.init_kwargs = kwargs
                self.llm_engine = types.SimpleNamespace(engine_core=EngineCore())
                self.model_config = types.SimpleNamespace(max_model_len=kwargs.get("max_model_len"))

            def get_tokenizer(self):
                return tokenizer

            def generate(self, prompts, sampling_params=None, use_tqdm=True):
                fake.generate_calls.append((prompts, sampling_params))
                outs = []
                for k, (prompt, sp) in enumerate(zip(prompts, sampling_params)):
                    seed = sp.kwargs["seed"]
                    completion = types.SimpleNamespace(
                        text=f"reply seed={seed}", token_ids=list(range(3 + k)),
                        finish_reason=["stop", "length", "abort"][k % 3])
                    outs.append(types.SimpleNamespace(prompt_token_ids=prompt["prompt_token_ids"],
                                                      outputs=[completion]))
                return outs

        self.LLM = LLM
        self.SamplingParams = SamplingParams


def test_vllm_adapter_with_fake_module(random_tiny_model, monkeypatch):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(random_tiny_model)
    tok.chat_template = tok.chat_template + "{% if add_generation_prompt %}{{ '<think>\n' }}{% endif %}"
    fake = _FakeVLLM(tok)
    monkeypatch.setitem(sys.modules, "vllm", fake)
    spec = {"model": "Qwen/QwQ-32B", "revision": "abc123", "backend": "vllm", "tensor_parallel_size": 8,
            "max_model_len": 40960, "display_name": "QwQ"}
    backend = load_backend(spec, seed=1234, num_threads=3)  # num_threads is for transformers: ignored here
    assert fake.init_kwargs == {"model": "Qwen/QwQ-32B", "revision": "abc123", "tensor_parallel_size": 8,
                                "max_model_len": 40960, "seed": 1234}
    out = backend.generate(PROMPTS[:2], SamplingParams(0.6, 0.95, 128), 2, [11, 12, 13, 14])
    prompts, sps = fake.generate_calls[0]
    assert len(fake.generate_calls) == 1 and len(prompts) == len(sps) == 4
    assert [sp.kwargs for sp in sps] == [{"n": 1, "temperature": 0.6, "top_p": 0.95, "max_tokens": 128, "seed": s}
                                         for s in (11, 12, 13, 14)]
    text0 = tok.apply_chat_template(PROMPTS[0], tokenize=False, add_generation_prompt=True)
    assert prompts[0]["prompt_token_ids"] == tok(text0, add_special_tokens=False)["input_ids"]
    assert prompts[0] == prompts[1] != prompts[2]
    flat = [g for o in out for g in o]
    assert [g.seed for g in flat] == [11, 12, 13, 14]
    assert [g.finish_reason for g in flat] == ["stop", "length", "error", "stop"]
    assert [g.num_tokens for g in flat] == [3, 4, 5, 6]
    assert flat[0].text == "<think>\nreply seed=11"  # the template's forced opening is part of the response
    greedy = backend.generate(PROMPTS[:1], SamplingParams(0.0, 0.95, 8), 1, [5])
    assert fake.generate_calls[-1][1][0].kwargs["top_p"] == 1.0 and greedy[0][0].seed == 5
    # callers give vLLM everything they have in one call (no chunk waits for its longest tail)
    from ded.evaluate import generate_responses

    tasks = [{"id": f"t{i}", "domain": "math", "question": f"What is {i} + 1?", "answer": str(i + 1)}
             for i in range(40)]
    calls = len(fake.generate_calls)
    gens = generate_responses(backend, tasks, benchmark="b", params={"temperature": 0.6, "top_p": 0.95,
                                                                      "max_new_tokens": 16}, n=16, seed=0)
    assert len(fake.generate_calls) == calls + 1 and len(fake.generate_calls[-1][0]) == 40 * 16
    assert [len(g) for g in gens] == [16] * 40
    # close() shuts the engine down (its processes hold the GPU memory), once; the backend is then unusable
    backend.close()
    backend.close()
    assert fake.shutdowns == 1
    with pytest.raises(GenerationError, match="after close"):
        backend.generate(PROMPTS[:1], SamplingParams(0.6, 0.95, 8), 1, [1])


def test_vllm_data_parallel_in_one_process_is_refused():
    from ded.generation.vllm_backend import engine_kwargs

    with pytest.raises(GenerationError, match="separate jobs"):
        engine_kwargs({"model": "m"}, llm_kwargs={"data_parallel_size": 2})
    assert engine_kwargs({"model": "m", "max_model_len": 16384, "tensor_parallel_size": 2}, seed=3) == {
        "model": "m", "tensor_parallel_size": 2, "max_model_len": 16384, "seed": 3}


def test_vllm_missing_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)
    with pytest.raises(GenerationError, match="GPU environment"):
        load_backend({"model": "Qwen/QwQ-32B", "backend": "vllm"})


# --- OpenAI-compatible endpoint over loopback HTTP ----------------------------------------------------------------
class _Server:
    """A chat-completions server whose behaviour depends on the prompt's prefix (fault injection)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = 0
        self.attempts: dict[str, int] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        self.auth = set()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body, headers=()):
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    for k, v in headers:
                        self.send_header(k, v)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                prompt = body["messages"][-1]["content"]
                with server.lock:
                    server.requests += 1
                    attempt = server.attempts[prompt] = server.attempts.get(prompt, 0) + 1
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                    server.auth.add(self.headers.get("Authorization"))
                try:
                    self._answer(body, prompt, attempt)
                finally:
                    with server.lock:
                        server.in_flight -= 1

            def _answer(self, body, prompt, attempt):
                time.sleep(0.05)
                if self.path != "/v1/chat/completions":
                    return self._send(404, {"error": {"message": f"no route {self.path}"}})
                if prompt.startswith("429") and attempt == 1:
                    return self._send(429, {"error": {"message": "slow down"}}, [("Retry-After", "1")])
                if prompt.startswith("500") and attempt <= 2:
                    return self._send(500, {"error": {"message": "internal"}})
                if prompt.startswith("down"):
                    return self._send(503, {"error": {"message": "overloaded"}})
                if prompt.startswith("slow") and attempt == 1:
                    time.sleep(2.5)  # beyond the client's timeout
                if prompt.startswith("bad"):
                    return self._send(400, {"error": {"message": "prompt rejected by policy"}})
                message = {"role": "assistant", "content": f"echo {prompt} seed={body['seed']} T={body['temperature']}"}
                if prompt.startswith("reason"):
                    message = {"role": "assistant", "reasoning_content": "2 + 2 = 4", "content": "\\boxed{4}"}
                finish = "length" if prompt.startswith("long") else "stop"
                if prompt.startswith("busy") and attempt == 1:
                    finish = "insufficient_system_resource"  # DeepSeek's finish reason for an overloaded server
                if prompt.startswith("filtered"):
                    finish = "content_filter"
                served = "deepseek-chat" if prompt.startswith("imposter") else body["model"]
                self._send(200, {"id": "x", "object": "chat.completion", "model": served,
                                 "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                                 "usage": {"prompt_tokens": 5, "completion_tokens": 7 + attempt}})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    srv = _Server()
    yield srv
    srv.close()


def _openai(server, tmp_path, sleeps, **endpoint):
    spec = {"model": "deepseek-ai/DeepSeek-R1", "backend": "openai",
            "endpoint": {"base_url": server.base_url, "model_name": "deepseek-reasoner", "api_key_env": "DED_TEST_KEY",
                         "concurrency": 2, "max_retries": 3, "timeout_s": 1.0, **endpoint}}
    return load_backend(spec, cache_dir=tmp_path / "cache", sleep=sleeps.append, backoff_base_s=0.01)


def _msgs(*texts):
    return [[{"role": "user", "content": t}] for t in texts]


def test_openai_retries_concurrency_and_cache(server, tmp_path, monkeypatch):
    monkeypatch.setenv("DED_TEST_KEY", "sk-test")
    sleeps: list[float] = []
    backend = _openai(server, tmp_path, sleeps)
    prompts = _msgs("plain a", "plain b", "429 then fine", "500 twice", "slow once", "reason", "long one", "plain c")
    params = SamplingParams(0.6, 0.95, 64)
    out = backend.generate(prompts, params, 1, [10, 11, 12, 13, 14, 15, 16, 17])
    texts = [o[0].text for o in out]
    assert texts[0] == "echo plain a seed=10 T=0.6"
    assert texts[2] == "echo 429 then fine seed=12 T=0.6" and texts[4] == "echo slow once seed=14 T=0.6"
    assert texts[5] == "<think>\n2 + 2 = 4\n</think>\n\n\\boxed{4}"
    assert [o[0].finish_reason for o in out] == ["stop"] * 6 + ["length", "stop"]
    assert [o[0].seed for o in out] == list(range(10, 18))
    # 429 once, 500 twice, one timeout: each retried until it succeeded; num_tokens from usage.completion_tokens
    assert server.attempts == {"plain a": 1, "plain b": 1, "429 then fine": 2, "500 twice": 3, "slow once": 2,
                               "reason": 1, "long one": 1, "plain c": 1}
    assert out[3][0].num_tokens == 7 + 3 and out[0][0].num_tokens == 8
    assert len(sleeps) == 4 and max(sleeps) >= 1.0  # the Retry-After: 1 was honoured
    assert 2 == server.max_in_flight  # bounded by endpoint.concurrency, and used
    assert server.auth == {"Bearer sk-test"}
    backend.close()

    # a rerun pays nothing: every answer comes from the cache
    before = server.requests
    again = _openai(server, tmp_path, [])
    assert again.generate(prompts, params, 1, [10, 11, 12, 13, 14, 15, 16, 17]) == out
    assert server.requests == before and again.stats["cache_hits"] == 8
    assert len(JsonCache(tmp_path / "cache")) == 8
    # another seed (another sample) or other parameters are new requests
    again.generate(prompts[:1], params, 1, [99])
    again.generate(prompts[:1], SamplingParams(0.7, 0.95, 64), 1, [10])
    assert server.requests == before + 2


def test_openai_client_error_is_not_retried(server, tmp_path, monkeypatch):
    monkeypatch.delenv("DED_TEST_KEY", raising=False)
    sleeps: list[float] = []
    backend = _openai(server, tmp_path, sleeps, concurrency=1)
    with pytest.raises(GenerationError, match=r"HTTP 400.*not retried.*prompt rejected by policy"):
        backend.generate(_msgs("plain first", "bad request"), SamplingParams(0.6, 0.95, 16), 1, [1, 2])
    assert server.attempts["bad request"] == 1 and sleeps == []
    assert server.auth == {None}  # no key in the environment: no Authorization header
    # what was paid before the failure is kept
    assert len(JsonCache(tmp_path / "cache")) == 1


def test_openai_gives_up_after_max_retries(server, tmp_path):
    sleeps: list[float] = []
    backend = _openai(server, tmp_path, sleeps, max_retries=2)
    with pytest.raises(GenerationError, match=r"giving up after 3 attempts; last: HTTP 503"):
        backend.generate(_msgs("down forever"), SamplingParams(0.6, 0.95, 16), 1, [1])
    assert server.attempts["down forever"] == 3 and len(sleeps) == 2
    assert sleeps[1] > sleeps[0] * 0.5  # exponential (with jitter) rather than constant


def test_openai_caches_only_complete_answers(server, tmp_path):
    sleeps: list[float] = []
    backend = _openai(server, tmp_path, sleeps)
    params = SamplingParams(0.6, 0.95, 16)
    out = backend.generate(_msgs("busy server", "filtered prompt", "long answer"), params, 1, [1, 2, 3])
    busy, filtered, long_ = (o[0] for o in out)
    # a server-side cut (insufficient_system_resource) is retried like a 5xx, and the complete answer cached
    assert busy.finish_reason == "stop" and server.attempts["busy server"] == 2 and len(sleeps) == 1
    # any other incomplete answer is recorded failed, and never cached
    assert filtered.finish_reason == "error" and server.attempts["filtered prompt"] == 1
    assert long_.finish_reason == "length"
    assert len(backend.cache) == 2
    entries = [json.loads(p.read_text()) for p in (tmp_path / "cache").glob("*/*.json")]
    assert {e["response"]["served_model"] for e in entries} == {"deepseek-reasoner"}
    again = _openai(server, tmp_path, sleeps)
    out2 = again.generate(_msgs("busy server", "filtered prompt", "long answer"), params, 1, [1, 2, 3])
    assert (out2[0][0], out2[2][0]) == (busy, long_)  # from the cache
    assert out2[1][0].finish_reason == "error" and out2[1][0].num_tokens == 7 + 2  # asked again (attempt 2)
    assert server.attempts == {"busy server": 2, "filtered prompt": 2, "long answer": 1}  # only the failure again


def test_openai_checks_the_served_model_and_ignored_sampling(server, tmp_path):
    sleeps: list[float] = []
    with pytest.raises(GenerationError, match="answered as 'deepseek-chat'"):
        _openai(server, tmp_path, sleeps).generate(_msgs("imposter"), SamplingParams(0.6, 0.95, 16), 1, [1])
    assert server.attempts["imposter"] == 1 and len(_openai(server, tmp_path, sleeps).cache) == 0  # not retried
    ignoring = _openai(server, tmp_path, sleeps, ignores_sampling=["temperature", "top_p"])
    with pytest.raises(GenerationError, match="ignores temperature, top_p"):
        ignoring.generate(_msgs("hello"), SamplingParams(0.6, 0.95, 16), 1, [1])
    assert "hello" not in server.attempts  # refused before anything was paid for
    accepted = _openai(server, tmp_path, sleeps, ignores_sampling=["temperature"], accept_ignored_sampling=True)
    assert accepted.generate(_msgs("hello"), SamplingParams(0.6, 0.95, 16), 1, [1])[0][0].finish_reason == "stop"
    from ded.generation.openai_backend import ignored_sampling

    assert ignored_sampling({"base_url": "https://api.deepseek.com/v1", "model_name": "deepseek-reasoner"}) == (
        "temperature", "top_p")
    assert ignored_sampling({"base_url": "http://localhost:8000/v1", "model_name": "deepseek-ai/DeepSeek-R1"}) == ()


def test_retry_after_forms():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    now = time.time()
    assert 25 <= parse_retry_after(formatdate(now + 30, usegmt=True), now=now) <= 31


def test_generation_jobs_do_not_import_sklearn_but_may_use_it():
    code = ("import sys; from ded.runtime import skip_unused_imports_in_transformers; "
            "skip_unused_imports_in_transformers(); "
            "from transformers import AutoModelForCausalLM; import transformers.generation.candidate_generator; "
            "import transformers.loss.loss_utils; print('sklearn' in sys.modules, 'scipy' in sys.modules); "
            "from sklearn.decomposition import PCA; print(PCA.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False", "PCA"]
