"""The downstream ranking model: ESMM's two towers (CTR, CVR; pCTCVR = pCTR x pCVR, trained over the entire space,
Ma et al. 2018, the loss of :mod:`rlrec.simulator.esmm`) over DIN-style target attention (Zhou et al. 2018) on each
behaviour sequence.

Why not the simulator's ESMM as it is: it mean-pools one history and learns a user-id embedding. The enhancer's
evaluation users are unseen (cold ids), and the cross-user sequence is another user's 100 recent events, of which
only the ones related to the candidate item matter; a mean over them dilutes that, DIN's target attention picks it
out. ESMM's towers are kept because the report needs CTR and CTCVR from one model.

Tower input per impression: ``[p_1..p_F, h_own, i, c_1..c_V, h_own ⊙ i, log1p(n_own)]`` plus, per enhancement,
``[h_cross, h_cross ⊙ i, log1p(n_cross)]`` (cross-user sequence) and ``[q_1..q_M]`` (PQ sub-code embeddings).
``h`` = attention-pooled sequence, ``n`` = occurrences of the candidate in that sequence.

Dims: ``N`` impressions, ``B`` batch, ``L`` own history, ``S`` cross-user sequence, ``M`` sub-codes, ``d`` dim.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from rlrec.simulator.esmm import ESMM, ITEM_PAD, _mlp, esmm_loss  # _mlp: the towers' one builder

__all__ = ["RankerInputs", "EnhancedRanker", "train_ranker", "predict"]


@dataclass
class RankerInputs:
    """Per-impression model inputs (item embedding indices; 0 = padding)."""

    item: torch.Tensor  # [N] int64
    categories: torch.Tensor  # [N, V] int64
    profile: torch.Tensor  # [N, F] int64
    own: torch.Tensor  # [N, L] int64 own history
    cross: torch.Tensor | None = None  # [N, S] int64 cross-user sequence (None = not used)
    codes: torch.Tensor | None = None  # [N, M] int64 PQ sub-code ids (None = not used)

    def __len__(self) -> int:
        return len(self.item)

    def take(self, b: torch.Tensor) -> RankerInputs:
        pick = (lambda t: None if t is None else t[b])  # noqa: E731
        return RankerInputs(self.item[b], self.categories[b], self.profile[b], self.own[b], pick(self.cross),
                            pick(self.codes))


class TargetAttention(nn.Module):
    """DIN's local activation unit: weight_j = MLP([e_j, t, e_j - t, e_j ⊙ t]); masked softmax over the sequence."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.score = nn.Sequential(nn.Linear(4 * dim, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, seq: torch.Tensor, mask: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """``[B, d]`` pooled ``seq [B, S, d]`` (``mask [B, S]`` True = real event) for ``target [B, d]``; an empty
        sequence pools to zeros."""
        t = target.unsqueeze(1).expand_as(seq)
        logits = self.score(torch.cat([seq, t, seq - t, seq * t], dim=-1)).squeeze(-1)  # [B, S]
        weights = torch.softmax(logits.masked_fill(~mask, -1e9), dim=1) * mask
        return (weights.unsqueeze(-1) * seq).sum(1)


class EnhancedRanker(nn.Module):
    """The ranker with optional enhancements (``codebook``: ``(M, ksub)`` for PQ features; ``cross``: the sequence)."""

    def __init__(self, num_items: int, category_sizes: list[int], profile_sizes: list[int], dim: int = 16,
                 hidden: list[int] | None = None, attention_hidden: int = 32, codebook: tuple[int, int] | None = None,
                 cross: bool = False) -> None:
        super().__init__()
        self.item = nn.Embedding(num_items, dim, padding_idx=ITEM_PAD)
        self.categories = nn.ModuleList(nn.Embedding(n, dim) for n in category_sizes)
        self.profile = nn.ModuleList(nn.Embedding(n, dim) for n in profile_sizes)
        self.own_attention = TargetAttention(dim, attention_hidden)
        self.cross_attention = TargetAttention(dim, attention_hidden) if cross else None
        self.codebook = codebook
        self.codes = nn.Embedding(codebook[0] * codebook[1], dim) if codebook else None
        for table in (self.item, *self.categories, *self.profile, *([self.codes] if self.codes is not None else [])):
            nn.init.normal_(table.weight, std=0.05)
        with torch.no_grad():
            self.item.weight[ITEM_PAD].zero_()
        in_dim = dim * (len(profile_sizes) + 3 + len(category_sizes)) + 1
        in_dim += (2 * dim + 1) if cross else 0
        in_dim += dim * codebook[0] if codebook else 0
        self.ctr_tower = _mlp(in_dim, list(hidden or [64, 32]))
        self.cvr_tower = _mlp(in_dim, list(hidden or [64, 32]))

    def _sequence(self, attention: TargetAttention, seq: torch.Tensor, item: torch.Tensor,
                  i: torch.Tensor) -> list[torch.Tensor]:
        mask = seq != ITEM_PAD
        pooled = attention(self.item(seq), mask, i)
        count = ((seq == item.unsqueeze(1)) & mask).sum(1).float()
        return [pooled, pooled * i, torch.log1p(count).unsqueeze(1)]

    def forward(self, x: RankerInputs) -> tuple[torch.Tensor, torch.Tensor]:
        """(CTR logit ``[B]``, CVR logit ``[B]``)."""
        i = self.item(x.item)  # [B, d]
        parts = [table(x.profile[:, f]) for f, table in enumerate(self.profile)]
        parts += [i, *[table(x.categories[:, v]) for v, table in enumerate(self.categories)]]
        parts += self._sequence(self.own_attention, x.own, x.item, i)
        if self.cross_attention is not None:
            parts += self._sequence(self.cross_attention, x.cross, x.item, i)
        if self.codes is not None:
            offsets = torch.arange(self.codebook[0], device=x.codes.device) * self.codebook[1]
            parts.append(self.codes(x.codes + offsets).flatten(1))  # [B, M * d]
        h = torch.cat(parts, dim=1)
        return self.ctr_tower(h).squeeze(1), self.cvr_tower(h).squeeze(1)


def train_ranker(model: EnhancedRanker, x: RankerInputs, click: np.ndarray, conv: np.ndarray, *, epochs: int,
                 batch_size: int, learning_rate: float, weight_decay: float, seed: int) -> list[float]:
    """Minibatch Adam on the ESMM loss (seeded shuffles); returns the mean loss per epoch."""
    generator = np.random.default_rng(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate, weight_decay=weight_decay)
    y_click, y_conv = torch.from_numpy(click.astype(np.float32)), torch.from_numpy(conv.astype(np.float32))
    losses = []
    model.train()
    for _ in range(epochs):
        order = torch.from_numpy(generator.permutation(len(x)))
        total, steps = 0.0, 0
        for start in range(0, len(x), batch_size):
            b = order[start : start + batch_size]
            ctr_logit, cvr_logit = model(x.take(b))
            loss, _ = esmm_loss(ctr_logit, cvr_logit, y_click[b], y_conv[b])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total, steps = total + float(loss.detach()), steps + 1
        losses.append(total / max(steps, 1))
    model.eval()
    return losses


@torch.no_grad()
def predict(model: EnhancedRanker, x: RankerInputs, batch_size: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """(pCTR ``[N]``, pCTCVR ``[N]``) float64."""
    model.eval()
    ctr, ctcvr = [], []
    for start in range(0, len(x), batch_size):
        b = torch.arange(start, min(start + batch_size, len(x)))
        p_ctr, _, p_ctcvr = ESMM.probabilities(*model(x.take(b)))
        ctr.append(p_ctr.double().numpy())
        ctcvr.append(p_ctcvr.double().numpy())
    return np.concatenate(ctr), np.concatenate(ctcvr)
