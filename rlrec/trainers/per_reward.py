"""Per-reward policy gradients for POPO (Taiji Eq. 6) from the one training forward of a step.

POPO needs ``∇θ L_k`` for every reward k, where ``L_k`` is the GRPO objective (Eq. 8) driven by reward k
alone, i.e. by its own group-normalised advantage ``A^k``. ``L_k`` depends on θ only through the per-token
log-probabilities ``logps`` [B, T] of the training forward, so by the chain rule

    ∇θ L_k = J^T v_k,     J = ∂ logps / ∂θ,   v_k = ∂ L_k / ∂ logps   [B, T]

The K cotangents ``v_k`` are closed-form (:func:`surrogate_cotangents`, no graph), and the K vector-Jacobian
products reuse the graph of the forward TRL already ran (``retain_graph``), so POPO pays K extra *backward*
passes over the chosen parameters, never an extra forward. When the real loss's advantage is a batch-shared
linear combination of the ``A^k`` (:func:`shared_coefficients`), its gradient is assembled from the same K
products (:func:`assembled_gradients`, :class:`AssembledLoss`) and the real backward is skipped: K backward
passes per step instead of K + 1. With per-group scaling (TRL's default ``scale_rewards=group``) the real
advantage is ``Σ_k c_{g,k} A^k`` with coefficients that differ between the groups of a micro-batch, so its
cotangent lies outside the span of the K per-reward cotangents whenever the micro-batch holds two or more
groups, and any exact method needs a (K+1)-th vector-Jacobian product; batching the K + 1 products does not
reduce their FLOPs (and was slower on CPU, below). A micro-batch of one group (``rl.batch_size`` = G) does
assemble. (Row-wise recombination of the K activation gradients at every layer would be exact and cheaper,
about half a backward, but needs per-layer hooks and is not implemented.) (Batched VJPs via ``is_grads_batched`` would need
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

__all__ = [
    "select_parameters", "surrogate_cotangents", "per_reward_gradients", "shared_coefficients", "assembled_gradients",
    "AssembledLoss",
]


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


def per_reward_gradients(
    output: Tensor, params: Sequence[Tensor], cotangents: Tensor, unused_as_none: bool = False
) -> list[tuple[Tensor, ...] | None]:
    """K vector-Jacobian products ``J^T v_k`` through the retained graph of one forward.

    ``output``: ``[B, T]`` (the training forward's logps, still attached to its graph); ``params``: P tensors;
    ``cotangents``: ``[K, B, T]``. The graph is retained for the real backward that may follow. Returns, per
    parameter, the K gradients as a tuple of tensors shaped like it (``grads[p][k]``), exactly as autograd
    allocated them: they are never stacked into one ``[K, *shape]`` tensor, which would copy all K (for the 134M
    SmolLM2, 0.5 GB each). A parameter that does not affect ``output`` gets zeros, or None with ``unused_as_none``
    (a real backward leaves its ``.grad`` None, and AdamW skips it).
    """
    per_reward = [
        torch.autograd.grad(output, params, grad_outputs=v, retain_graph=True, allow_unused=True) for v in cotangents
    ]  # K x P
    out: list[tuple[Tensor, ...] | None] = []
    for j, param in enumerate(params):
        grads = [g[j] for g in per_reward]
        if unused_as_none and all(g is None for g in grads):
            out.append(None)
            continue
        out.append(tuple(torch.zeros_like(param) if g is None else g for g in grads))
    return out


def shared_coefficients(per_reward: Tensor, combined: Tensor, rtol: float = 1e-5) -> Tensor | None:
    """Coefficients ``c`` [K] shared by every row with ``combined ≈ per_reward @ c``, or None if there are none.

    ``per_reward``: ``[n, K]`` the per-reward advantages ``A^k`` of a micro-batch; ``combined``: ``[n]`` the
    advantage the real loss uses. The GRPO surrogate's gradient is linear in the advantages while no token
    leaves the trust region, so then ``∇L = Σ_k c_k ∇L_k`` exactly. ``c`` exists for ``scale_rewards`` none
    (``c = w``) and batch (``c_k = w_k (σ_k + ε) / (σ(w) + ε)``, σ the batch stds), and for
    ``normalize_then_sum`` with group-scaled ``A^k`` (``c_k = w_k / (σ_batch(Σ w z) + ε)``); with per-group
    scaling the coefficients differ between groups and there is none in general (nor with NaN rewards, which
    TRL counts as 0 in the sum but ``A^k`` leaves out of the group mean). Found by least squares in float64
    and accepted only if ``max|combined - per_reward @ c| <= rtol · max|combined|``.
    """
    a, y = per_reward.detach().double(), combined.detach().double()
    scale = float(y.abs().max()) if y.numel() else 0.0
    if scale == 0.0:
        return torch.zeros(a.shape[1], dtype=torch.float64, device=a.device)
    c = torch.linalg.lstsq(a.cpu(), y.cpu().unsqueeze(1), driver="gelsd").solution.squeeze(1).to(a.device)
    residual = float((y - a @ c).abs().max())
    return c if residual <= rtol * scale else None


def assembled_gradients(
    grads: Sequence[Sequence[Tensor] | None], coefficients: Tensor, scale: float = 1.0, in_place: bool = False
) -> list[Tensor | None]:
    """``scale · Σ_k c_k g_k`` per parameter from its K per-reward gradients (a ``[K, *shape]`` tensor or K
    tensors; None stays None).

    ``in_place`` writes the sum into each parameter's first per-reward gradient (no new 0.5 GB buffers for a
    134M model; the inputs are consumed): the trainer's path, where the per-reward gradients are dropped next.
    """
    weights = [float(c) * scale for c in coefficients.detach().double().cpu()]
    out: list[Tensor | None] = []
    for g in grads:
        if g is None:
            out.append(None)
            continue
        total = g[0].mul_(weights[0]) if in_place else g[0] * weights[0]
        for g_k, c_k in zip(g[1:], weights[1:]):
            total.add_(g_k, alpha=c_k)
        out.append(total)
    return out


class AssembledLoss(torch.autograd.Function):
    """A scalar whose value is the real loss and whose backward hands each parameter a precomputed gradient.

    ``AssembledLoss.apply(value, grads, *params)``: ``value`` the (detached) loss, ``grads`` one tensor (or
    None) per parameter of ``params``. ``backward`` returns ``grad_output · grads``, so whatever runs the
    backward (accelerate's loss scaling, DDP's gradient hooks, DeepSpeed ZeRO-1/2) sees an ordinary
    gradient accumulated into ``.grad`` — without a backward pass through the network.
    """

    @staticmethod
    def forward(ctx, value: Tensor, grads: list, *params: Tensor) -> Tensor:  # noqa: D102
        ctx.grads = grads
        return value.detach().clone()

    @staticmethod
    def backward(ctx, grad_output: Tensor):  # noqa: D102
        unit = grad_output.numel() == 1 and float(grad_output) == 1.0  # no loss scaling: hand them out as they are
        grads = [None if g is None else g if unit else g * grad_output.to(g.dtype) for g in ctx.grads]
        ctx.grads = None  # one backward only; free the gradients
        return (None, None, *grads)
