"""Token entropy (Figure 3) and PCA shift (Figure 4) on constructed distributions and a random tiny model."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from ded.analysis import entropy as ent
from ded.analysis import pca
from ded.io import DataError, write_jsonl


# ---------------------------------------------------------------------------------------------------------------
# Entropy
# ---------------------------------------------------------------------------------------------------------------
def test_entropy_of_known_distributions():
    v = 1000
    uniform = torch.zeros(3, v)
    assert torch.allclose(ent.entropy_from_logits(uniform), torch.full((3,), math.log(v)), atol=1e-5)
    certain = torch.full((1, v), -float("inf"))
    certain[0, 7] = 0.0
    assert ent.entropy_from_logits(certain).item() == 0.0
    two = torch.tensor([[0.0, 0.0, -float("inf"), -float("inf")]])      # a fair coin
    assert ent.entropy_from_logits(two).item() == pytest.approx(math.log(2))
    p = torch.tensor([0.7, 0.2, 0.1])
    assert ent.entropy_from_logits(p.log()[None]).item() == pytest.approx(float(-(p * p.log()).sum()), rel=1e-6)


@pytest.mark.parametrize("chunk", [1, 7, 64, 1000])
def test_chunked_equals_unchunked(chunk):
    torch.manual_seed(0)
    head = torch.nn.Linear(16, 301, bias=False)
    hidden = torch.randn(64, 16) * 3
    full = ent.unchunked_token_entropy(hidden, head)
    chunked = ent.chunked_token_entropy(hidden, head, chunk)
    assert chunked.shape == (64,) and chunked.dtype == torch.float32
    assert torch.allclose(chunked, full, atol=1e-6)
    assert float(full.min()) > 0 and float(full.max()) < math.log(301)


def test_chunk_size_must_be_positive():
    with pytest.raises(ValueError, match="chunk_size"):
        ent.chunked_token_entropy(torch.zeros(2, 4), torch.nn.Linear(4, 5), 0)


@pytest.fixture(scope="module")
def tiny(random_tiny_model):
    from ded.analysis.loading import load_causal_lm, load_tokenizer

    return load_causal_lm(str(random_tiny_model), device="cpu"), load_tokenizer(str(random_tiny_model))


def test_response_positions_follow_the_chat_template(tiny):
    _, tok = tiny
    prompt_ids, response_ids = ent.encode_pair(tok, "What is 12 + 30?", "<think>\n12 + 30 = 42\n</think>\n\n42")
    rendered = tok.decode(prompt_ids)
    assert rendered.startswith("<|im_start|>user\nWhat is 12 + 30?") and rendered.endswith("<|im_start|>assistant\n")
    assert tok.decode(response_ids).startswith("<think>")


def test_uniform_head_gives_log_vocab_on_every_response_token(random_tiny_model, tmp_path):
    """A zero LM head predicts the uniform distribution: entropy log V at each of the response's positions."""
    from ded.analysis.loading import load_causal_lm, load_tokenizer

    model = load_causal_lm(str(random_tiny_model), device="cpu")
    tok = load_tokenizer(str(random_tiny_model))
    with torch.no_grad():
        model.get_output_embeddings().weight.zero_()
    vocab = model.get_output_embeddings().weight.shape[0]
    prompt_ids, response_ids = ent.encode_pair(tok, "What is 12 + 30?", "12 + 30 = 42. The answer is 42.")
    values = ent.response_entropy(model, prompt_ids, response_ids, chunk_size=3)
    assert values.shape == (len(response_ids),)
    assert torch.allclose(values, torch.full_like(values, math.log(vocab)), atol=1e-4)


def test_response_entropy_matches_the_full_forward(tiny):
    """Chunked entropy over the decoder's hidden states = entropy of the model's own logits at those positions."""
    model, tok = tiny
    prompt_ids, response_ids = ent.encode_pair(tok, "print the sum", "print(sum(map(int, input().split())))")
    values = ent.response_entropy(model, prompt_ids, response_ids, chunk_size=4)
    with torch.no_grad():
        logits = model(torch.tensor([prompt_ids + response_ids])).logits[0]
    ref = ent.entropy_from_logits(logits[len(prompt_ids) - 1:-1])
    assert torch.allclose(values, ref, atol=1e-5)


