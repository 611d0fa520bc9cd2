"""Token entropy of the student's predictive distribution over a teacher's corpus (the paper's Figure 3).

Each corpus response is teacher-forced after its prompt (rendered by the student's chat template); at every response
position the entropy H = -sum_v p(v) log p(v) (nats) of the student's next-token distribution is taken. A lower
entropy means the student finds the teacher's text more predictable (the paper's "affinity").

Memory: a 16k-token response with a 152k-token vocabulary would need 16k x 152k x 4 B = 10 GB of float32 logits
(and twice as much again for the softmax). The LM head is therefore applied to `chunk_size` positions of the final
hidden states at a time: at most three chunk x vocabulary float32 buffers exist at once (`chunk_bytes`; 0.47 GB for
256 positions, 1.9 GB for 1024). benchmarks/entropy_memory.py measures it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ded.io import DataError, iter_jsonl, write_text

log = logging.getLogger("ded.analysis.entropy")

THINK_OPEN = "<think>"


def entropy_from_logits(logits):
    """Entropy (nats, float32) of softmax(logits) along the last axis."""
    import torch

    logp = torch.log_softmax(logits.float(), dim=-1)
    p = logp.exp()
    # 0 * log 0: a -inf logit (masked token) gives nan here and contributes nothing
    return -p.mul_(logp).nan_to_num_(0.0).sum(dim=-1)


def chunked_token_entropy(hidden, lm_head, chunk_size: int):
    """Entropy at every row of `hidden` ([T, H] final hidden states) through `lm_head`, chunk_size rows at a time.

    Returns a float32 CPU tensor [T]; never holds more than chunk_size x vocabulary logits.
    """
    import torch

    if chunk_size < 1:
        raise ValueError(f"analysis.entropy.chunk_size: expected a positive integer, got {chunk_size}")
    out = []
    with torch.no_grad():
        for start in range(0, hidden.shape[0], chunk_size):
            logits = lm_head(hidden[start:start + chunk_size])
            out.append(entropy_from_logits(logits).cpu())
            del logits
    return torch.cat(out) if out else torch.empty(0, dtype=torch.float32)


def unchunked_token_entropy(hidden, lm_head):
    """The reference computation (all logits at once): for tests and the memory benchmark."""
    import torch

    with torch.no_grad():
        return entropy_from_logits(lm_head(hidden)).cpu()


def chunk_bytes(chunk_size: int, vocab_size: int) -> int:
    """Peak bytes of one chunk's entropy: the logits, log-probabilities and probabilities, float32."""
    return 3 * chunk_size * vocab_size * 4


def encode_pair(tokenizer, prompt: str, response: str) -> tuple[list[int], list[int]]:
    """Token ids of the chat-templated prompt (with the assistant header) and of the response, as in SFT."""
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError(f"tokenizer {getattr(tokenizer, 'name_or_path', '?')}: has no chat template")
    prompt_text = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                                add_generation_prompt=True)
    # templates that open the thinking block themselves (DeepSeek-R1-Distill) must not see it twice
    if prompt_text.rstrip().endswith(THINK_OPEN) and response.lstrip().startswith(THINK_OPEN):
        response = response.lstrip()[len(THINK_OPEN):].lstrip("\n")
    prompt_ids = tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
    response_ids = tokenizer(response, add_special_tokens=False)["input_ids"]
    return list(prompt_ids), list(response_ids)


def response_entropy(model, prompt_ids: list[int], response_ids: list[int], chunk_size: int):
    """Entropy of the model's prediction of each response token (teacher forcing), float32 CPU tensor."""
    import torch

    from ded.analysis.loading import decoder_of, input_device

    if not prompt_ids:
        raise ValueError("empty prompt: the first response token would have no prediction")
    if not response_ids:
        return torch.empty(0, dtype=torch.float32)
    ids = torch.tensor([prompt_ids + response_ids], device=input_device(model))
    with torch.inference_mode():
        hidden = decoder_of(model)(input_ids=ids, use_cache=False).last_hidden_state[0]
        # position i predicts token i + 1: the response tokens are predicted from len(prompt) - 1 on
        start = len(prompt_ids) - 1
        hidden = hidden[start:start + len(response_ids)]
        return chunked_token_entropy(hidden, model.get_output_embeddings(), chunk_size)


