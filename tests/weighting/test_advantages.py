"""Advantages of the weighted reward (Eq. 8-9) as functions of w: by hand, and against TRL's formulas."""

from __future__ import annotations

import itertools

import pytest
import torch

from rlrec.weighting.advantages import advantage_moments, combined_advantages, per_reward_advantages

NAN = float("nan")


def _trl_advantages(rewards, weights, G, aggregation, scale):
    """TRL 1.16 ``GRPOTrainer._generate_and_score_completions`` advantage block, transcribed (L2756-2811)."""
    from trl.trainer.utils import nanstd

    unscorable = torch.isnan(rewards).all(dim=1)
    if aggregation == "sum_then_normalize":
        r = (rewards * weights.unsqueeze(0)).nansum(dim=1)
        r[unscorable] = torch.nan
        mean = torch.nanmean(r.view(-1, G), dim=1).repeat_interleave(G, dim=0)
        if scale in ["group", "none"]:
            std = nanstd(r.view(-1, G), dim=1).repeat_interleave(G, dim=0)
        else:
            std = nanstd(r).expand_as(r)
        adv = r - mean
        if scale != "none":
            adv = adv / (std + 1e-4)
    else:
        grouped = rewards.view(-1, G, rewards.shape[1])
        z = (grouped - torch.nanmean(grouped, dim=1, keepdim=True)) / (nanstd(grouped, dim=1, keepdim=True) + 1e-4)
        r = (z.view(-1, rewards.shape[1]) * weights.unsqueeze(0)).nansum(dim=1)
        r[unscorable] = torch.nan
        adv = (r - torch.nanmean(r)) / (nanstd(r).expand_as(r) + 1e-4)
    return torch.nan_to_num(adv, nan=0.0)


def test_combined_advantage_by_hand():
    # G = 2, w = (0.5, 0.5): r~ = [0.5, 2.5 | 2.0, 1.0] (NaN counts as 0 in the weighted sum, as in TRL)
    rewards = torch.tensor([[1.0, 0.0], [3.0, 2.0], [2.0, 2.0], [2.0, NAN]])
    m = advantage_moments(rewards, 2)
    adv = combined_advantages(m.deviation, m.covariance, torch.tensor([0.5, 0.5]))
    s1, s2 = 2**0.5, 0.5**0.5  # unbiased group stds
    expected = [-1 / (s1 + 1e-4), 1 / (s1 + 1e-4), 0.5 / (s2 + 1e-4), -0.5 / (s2 + 1e-4)]
    assert adv.tolist() == pytest.approx(expected, abs=1e-6)


def test_per_reward_advantages_by_hand():
    rewards = torch.tensor([[1.0, 0.0], [3.0, 2.0], [2.0, 2.0], [2.0, NAN]])
    adv = per_reward_advantages(rewards, 2, "group")
    s = 2**0.5 + 1e-4
    # reward a: groups [1, 3] -> -+1/s, [2, 2] -> 0; reward b: [0, 2] -> -+1/s, [2, NaN] -> no std -> 0
    assert adv[:, 0].tolist() == pytest.approx([-1 / s, 1 / s, 0.0, 0.0], abs=1e-6)
    assert adv[:, 1].tolist() == pytest.approx([-1 / s, 1 / s, 0.0, 0.0], abs=1e-6)
    assert per_reward_advantages(rewards, 2, "none")[:, 0].tolist() == pytest.approx([-1, 1, 0, 0])


@pytest.mark.parametrize(
    "aggregation,scale", list(itertools.product(["sum_then_normalize", "normalize_then_sum"], ["group", "batch", "none"]))
)
def test_moments_reproduce_trl_for_any_weights(aggregation, scale):
    torch.manual_seed(0)
    G = 4
    rewards = torch.rand(16, 3)
    rewards[3, 1] = NAN  # a reward not applicable to one completion
    rewards[9] = NAN  # an unscorable completion
    rewards[12:16, 2] = 0.7  # a zero-variance group for one reward
    m = advantage_moments(rewards, G, aggregation, scale)
    for weights in [torch.tensor([0.5, 0.25, 0.25]), torch.tensor([0.9, 0.0, 0.1]), torch.tensor([1.0, 2.0, 3.0])]:
        ours = combined_advantages(m.deviation, m.covariance, weights)
        torch.testing.assert_close(ours, _trl_advantages(rewards, weights, G, aggregation, scale), atol=2e-5, rtol=1e-4)


def test_per_reward_advantage_equals_one_hot_combined():
    torch.manual_seed(2)
    rewards = torch.rand(8, 2)
    m = advantage_moments(rewards, 4)
    for k in range(2):
        one_hot = torch.nn.functional.one_hot(torch.tensor(k), 2).float()
        torch.testing.assert_close(
            combined_advantages(m.deviation, m.covariance, one_hot), per_reward_advantages(rewards, 4)[:, k]
        )


def test_unknown_aggregation_names_the_field():
    with pytest.raises(ValueError, match="rl.multi_objective_aggregation"):
        advantage_moments(torch.rand(4, 2), 2, aggregation="mean")