def test_run_token_entropy_writes_summary_and_histogram(random_tiny_model, tiny, tmp_path):
    _, tok = tiny
    responses = {"concise": ["12 + 30 = 42. \\boxed{42}", "x = 3"],
                 "verbose": ["Let me think. 12 + 30 is 42, so the answer is \\boxed{42}.", "so x is 3", "ok"]}
    corpora = {}
    for teacher, texts in responses.items():
        path = tmp_path / teacher / "math" / "first.jsonl"
        path.parent.mkdir(parents=True)
        write_jsonl(path, [{"question_id": f"q{i}", "domain": "math", "teacher": teacher, "sample_index": 0,
                            "prompt": "What is 12 + 30?", "response": text, "num_tokens": 5}
                           for i, text in enumerate(texts)])
        corpora[teacher] = str(path)
    out, hist, per = tmp_path / "entropy.csv", tmp_path / "entropy_hist.csv", tmp_path / "entropy_responses.csv"
    ent.run_token_entropy(corpora=corpora, model=str(random_tiny_model), out_entropy=str(out), out_hist=str(hist),
                          out_responses=str(per), chunk_size=5, bins=10, corpus_label="math/first", max_examples=2)
    summary = pd.read_csv(out)
    assert list(summary["teacher"]) == ["concise", "verbose"]
    assert list(summary["n_responses"]) == [2, 2]                    # max_examples cuts verbose's third
    expected = [sum(len(ent.encode_pair(tok, "What is 12 + 30?", t)[1]) for t in texts[:2])
                for texts in responses.values()]
    assert list(summary["n_tokens"]) == expected
    assert (summary["median"] > 0).all() and (summary["mean"] < math.log(len(tok))).all()
    h = pd.read_csv(hist)
    assert h.groupby("teacher")["count"].sum().to_dict() == dict(zip(responses, expected))
    for _, g in h.groupby("teacher"):
        assert float((g["density"] * (g["bin_right"] - g["bin_left"])).sum()) == pytest.approx(1.0)
    # one line per response, whose token-weighted mean is the corpus mean (the paired entropy claim reads these)
    responses = pd.read_csv(per)
    assert list(responses["question_id"]) == ["q0", "q1", "q0", "q1"]
    for teacher, g in responses.groupby("teacher"):
        weighted = float((g["mean_entropy"] * g["n_tokens"]).sum() / g["n_tokens"].sum())
        assert weighted == pytest.approx(float(summary.set_index("teacher").loc[teacher, "mean"]), rel=1e-5)


def test_missing_corpus_is_named(random_tiny_model, tmp_path):
    with pytest.raises(DataError, match="nope.jsonl: corpus of teacher 'concise' is missing"):
        ent.run_token_entropy(corpora={"concise": str(tmp_path / "nope.jsonl")}, model=str(random_tiny_model),
                              out_entropy=str(tmp_path / "e.csv"), out_hist=str(tmp_path / "h.csv"),
                              out_responses=str(tmp_path / "r.csv"), chunk_size=4, bins=4, corpus_label="math/first")


