"""ESMM shapes and the entire-space loss against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch

from rlrec.simulator.esmm import ESMM, esmm_loss, log1mexp


def _model(profile_sizes=(3,)) -> ESMM:
    torch.manual_seed(0)
    return ESMM(num_users=5, num_items=7, category_sizes=[4, 6], profile_sizes=list(profile_sizes), dim=8, hidden=[16, 8])


def test_shapes_and_probabilities():
    model = _model()
    C, N = 3, 5
    history = torch.tensor([[0, 0, 2, 3], [0, 0, 0, 0], [2, 2, 4, 5]])  # 0 = padding
    state = model.user_state(torch.tensor([1, 0, 4]), history, torch.tensor([[1], [0], [2]]))
    assert state.shape == (C, model.state_dim) == (3, 8 * 3)
    # an all-padding history pools to exactly zero
    assert torch.all(state[1, 8:16] == 0)
    ctx = torch.tensor([0, 0, 1, 2, 2])
    ctr, cvr = model(state[ctx], torch.tensor([1, 2, 3, 4, 6]), torch.tensor([[1, 2]] * N), torch.zeros(N))
    assert ctr.shape == cvr.shape == (N,)
    p_ctr, p_cvr, p_ctcvr = ESMM.probabilities(ctr, cvr)
    assert torch.allclose(p_ctcvr, p_ctr * p_cvr)
    assert torch.all((p_ctcvr <= p_ctr) & (p_ctcvr >= 0))


def test_history_pool_is_mean_of_non_padding_embeddings():
    model = _model(profile_sizes=())
    history = torch.tensor([[0, 2, 3, 3]])
    state = model.user_state(torch.tensor([1]), history, torch.zeros(1, 0, dtype=torch.long))
    expected = (model.item.weight[2] + 2 * model.item.weight[3]) / 3
    assert torch.allclose(state[0, 8:16], expected, atol=1e-6)


def test_log1mexp_matches_naive_formula():
    x = torch.tensor([-1e-3, -0.5, -0.7, -5.0, -30.0], dtype=torch.float64)
    assert torch.allclose(log1mexp(x), torch.log(1 - torch.exp(x)), rtol=1e-9)


def test_esmm_loss_hand_computed():
    # two impressions: clicked & converted, and not clicked
    a = torch.tensor([0.0, math.log(3.0)])  # pCTR = 0.5, 0.75
    b = torch.tensor([math.log(3.0), 0.0])  # pCVR = 0.75, 0.5
    click = torch.tensor([1.0, 0.0])
    conv = torch.tensor([1.0, 0.0])
    loss, parts = esmm_loss(a, b, click, conv)
    ctr = -(math.log(0.5) + math.log(1 - 0.75)) / 2
    ctcvr = -(math.log(0.5 * 0.75) + math.log(1 - 0.75 * 0.5)) / 2
    assert parts["ctr"] == pytest.approx(ctr, rel=1e-6)
    assert parts["ctcvr"] == pytest.approx(ctcvr, rel=1e-6)
    assert float(loss) == pytest.approx(ctr + ctcvr, rel=1e-6)


def test_conversion_without_click_is_not_a_ctcvr_positive():
    a, b = torch.tensor([0.0]), torch.tensor([0.0])
    _, parts = esmm_loss(a, b, torch.tensor([0.0]), torch.tensor([1.0]))
    assert parts["ctcvr"] == pytest.approx(-math.log(1 - 0.25), rel=1e-6)