def corpus_token_entropies(model, tokenizer, corpus_path, chunk_size: int,
                           max_examples: int | None = None) -> tuple[np.ndarray, list[dict]]:
    """All response-token entropies of a corpus (first max_examples rows), and per response its question,
    sample index, token count and mean entropy (the paired entropy claim compares corpora question by question)."""
    values, responses = [], []
    for row in iter_jsonl(corpus_path, required=("prompt", "response")):
        if max_examples is not None and len(responses) >= max_examples:
            break
        prompt_ids, response_ids = encode_pair(tokenizer, row["prompt"], row["response"])
        entropies = response_entropy(model, prompt_ids, response_ids, chunk_size).numpy()
        values.append(entropies)
        responses.append({"question_id": row.get("question_id", ""), "sample_index": row.get("sample_index", 0),
                          "n_tokens": int(entropies.size),
                          "mean_entropy": float(entropies.mean()) if entropies.size else float("nan")})
    return (np.concatenate(values) if values else np.empty(0, dtype=np.float32)), responses


def summarise(values: np.ndarray) -> dict:
    if values.size == 0:
        return {"n_tokens": 0, "mean": float("nan"), "median": float("nan")}
    return {"n_tokens": int(values.size), "mean": float(values.mean()), "median": float(np.median(values))}


def histogram_rows(per_teacher: dict[str, np.ndarray], bins: int, corpus: str) -> list[dict]:
    """Histograms on shared edges from 0 to the largest entropy seen (density integrates to 1 per teacher)."""
    top = max((float(v.max()) for v in per_teacher.values() if v.size), default=1.0)
    edges = np.linspace(0.0, max(top, 1e-6), bins + 1)
    rows = []
    for teacher, values in per_teacher.items():
        counts, _ = np.histogram(values, bins=edges)
        width = np.diff(edges)
        total = max(int(values.size), 1)
        for i, count in enumerate(counts):
            rows.append({"teacher": teacher, "corpus": corpus, "bin_left": edges[i], "bin_right": edges[i + 1],
                         "count": int(count), "density": count / (total * width[i])})
    return rows


def run_token_entropy(*, corpora: dict[str, str], model: str, tokenizer: str | None = None,
                      revision: str | None = None, out_entropy: str, out_hist: str, out_responses: str,
                      chunk_size: int, bins: int, corpus_label: str, max_examples: int | None = None) -> None:
    """Rule token_entropy: one student, one corpus per teacher -> entropy.csv, entropy_hist.csv and
    entropy_responses.csv (one line per response)."""
    import pandas as pd

    from ded.analysis.loading import load_causal_lm, load_tokenizer

    for teacher, path in corpora.items():
        if not Path(path).exists():
            raise DataError(f"{path}: corpus of teacher '{teacher}' is missing")
    lm = load_causal_lm(model, revision=revision)
    tok = load_tokenizer(tokenizer or model, revision=None if tokenizer else revision)
    per_teacher, summary, per_response = {}, [], []
    for teacher, path in corpora.items():
        values, responses = corpus_token_entropies(lm, tok, path, chunk_size, max_examples)
        n = len(responses)
        per_teacher[teacher] = values
        per_response += [{"teacher": teacher, **r} for r in responses]
        stats = summarise(values)
        log.info("%s: %d responses, %d tokens, mean %.4f, median %.4f", teacher, n, stats["n_tokens"],
                 stats["mean"], stats["median"])
        summary.append({"teacher": teacher, "corpus": corpus_label, "n_responses": n, **stats})
    columns = ["teacher", "corpus", "n_responses", "n_tokens", "mean", "median"]
    write_text(out_entropy, pd.DataFrame(summary, columns=columns).to_csv(index=False))
    response_columns = ["teacher", "question_id", "sample_index", "n_tokens", "mean_entropy"]
    write_text(out_responses, pd.DataFrame(per_response, columns=response_columns).to_csv(index=False))
    hist_columns = ["teacher", "corpus", "bin_left", "bin_right", "count", "density"]
    write_text(out_hist, pd.DataFrame(histogram_rows(per_teacher, bins, corpus_label), columns=hist_columns)
               .to_csv(index=False))
