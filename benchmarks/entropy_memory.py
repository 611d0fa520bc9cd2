"""Peak memory of the chunked token entropy (ded.analysis.entropy) at the paper's sizes.

A random Qwen2 model with the paper's vocabulary (152,064 tokens, as DeepSeek-R1-Distill-Qwen-32B) but a tiny body
reads one 16k-token sequence (a short prompt and a 16k-token response, the paper's length filter) and the entropy of
every response position is computed in chunks of positions. Printed: the peak memory of that computation (process
RSS on CPU, allocated memory on a GPU) against the 2 GB target, and what the unchunked computation would need (its
three float32 [positions x vocabulary] buffers: logits, log-probabilities, probabilities), estimated, or measured
with --unchunked where the machine has the memory.

    .venv/bin/python benchmarks/entropy_memory.py                     # CPU, chunk 256: about a minute on 2 cores
    .venv/bin/python benchmarks/entropy_memory.py --chunk-size 1024 --device cuda --unchunked

Exit status 1 when the chunked peak is over --target-gb.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

GIB = 1024 ** 3


def rss_peak_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024      # Linux: kilobytes


def build_model(vocab: int, hidden: int, layers: int, seq_len: int, device: str):
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    cfg = Qwen2Config(vocab_size=vocab, hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
                      num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False,
                      max_position_embeddings=seq_len + 8)
    cfg._attn_implementation = "sdpa"
    return Qwen2ForCausalLM(cfg).to(device).eval()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vocab", type=int, default=152064)
    ap.add_argument("--seq-len", type=int, default=16384)
    ap.add_argument("--prompt-len", type=int, default=64)
    ap.add_argument("--chunk-size", type=int, default=256)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--device", default="auto", help="cpu, cuda or auto")
    ap.add_argument("--unchunked", action="store_true", help="also run the unchunked computation (needs memory)")
    ap.add_argument("--target-gb", type=float, default=2.0)
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args(argv)

    import torch

    from ded.analysis.entropy import (
        chunk_bytes,
        response_entropy,
        unchunked_token_entropy,
    )
    from ded.analysis.loading import decoder_of

    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    torch.set_num_threads(max(1, torch.get_num_threads()))
    model = build_model(args.vocab, args.hidden, args.layers, args.seq_len, device)
    ids = torch.randint(0, args.vocab, (args.seq_len,)).tolist()
    prompt, response = ids[:args.prompt_len], ids[args.prompt_len:]

    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        baseline = torch.cuda.memory_allocated()
    else:
        baseline = rss_peak_bytes()
    started = time.perf_counter()
    values = response_entropy(model, prompt, response, args.chunk_size)
    seconds = time.perf_counter() - started
    peak = torch.cuda.max_memory_allocated() if device == "cuda" else rss_peak_bytes()

    n = len(response)
    out = {
        "device": device if device == "cpu" else torch.cuda.get_device_name(),
        "vocab": args.vocab, "positions": n, "chunk_size": args.chunk_size,
        "peak_gb": peak / GIB,
        "peak_over_baseline_gb": (peak - baseline) / GIB,
        "measure": "allocated GPU memory" if device == "cuda" else "process peak RSS (model and Python included)",
        "seconds": seconds,
        "chunk_buffers_gb": chunk_bytes(args.chunk_size, args.vocab) / GIB,
        "unchunked_buffers_gb_estimate": chunk_bytes(n, args.vocab) / GIB,
        "mean_entropy": float(values.mean()),
    }
    if args.unchunked:
        with torch.inference_mode():
            ids_t = torch.tensor([prompt + response], device=device)
            hidden = decoder_of(model)(input_ids=ids_t, use_cache=False).last_hidden_state[0][len(prompt) - 1:-1]
            if device == "cuda":
                torch.cuda.reset_peak_memory_stats()
            full = unchunked_token_entropy(hidden, model.get_output_embeddings())
        out["unchunked_peak_gb"] = (torch.cuda.max_memory_allocated() if device == "cuda" else rss_peak_bytes()) / GIB
        out["max_abs_difference"] = float((full - values).abs().max())
    ok = out["peak_gb"] < args.target_gb
    for key, value in out.items():
        print(f"{key:32s} {value:.4g}" if isinstance(value, float) else f"{key:32s} {value}")
    print(f"{'target':32s} peak under {args.target_gb} GB: {'yes' if ok else 'NO'}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({**out, "target_gb": args.target_gb, "ok": ok}, fh, indent=2)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