# ---------------------------------------------------------------------------------------------------------------
# PCA shift
# ---------------------------------------------------------------------------------------------------------------
def test_pca_shift_of_a_known_translation():
    """Moving every text by c along the base's first component shifts the centroid by exactly c."""
    rng = np.random.default_rng(0)
    base = rng.normal(size=(3, 20, 8)) * np.array([5, 2, 1, 1, 1, 1, 1, 1])
    from sklearn.decomposition import PCA

    tuned = base.copy()
    for layer in range(3):
        direction = PCA(2).fit(base[layer]).components_[0]
        tuned[layer] += (layer + 1) * direction
    shift = pca.pca_shift(base, tuned)
    assert shift.distances == pytest.approx([1.0, 2.0, 3.0], abs=1e-9)
    assert shift.base_points.shape == (3, 20, 2)
    assert np.allclose(shift.base_points.mean(axis=1), 0.0)
    # Huan et al.'s dis: distance between the layer-averaged centroids (signs of components may differ per layer)
    c = shift.tuned_points.mean(axis=1)
    assert shift.mean_distance == pytest.approx(float(np.linalg.norm(c.mean(axis=0))))
    assert pca.pca_shift(base, base).distances == [0.0, 0.0, 0.0]


def test_pca_shift_rejects_mismatched_features():
    with pytest.raises(ValueError, match="feature shapes differ"):
        pca.pca_shift(np.zeros((2, 5, 4)), np.zeros((2, 5, 3)))


def test_sample_problem_texts():
    rows = [{"id": str(i), "question": f"problem {i}"} for i in range(10)]
    a = pca.sample_problem_texts(rows, 4, 42)
    assert a == pca.sample_problem_texts(rows, 4, 42) and len(set(a)) == 4
    assert a != pca.sample_problem_texts(rows, 4, 43)
    assert sorted(pca.sample_problem_texts(rows, 50, 42)) == sorted(r["question"] for r in rows)
    with pytest.raises(DataError, match="bench.jsonl:3: empty or missing 'question'"):
        pca.sample_problem_texts(rows[:2] + [{"id": "x"}], 2, 0, source="bench.jsonl")


def test_padding_does_not_change_features(tiny):
    model, tok = tiny
    texts = ["What is 12 + 30?", "print(sum(map(int, input().split()))) and a much longer text to pad the rest"]
    together = pca.layer_features(model, tok, texts, max_length=64, batch_size=2)
    alone = np.concatenate([pca.layer_features(model, tok, [t], max_length=64) for t in texts], axis=1)
    assert together.shape == (model.config.num_hidden_layers + 1, 2, model.config.hidden_size)
    assert np.allclose(together, alone, atol=1e-5)


def test_run_pca_shift_zero_for_same_model_positive_for_perturbed(random_tiny_model, tmp_path):
    from transformers import AutoModelForCausalLM

    perturbed = tmp_path / "perturbed"
    model = AutoModelForCausalLM.from_pretrained(random_tiny_model)
    torch.manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    model.save_pretrained(perturbed)
    bench = tmp_path / "aime25.jsonl"
    write_jsonl(bench, [{"id": f"b{i}", "domain": "math", "question": f"What is {i} + {2 * i}? Think step by step.",
                         "answer": str(3 * i)} for i in range(12)])
    shift_csv, points_csv = tmp_path / "pca_shift.csv", tmp_path / "pca_points.csv"
    common = {"teacher": "concise", "base": str(random_tiny_model), "base_revision": None, "tokenizer": None}
    pca.run_pca_shift(experiments={"same": {**common, "tuned": str(random_tiny_model)},
                                   "perturbed": {**common, "teacher": "verbose", "tuned": str(perturbed)}},
                      benchmarks={"aime25": str(bench)}, k=8, seed=42, max_length=32,
                      out_shift=str(shift_csv), out_points=str(points_csv))
    shift = pd.read_csv(shift_csv, dtype={"layer": str})
    layers = model.config.num_hidden_layers + 1
    assert list(shift[shift["experiment"] == "same"]["layer"]) == [str(i) for i in range(layers)] + ["mean"]
    assert (shift[shift["experiment"] == "same"]["distance"] == 0.0).all()
    moved = shift[shift["experiment"] == "perturbed"]
    assert (moved["distance"] > 1e-4).all() and set(moved["teacher"]) == {"verbose"}
    points = pd.read_csv(points_csv)
    assert len(points) == 2 * 2 * layers * 8                             # experiments x states x layers x texts
    assert set(points["state"]) == {"base", "trained"}
