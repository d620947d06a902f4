"""Eq. 1 checked by hand: on toy logits, and against a per-token loop over an unpadded forward pass."""

import math

import pytest
import torch

from rlrec.distill.ppl import ScoreStats, left_pad_batch, masked_ppl, score_ppl, token_logprobs


def test_masked_ppl_on_hand_computed_logits():
    # V = 2. Row 0: uniform logits → P = 1/2 for both answer tokens → PPL = 2.
    # Row 1: logits (ln 3, 0) → P(token 0) = 3/4; one scored token (the first is masked out) → PPL = 4/3.
    logits = torch.tensor([[[0.0, 0.0], [0.0, 0.0]], [[5.0, -5.0], [math.log(3.0), 0.0]]])  # [B=2, A=2, V=2]
    targets = torch.tensor([[0, 1], [1, 0]])
    mask = torch.tensor([[1, 1], [0, 1]])
    lp = token_logprobs(logits, targets)
    assert lp[0].tolist() == pytest.approx([math.log(0.5)] * 2)
    assert lp[1, 1].item() == pytest.approx(math.log(0.75))
    assert masked_ppl(lp, mask).tolist() == pytest.approx([2.0, 4.0 / 3.0])


def test_empty_mask_gives_nan():
    assert math.isnan(masked_ppl(torch.zeros(1, 3), torch.zeros(1, 3)).item())


def test_left_pad_aligns_answers_at_the_end():
    ids, attn, amask = left_pad_batch([[1, 2, 3], [4]], [[5], [6, 7]], pad_id=0)
    assert ids.tolist() == [[1, 2, 3, 5], [0, 4, 6, 7]]
    assert attn.tolist() == [[1, 1, 1, 1], [0, 1, 1, 1]]
    assert amask.tolist() == [[0, 1], [1, 1]]


def _manual_ppl(model, tokenizer, context: str, answer: str) -> float:
    """Unbatched, unpadded: sum log P(y_t | context, y_<t) token by token from the full logits."""
    c = tokenizer(context, add_special_tokens=False)["input_ids"]
    a = tokenizer(answer, add_special_tokens=False)["input_ids"]
    return _manual_ppl_ids(model, c, a)


def _manual_ppl_ids(model, c: list[int], a: list[int]) -> float:
    ids = torch.tensor([c + a])
    with torch.no_grad():
        logprobs = torch.log_softmax(model(input_ids=ids).logits[0].double(), dim=-1)  # [T, V]
    total = sum(logprobs[len(c) + t - 1, a[t]].item() for t in range(len(a)))
    return math.exp(-total / len(a))


PAIRS = [
    ("<|im_start|>user\nshort prompt<|im_end|>\n<|im_start|>assistant\n<think>likes fruit</think><answer>",
     "Item title: Organic Bananas; Category L1: Produce"),
    ("<|im_start|>user\na much longer prompt with a long purchase history: milk, eggs, bread, butter, jam, "
     "cheese, yogurt, spinach<|im_end|>\n<|im_start|>assistant\n<think>dairy</think><answer>",
     "Item title: Whole Milk; Category L1: Dairy Eggs; Category L2: Milk"),
    ("<|im_start|>user\nmid<|im_end|>\n<|im_start|>assistant\n<think>x</think><answer>", "Item title: Q"),
]


@pytest.mark.parametrize("batch_size", [1, 2, 3])
def test_batched_ppl_matches_the_manual_computation(tiny_lm, tokenizer, batch_size):
    contexts, answers = zip(*PAIRS)
    stats = ScoreStats()
    got = score_ppl(tiny_lm, tokenizer, contexts, answers, batch_size=batch_size, progress=False, stats=stats)
    want = [_manual_ppl(tiny_lm, tokenizer, c, a) for c, a in PAIRS]
    assert got == pytest.approx(want, rel=1e-4)
    n_answer = sum(len(tokenizer(a, add_special_tokens=False)["input_ids"]) for a in answers)
    assert stats.sequences == 3 and stats.answer_tokens == n_answer


def test_context_changes_ppl_and_truncation_keeps_the_answer(tiny_lm, tokenizer):
    c, a = PAIRS[1]
    full = score_ppl(tiny_lm, tokenizer, [c], [a], progress=False)[0]
    n_answer = len(tokenizer(a, add_special_tokens=False)["input_ids"])
    stats = ScoreStats()
    cut = score_ppl(tiny_lm, tokenizer, [c], [a], max_length=n_answer + 5, progress=False, stats=stats)[0]
    assert stats.truncated == 1 and cut != pytest.approx(full)
    kept = tokenizer(c, add_special_tokens=False)["input_ids"][-5:]
    answer_ids = tokenizer(a, add_special_tokens=False)["input_ids"]
    assert cut == pytest.approx(_manual_ppl_ids(tiny_lm, kept, answer_ids), rel=1e-4)


def test_empty_answer_is_rejected(tiny_lm, tokenizer):
    with pytest.raises(ValueError, match="non-empty"):
        score_ppl(tiny_lm, tokenizer, ["ctx"], [""], progress=False)
