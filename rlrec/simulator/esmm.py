"""ESMM (Ma et al., SIGIR 2018): CTR and CVR towers over shared embeddings, pCTCVR = pCTR × pCVR.

Both losses are taken over *all* impressions ("entire space"): BCE(pCTR, click) + BCE(pCTCVR, click ∧ conv).
The CVR tower is never trained on clicked impressions alone, which avoids the sample-selection bias of
a plain post-click CVR model.

Dims: ``N`` impressions (pairs), ``C`` contexts (user states), ``L`` history length, ``V`` category
levels, ``F`` profile fields, ``d`` embedding dim. Index conventions (see :mod:`rlrec.simulator.features`):
item index 0 = padding, 1 = cold start; user index 0 = cold start; category / profile value 0 = unknown.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["ESMM", "esmm_loss", "log1mexp"]

ITEM_PAD, ITEM_COLD, USER_COLD = 0, 1, 0


def _mlp(in_dim: int, hidden: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(in_dim, width), nn.ReLU()]
        in_dim = width
    layers.append(nn.Linear(in_dim, 1))
    return nn.Sequential(*layers)


class ESMM(nn.Module):
    """Shared embeddings (user, item, category per level, profile field values) and two MLP towers.

    Tower input per impression: ``[u, h, p_1..p_F, i, c_1..c_V, u⊙i, h⊙i, log1p(count)]`` where ``u`` is the
    user embedding, ``h`` the mean item embedding of the user's last ``L`` interactions, ``i`` the target
    item, and ``count`` how often the target occurs in those ``L`` interactions.
    """

    def __init__(self, num_users: int, num_items: int, category_sizes: list[int], profile_sizes: list[int],
                 dim: int = 16, hidden: list[int] | None = None) -> None:
        super().__init__()
        hidden = list(hidden or [64, 32])
        self.dim = dim
        self.user = nn.Embedding(num_users, dim)
        self.item = nn.Embedding(num_items, dim, padding_idx=ITEM_PAD)
        self.categories = nn.ModuleList(nn.Embedding(n, dim) for n in category_sizes)
        self.profile = nn.ModuleList(nn.Embedding(n, dim) for n in profile_sizes)
        for table in (self.user, self.item, *self.categories, *self.profile):
            nn.init.normal_(table.weight, std=0.05)
        with torch.no_grad():
            self.item.weight[ITEM_PAD].zero_()
        self.state_dim = dim * (2 + len(profile_sizes))
        in_dim = self.state_dim + dim * (1 + len(category_sizes)) + 2 * dim + 1
        self.ctr_tower = _mlp(in_dim, hidden)
        self.cvr_tower = _mlp(in_dim, hidden)

    def user_state(self, user: torch.Tensor, history: torch.Tensor, profile: torch.Tensor) -> torch.Tensor:
        """``[C, state_dim]`` = [user emb, pooled history, profile embs].

        user: ``[C]``; history: ``[C, L]`` item indices (0 = padding, excluded from the mean; an empty
        history pools to zeros); profile: ``[C, F]``.
        """
        emb = self.item(history)  # [C, L, d]; the padding row is all zeros
        n = (history != ITEM_PAD).sum(1, keepdim=True).clamp(min=1)  # [C, 1]
        pooled = emb.sum(1) / n  # [C, d]
        parts = [self.user(user), pooled] + [table(profile[:, f]) for f, table in enumerate(self.profile)]
        return torch.cat(parts, dim=1)

    def forward(self, state: torch.Tensor, item: torch.Tensor, categories: torch.Tensor,
                count: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(CTR logit ``[N]``, CVR logit ``[N]``).

        state: ``[N, state_dim]`` (from :meth:`user_state`, gathered per impression); item: ``[N]``;
        categories: ``[N, V]``; count: ``[N]`` float, occurrences of the target in the user's history.
        """
        d = self.dim
        u, h = state[:, :d], state[:, d : 2 * d]
        i = self.item(item)  # [N, d]
        cats = [table(categories[:, v]) for v, table in enumerate(self.categories)]
        x = torch.cat([state, i, *cats, u * i, h * i, torch.log1p(count).unsqueeze(1)], dim=1)
        return self.ctr_tower(x).squeeze(1), self.cvr_tower(x).squeeze(1)

    @staticmethod
    def probabilities(ctr_logit: torch.Tensor, cvr_logit: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(pCTR, pCVR, pCTCVR = pCTR × pCVR), each ``[N]``."""
        p_ctr, p_cvr = torch.sigmoid(ctr_logit), torch.sigmoid(cvr_logit)
        return p_ctr, p_cvr, p_ctr * p_cvr


def log1mexp(x: torch.Tensor) -> torch.Tensor:
    """``log(1 - exp(x))`` for ``x < 0``, numerically stable (Mächler 2012); ``x`` is clamped below 0."""
    x = x.clamp(max=-1e-7)
    return torch.where(x > -math.log(2.0), torch.log(-torch.expm1(x)), torch.log1p(-torch.exp(x)))


def esmm_loss(ctr_logit: torch.Tensor, cvr_logit: torch.Tensor, click: torch.Tensor,
              conversion: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    """ESMM loss over all impressions: BCE(pCTR, click) + BCE(pCTCVR, click·conversion), each a mean over ``[N]``.

    pCTCVR is handled in log space: log pCTCVR = logσ(a) + logσ(b), log(1 - pCTCVR) = log1mexp(that).
    Returns (loss, {"ctr": ..., "ctcvr": ...}).
    """
    ctr = F.binary_cross_entropy_with_logits(ctr_logit, click)
    y = click * conversion
    log_p = F.logsigmoid(ctr_logit) + F.logsigmoid(cvr_logit)
    ctcvr = -(y * log_p + (1.0 - y) * log1mexp(log_p)).mean()
    return ctr + ctcvr, {"ctr": float(ctr.detach()), "ctcvr": float(ctcvr.detach())}
