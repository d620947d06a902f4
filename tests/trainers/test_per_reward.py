"""POPO's per-reward gradients from one forward equal K separate forward+backward passes; I = Gram·1."""

from __future__ import annotations

import pytest
import torch

from rlrec.config import WeightingConfig
from rlrec.trainers.per_reward import per_reward_gradients, select_parameters, surrogate_cotangents
from rlrec.weighting.maths import gram_matrix, influence

K, EPS_LOW, EPS_HIGH, BETA = 3, 0.2, 0.28, 0.1
# float32 forward/backward; the two paths sum the same terms in a different order
ATOL_REL = 1e-5  # |ours - separate| <= 1e-5 * max|gradient| (observed: ~1e-7)


def _batch(vocab: int):
    g = torch.Generator().manual_seed(0)
    B, P, T = 4, 6, 5
    input_ids = torch.randint(10, vocab, (B, P + T), generator=g)
    attention_mask = torch.ones_like(input_ids)
    attention_mask[0, :2] = 0  # left padding in the prompt
    completion_mask = torch.ones(B, T)
    completion_mask[1, 3:] = 0  # a completion that ended early
    completion_mask[2, 1:] = 0
    return input_ids, attention_mask, completion_mask, T, g


def _eq8_loss(logps, old, ref, adv_k, mask):
    """Eq. 8 for one reward written directly: -(1/B) sum_i 1/|o_i| sum_t [min(rho A, clip(rho) A) - beta KL]."""
    ratio = torch.exp(logps - old)
    a = adv_k.unsqueeze(1)
    surrogate = torch.min(ratio * a, ratio.clamp(1 - EPS_LOW, 1 + EPS_HIGH) * a)
    kl = torch.exp(ref - logps) - (ref - logps) - 1
    per_token = -(surrogate - BETA * kl)
    return ((per_token * mask).sum(-1) / mask.sum(-1).clamp(min=1)).mean()


def test_one_forward_equals_separate_backward_passes(trainer_factory):
    trainer = trainer_factory(WeightingConfig(name="popo"))
    model = trainer.model
    input_ids, attention_mask, mask, T, g = _batch(model.config.vocab_size)
    forward = lambda: trainer._get_per_token_logps_and_entropies(  # noqa: E731
        model=model, input_ids=input_ids, attention_mask=attention_mask, logits_to_keep=T
    )[0]

    logps = forward()  # the one shared forward (TRL's fused-LM-head path)
    old = logps.detach() + 0.3 * torch.randn(logps.shape, generator=g)  # ratios leave the trust region: clipping
    ref = logps.detach() - 0.2 * torch.randn(logps.shape, generator=g)
    adv = torch.randn(mask.shape[0], K, generator=g)
    params = [p for _, p in select_parameters(model, [])]
    cot = surrogate_cotangents(logps, old, adv, mask, EPS_LOW, EPS_HIGH, ref_logps=ref, beta=BETA)
    ours = per_reward_gradients(logps, params, cot)
    clipped = ((torch.exp(logps - old) > 1 + EPS_HIGH) | (torch.exp(logps - old) < 1 - EPS_LOW)) & mask.bool()
    assert clipped.any()  # the test exercises the clipped branch

    for k in range(K):
        model.zero_grad(set_to_none=True)
        _eq8_loss(forward(), old, ref, adv[:, k], mask).backward()  # a separate forward + backward
        scale = max(float(p.grad.abs().max()) for p in params if p.grad is not None)
        assert scale > 0
        for p, g_ours in zip(params, ours):
            separate = p.grad if p.grad is not None else torch.zeros_like(p)
            torch.testing.assert_close(g_ours[k], separate, atol=ATOL_REL * scale, rtol=0)

    gram = gram_matrix(ours)
    flat = torch.cat([torch.stack(g).reshape(K, -1) for g in ours], dim=1).double()  # [K, P]
    explicit = torch.stack([flat[i] @ flat.sum(dim=0) for i in range(K)])  # I_i = <g_i, sum_k g_k>
    # gram_matrix sums float32 dot products (per 1M-element slice) in float64: ~1e-6 relative (observed 4.7e-6)
    torch.testing.assert_close(influence(gram), explicit, rtol=2e-5, atol=0)


def test_cotangents_match_autograd_of_eq8():
    g = torch.Generator().manual_seed(3)
    logps = torch.randn(3, 4, generator=g) - 2
    old = logps + 0.3 * torch.randn(3, 4, generator=g)
    ref = logps - 0.2 * torch.randn(3, 4, generator=g)
    mask = torch.tensor([[1.0, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]])
    adv = torch.randn(3, 2, generator=g)
    cot = surrogate_cotangents(logps, old, adv, mask, EPS_LOW, EPS_HIGH, ref_logps=ref, beta=BETA)
    for k in range(2):
        leaf = logps.clone().requires_grad_()
        (expected,) = torch.autograd.grad(_eq8_loss(leaf, old, ref, adv[:, k], mask), leaf)
        torch.testing.assert_close(cot[k], expected)
    on_policy = surrogate_cotangents(logps, logps, adv, mask, EPS_LOW, EPS_HIGH)  # rho = 1: -A / (B |o_i|)
    assert on_policy[0, 1, :2].tolist() == pytest.approx([-adv[1, 0].item() / 6] * 2)


def test_select_parameters_subsets(tiny_lm):
    everything = select_parameters(tiny_lm, [])
    names = [n for n, _ in everything]
    assert len(names) == len({id(p) for _, p in everything})  # tied embeddings counted once
    layer1 = select_parameters(tiny_lm, [r"layers\.1\."])
    assert layer1 and all("layers.1." in n for n, _ in layer1)
    with pytest.raises(ValueError, match="weighting.params.grad_params"):
        select_parameters(tiny_lm, ["lora_"])  # no adapters on a plain model


def test_select_lora_parameters(tiny_lm):
    from peft import LoraConfig, get_peft_model

    peft_model = get_peft_model(tiny_lm, LoraConfig(r=2, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
    chosen = select_parameters(peft_model, ["lora_"])
    assert chosen and all("lora_" in n for n, _ in chosen)
    assert {id(p) for _, p in chosen} == {id(p) for p in peft_model.parameters() if p.requires_grad}
