"""Loading the models the analyses read: a 32B model in bfloat16 over the visible GPUs, a tiny one in float32 on CPU."""

from __future__ import annotations


def load_causal_lm(path: str, revision: str | None = None, device: str | None = None):
    import torch

    from ded.runtime import skip_unused_imports_in_transformers

    skip_unused_imports_in_transformers()
    from transformers import AutoModelForCausalLM

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    kwargs: dict = {"revision": revision, "attn_implementation": "sdpa"}
    if device == "cuda":
        kwargs.update(dtype=torch.bfloat16, device_map="auto")
    else:
        kwargs.update(dtype=torch.float32)
    model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    if device != "cuda":
        model.to(device)
    model.eval()
    return model


def load_tokenizer(path: str, revision: str | None = None):
    from ded.runtime import skip_unused_imports_in_transformers

    skip_unused_imports_in_transformers()
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path, revision=revision)


def input_device(model):
    return model.get_input_embeddings().weight.device


def decoder_of(model):
    """The transformer body of a causal LM (hidden states without the LM head)."""
    decoder = model.get_decoder()
    if decoder is model:
        raise ValueError(f"{type(model).__name__}: cannot separate the decoder from the LM head")
    return decoder
