"""Per-reward policy gradients for POPO (Taiji Eq. 6) from the one training forward of a step.

POPO needs ``∇θ L_k`` for every reward k, where ``L_k`` is the GRPO objective (Eq. 8) driven by reward k
alone, i.e. by its own group-normalised advantage ``A^k``. ``L_k`` depends on θ only through the per-token
log-probabilities ``logps`` [B, T] of the training forward, so by the chain rule

    ∇θ L_k = J^T v_k,     J = ∂ logps / ∂θ,   v_k = ∂ L_k / ∂ logps   [B, T]

The K cotangents ``v_k`` are closed-form (:func:`surrogate_cotangents`, no graph), and the K vector-Jacobian
products reuse the graph of the forward TRL already ran (``retain_graph``), so POPO pays K extra *backward*
passes over the chosen parameters, never an extra forward. (Batched VJPs via ``is_grads_batched`` would need
vmap through TRL's fused LM-head kernel, whose backward accumulates in place and is rejected by vmap
("aten::add_ ... use out-of-place operators"); through the backbone alone, vmapped K=2 VJPs were exact but
1.1x (SmolLM2) to 4x (2-layer toy) slower than this loop on CPU.)

What each ``L_k`` contains: the PPO-clipped surrogate ``min(ρ A^k, clip(ρ, 1-ε_low, 1+ε_high) A^k)`` with
Eq. 8's aggregation (token mean per sequence, mean over sequences). At the first micro-batch of a rollout with
``num_iterations = 1``, ρ = 1 exactly, so clipping is inactive and ``∇L_k`` is the plain policy gradient; with
more iterations the clipping of the real loss is mirrored. The KL term ``β KL(π_θ || π_ref)`` is identical for
every reward, so by default it is left out (adding the same vector to every ``∇L_k`` would bias ``I`` toward
whichever reward happens to align with the KL pull); ``include_kl`` adds it for the literal reading of Eq. 6.
TRL's other extras (entropy bonus, off-policy masks, vLLM importance weights, loss-type normalisers) are not
part of the per-reward objectives. Dimensions: B sequences in the micro-batch, T completion tokens, K rewards.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch
from torch import Tensor, nn

__all__ = ["select_parameters", "surrogate_cotangents", "per_reward_gradients"]


def select_parameters(model: nn.Module, patterns: Sequence[str]) -> list[tuple[str, nn.Parameter]]:
    """Trainable parameters whose name matches any regex in ``patterns`` (``re.search``); all when empty.

    ``["lora_"]`` selects the LoRA adapters of a PEFT model, ``[r"layers\\.2[0-9]\\."]`` named layers.
    Parameters shared under two names (tied embeddings) are returned once.
    """
    compiled = [re.compile(p) for p in patterns]
    chosen, seen = [], set()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    for name, param in trainable:
        if id(param) in seen or (compiled and not any(c.search(name) for c in compiled)):
            continue
        seen.add(id(param))
        chosen.append((name, param))
    if not chosen:
        sample = ", ".join(n for n, _ in trainable[:8])
        raise ValueError(
            f"weighting.params.grad_params={list(patterns)} matches no trainable parameter; trainable names look like: "
            f"{sample or '(none: the model has no trainable parameters)'}"
        )
    return chosen


def surrogate_cotangents(
    logps: Tensor,
    old_logps: Tensor,
    advantages: Tensor,
    mask: Tensor,
    epsilon_low: float,
    epsilon_high: float,
    ref_logps: Tensor | None = None,
    beta: float = 0.0,
) -> Tensor:
    """``v_k = ∂L_k/∂logps`` of the K per-reward objectives (Eq. 8 with ``A^k``), in closed form.

    ``logps``, ``old_logps``, ``mask``: ``[B, T]``; ``advantages``: ``[B, K]`` (``A^k`` per sequence);
    ``ref_logps`` ``[B, T]`` with ``beta > 0`` adds the KL term. With
    ``L_k = -(1/B) Σ_i (1/|o_i|) Σ_t [min(ρ A, clip(ρ) A) - β KL_t]``, ``ρ = exp(logps - old_logps)``:
    the min picks the unclipped branch (gradient ``ρ A``) unless ρ left the trust region on the side the
    advantage pushes toward (then the gradient is 0); ``KL_t = e^{ref-logp} - (ref-logp) - 1`` has derivative
    ``1 - e^{ref-logp}``. Returns ``[K, B, T]`` (zero on masked tokens).
    """
    logps, old_logps, mask = logps.detach(), old_logps.detach(), mask.to(logps.dtype)
    num_seqs = logps.shape[0]
    token_weight = mask / (mask.sum(dim=1, keepdim=True).clamp(min=1.0) * num_seqs)  # [B, T]
    ratio = torch.exp(logps - old_logps)  # [B, T]
    adv = advantages.detach().to(logps.dtype).T.unsqueeze(-1)  # [K, B, 1]
    clipped = ((ratio > 1 + epsilon_high) & (adv > 0)) | ((ratio < 1 - epsilon_low) & (adv < 0))  # [K, B, T]
    cotangents = -adv * ratio * (~clipped).to(logps.dtype) * token_weight  # [K, B, T]
    if beta != 0.0:
        if ref_logps is None:
            raise ValueError("surrogate_cotangents: beta > 0 needs ref_logps")
        kl_grad = 1.0 - torch.exp(ref_logps.detach() - logps)  # ∂KL_t/∂logp, [B, T]
        cotangents = cotangents + beta * kl_grad * token_weight
    return cotangents


def per_reward_gradients(output: Tensor, params: Sequence[Tensor], cotangents: Tensor) -> list[Tensor]:
    """K vector-Jacobian products ``J^T v_k`` through the retained graph of one forward.

    ``output``: ``[B, T]`` (the training forward's logps, still attached to its graph); ``params``: P tensors;
    ``cotangents``: ``[K, B, T]``. The graph is retained for the real backward that follows. Returns one
    tensor ``[K, *param.shape]`` per parameter (zeros where a parameter does not affect ``output``).
    """
    per_reward: list[list[Tensor | None]] = []
    for v in cotangents:
        grads = torch.autograd.grad(output, params, grad_outputs=v, retain_graph=True, allow_unused=True)
        per_reward.append(list(grads))
    stacked = []
    for j, param in enumerate(params):
        grads = [g[j] if g[j] is not None else torch.zeros_like(param) for g in per_reward]
        for g in per_reward:  # drop the per-reward copy as soon as it is stacked (peak memory ~ K + 1 params)
            g[j] = None
        stacked.append(torch.stack(grads))
    return stacked
