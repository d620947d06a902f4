"""The two reward-model losses against hand-computed values."""

import math

import pytest
import torch

from rlrec.alignment.losses import pairwise_loss, pointwise_loss


def test_pointwise_loss_is_soft_label_cross_entropy():
    logits = torch.tensor([0.0, math.log(3.0)])  # sigmoid = 0.5, 0.75
    targets = torch.tensor([0.5, 1.0])
    expected = (math.log(2.0) + -math.log(0.75)) / 2  # BCE(0.5 | 0.5) = ln 2; BCE(0.75 | 1) = -ln 0.75
    assert pointwise_loss(logits, targets).item() == pytest.approx(expected, rel=1e-6)
    # minimised where sigmoid(logit) equals the soft label
    grid = torch.linspace(-4, 4, 801)
    best = grid[torch.stack([pointwise_loss(g.view(1), torch.tensor([0.2])) for g in grid]).argmin()]
    assert torch.sigmoid(best).item() == pytest.approx(0.2, abs=0.01)


def test_pointwise_loss_rejects_shape_mismatch():
    with pytest.raises(ValueError, match="logits"):
        pointwise_loss(torch.zeros(2, 1), torch.zeros(2))


def test_pairwise_loss_is_bradley_terry():
    chosen, rejected = torch.tensor([2.0, 0.0]), torch.tensor([0.0, 0.0])
    expected = (math.log1p(math.exp(-2.0)) + math.log(2.0)) / 2
    assert pairwise_loss(chosen, rejected).item() == pytest.approx(expected, rel=1e-6)
    with_margin = (math.log1p(math.exp(-1.0)) + math.log(2.0)) / 2
    assert pairwise_loss(chosen, rejected, torch.tensor([1.0, 0.0])).item() == pytest.approx(with_margin, rel=1e-6)
