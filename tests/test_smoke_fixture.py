from transformers import AutoModelForCausalLM, AutoTokenizer


def test_random_tiny_model_loads_by_path(random_tiny_model):
    tok = AutoTokenizer.from_pretrained(random_tiny_model)
    model = AutoModelForCausalLM.from_pretrained(random_tiny_model)
    text = tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True)
    assert text.endswith("<|im_start|>assistant\n")
    ids = tok(text, return_tensors="pt").input_ids
    out = model.generate(ids, max_new_tokens=5, do_sample=False)
    assert out.shape[1] == ids.shape[1] + 5 or tok.eos_token_id in out[0].tolist()
