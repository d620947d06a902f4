"""Training loop of the ESMM CTCVR model: minibatch Adam over the training impressions (CPU-quick)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from rlrec.config import SimulatorConfig
from rlrec.data.schema import InteractionLog
from rlrec.simulator.esmm import ESMM, ITEM_COLD, USER_COLD, esmm_loss
from rlrec.simulator.features import FeatureSpace, target_counts
from rlrec.simulator.labels import Impressions, LabelledLog

__all__ = ["ContextTensors", "TrainResult", "context_tensors", "train_esmm"]

logger = logging.getLogger(__name__)


@dataclass
class ContextTensors:
    """Per-context model inputs: user ``[C]``, history item indices ``[C, L]``, profile ``[C, F]``."""

    user: torch.Tensor
    history: torch.Tensor
    profile: torch.Tensor


@dataclass
class TrainResult:
    model: ESMM
    epoch_losses: list[dict[str, float]] = field(default_factory=list)  # mean loss parts per epoch


def context_tensors(features: FeatureSpace, log: InteractionLog, labelled: LabelledLog) -> ContextTensors:
    return ContextTensors(
        user=torch.from_numpy(features.user_index(labelled.ctx_user)),
        history=torch.from_numpy(features.item_index[labelled.ctx_hist]),
        profile=torch.from_numpy(features.profile_index([log.profile(u) for u in labelled.ctx_user])),
    )


def train_esmm(config: SimulatorConfig, features: FeatureSpace, contexts: ContextTensors, labelled: LabelledLog,
               train: Impressions, show_progress: bool = True) -> TrainResult:
    """Fit an :class:`ESMM` on ``train`` impressions for ``config.epochs`` epochs (seeded)."""
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed + 1)
    model = ESMM(features.num_users, features.num_items, features.category_sizes, features.profile_sizes,
                 dim=config.embedding_dim, hidden=config.hidden)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)

    ctx = torch.from_numpy(train.ctx)
    item = torch.from_numpy(features.item_index[train.item])
    cats = torch.from_numpy(features.item_categories[train.item])
    count = torch.from_numpy(target_counts(labelled.ctx_hist, train.ctx, train.item, len(features.item_ids)))
    click, conv = torch.from_numpy(train.click), torch.from_numpy(train.conv)

    result = TrainResult(model)
    n = len(train)
    steps = (n + config.batch_size - 1) // config.batch_size
    model.train()
    for epoch in range(config.epochs):
        order = torch.from_numpy(rng.permutation(n))
        totals = {"loss": 0.0, "ctr": 0.0, "ctcvr": 0.0}
        bar = tqdm(range(steps), desc=f"ESMM epoch {epoch + 1}/{config.epochs}", disable=not show_progress, leave=False)
        for step in bar:
            b = order[step * config.batch_size : (step + 1) * config.batch_size]
            # user states once per distinct context of the batch (an order holds many impressions)
            uniq, inverse = torch.unique(ctx[b], return_inverse=True)
            user, target = contexts.user[uniq].clone(), item[b].clone()
            # id dropout trains the cold-start rows (unknown users / items at scoring time)
            if config.id_dropout > 0:
                user[torch.rand(len(uniq)) < config.id_dropout] = USER_COLD
                target[torch.rand(len(b)) < config.id_dropout] = ITEM_COLD
            state = model.user_state(user, contexts.history[uniq], contexts.profile[uniq])[inverse]
            ctr_logit, cvr_logit = model(state, target, cats[b], count[b])
            loss, parts = esmm_loss(ctr_logit, cvr_logit, click[b], conv[b])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            totals["loss"] += float(loss.detach())
            totals["ctr"] += parts["ctr"]
            totals["ctcvr"] += parts["ctcvr"]
            if step % 50 == 0:
                bar.set_postfix(loss=f"{float(loss.detach()):.4f}")
        means = {k: v / max(steps, 1) for k, v in totals.items()}
        result.epoch_losses.append(means)
        logger.info("ESMM epoch %d/%d: loss %.4f (ctr %.4f, ctcvr %.4f)", epoch + 1, config.epochs,
                 means["loss"], means["ctr"], means["ctcvr"])
    model.eval()
    return result
