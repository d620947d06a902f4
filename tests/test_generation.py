from rlrec.generation import GenerationConfig, generate, render_prompts, to_messages


def test_to_messages():
    assert to_messages("hi") == [{"role": "user", "content": "hi"}]
    msgs = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    assert to_messages(msgs) == msgs


def test_render_uses_chat_template(tokenizer):
    (text,) = render_prompts(tokenizer, ["hello"])
    assert "hello" in text and text != "hello"


def test_generate_shapes_and_restores_padding_side(tiny_lm, tokenizer):
    tokenizer.padding_side = "right"
    out = generate(tiny_lm, tokenizer, ["a", "a much longer prompt than the first"],
                   GenerationConfig(max_new_tokens=4, temperature=1.0, num_return_sequences=3, batch_size=2), progress=False)
    assert [len(o) for o in out] == [3, 3]
    assert tokenizer.padding_side == "right"


def test_greedy_is_deterministic_and_batch_independent(tiny_lm, tokenizer):
    cfg = GenerationConfig(max_new_tokens=5, temperature=0, batch_size=1)
    single = generate(tiny_lm, tokenizer, ["x y z"], cfg, progress=False)
    batched = generate(tiny_lm, tokenizer, ["x y z", "another, longer prompt here"],
                       GenerationConfig(max_new_tokens=5, temperature=0, batch_size=2), progress=False)
    assert single[0] == batched[0]
