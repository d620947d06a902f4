"""The data POPO carries from a rollout to its weight update, as typed records (torchtune ``types.py`` style).

Dimensions: B prompts, G generations per prompt, K rewards, T completion tokens. ``N`` = this rank's B·G
rollout rows; ``n`` = the rows of one micro-batch (``per_device_train_batch_size``).

TRL shuffles a rollout's rows and splits them into micro-batches (``GRPOTrainer._prepare_inputs``) between the
rollout and the updates. The rollout record stays whole on the trainer; only each row's index
(:data:`ROW_INDEX_KEY`, ``[N]``) travels with TRL's rows, and :meth:`PopoRollout.rows` gathers a micro-batch's
rows of every field from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import Tensor

from rlrec.weighting import advantage_moments, combined_advantages, per_reward_advantages

__all__ = ["ROW_INDEX_KEY", "PopoRollout", "PopoUpdate"]

ROW_INDEX_KEY = "rlrec_popo_row"  # the key TRL's rows carry: each row's index into the rollout record


@dataclass
class PopoRollout:
    """POPO's view of one rollout batch (this rank's rows), built when the batch's rewards are gathered.

    ``advantages`` drive the K per-reward objectives ``L_k`` of Eq. 6; ``deviation`` and ``covariance`` (the
    :class:`rlrec.weighting.AdvantageMoments`) give TRL's advantage of the combined reward (Eq. 9 then 8)
    for any weights, so a micro-batch's advantages follow the weights POPO has moved since the rollout.
    """

    advantages: Tensor  # [N, K] A^k: reward k alone, group-centred, scaled per scale_rewards
    deviation: Tensor  # [N, K] each row's reward vector minus its centre; NaN row = unscorable
    covariance: Tensor | None  # [N, K, K] covariance of each row's spread set; None = unscaled advantages

    @classmethod
    def from_rewards(
        cls, rewards: Tensor, rows: slice, num_generations: int, aggregation: str, scale: str
    ) -> PopoRollout:
        """From the gathered rewards ``[B·G (all ranks), K]``; ``rows`` selects this rank's N rows."""
        moments = advantage_moments(rewards, num_generations, aggregation, scale)
        return cls(
            advantages=per_reward_advantages(rewards, num_generations, scale)[rows],
            deviation=moments.deviation[rows],
            covariance=None if moments.covariance is None else moments.covariance[rows],
        )

    def rows(self, index: Tensor) -> PopoRollout:
        """The rows ``index`` ``[n]`` (a micro-batch's :data:`ROW_INDEX_KEY`), in that order."""
        index = index.to(self.deviation.device)
        return PopoRollout(
            advantages=self.advantages[index],
            deviation=self.deviation[index],
            covariance=None if self.covariance is None else self.covariance[index],
        )

    def combined_advantages(self, weights: Tensor) -> Tensor:
        """TRL's advantage ``[N]`` of ``r̃ = Σ_k w_k r_k`` for ``weights`` ``[K]`` (Eq. 9, then Eq. 8)."""
        return combined_advantages(self.deviation, self.covariance, weights)


@dataclass
class PopoUpdate:
    """Everything one POPO weight update reads: a micro-batch's rollout rows and its training-forward inputs."""

    rollout: PopoRollout  # the micro-batch's n rows
    mask: Tensor  # [n, T] completion tokens that count (TRL's completion_mask, times tool_mask)
    old_logps: Tensor | None  # [n, T] log-probs of the sampling policy; None = on-policy (ratio ρ = 1)
    ref_logps: Tensor | None  # [n, T] reference-policy log-probs (β > 0), for include_kl
    batch: dict[str, Any]  # TRL's micro-batch; the update replaces batch["advantages"] [n] before TRL's loss reads it

    @classmethod
    def of(cls, rollout: PopoRollout, batch: dict[str, Any]) -> PopoUpdate:
        mask = batch["completion_mask"] if "tool_mask" not in batch else batch["completion_mask"] * batch["tool_mask"]
        return cls(rollout, mask, batch.get("old_per_token_logps"), batch.get("ref_per_token_logps"), batch)
