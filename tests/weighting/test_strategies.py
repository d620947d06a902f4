"""Strategy objects: construction from config, updates, state round trips, and every conf/weighting preset."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from rlrec.config import WeightingConfig
from rlrec.weighting import WEIGHTING_STRATEGIES, FixedWeights, Popo, PopoLight, build_strategy

CONF = Path(__file__).resolve().parents[2] / "conf"
NAMES = ["semantic", "ctcvr"]


def test_fixed_weights_are_the_normalised_initial_weights():
    s = build_strategy(WeightingConfig(name="fixed"), NAMES, [0.5, 0.5])
    assert isinstance(s, FixedWeights) and s.weights().tolist() == [0.5, 0.5]
    s.observe_rewards(torch.rand(8, 2), 4)
    assert s.weights().tolist() == [0.5, 0.5]
    assert build_strategy(WeightingConfig(name="fixed", initial_weights=[3.0, 1.0]), NAMES, [0.5, 0.5]).weights().tolist() == [
        0.75,
        0.25,
    ]
    assert build_strategy(WeightingConfig(name="fixed"), NAMES).weights().tolist() == [0.5, 0.5]  # uniform


def test_bad_initial_weights_name_the_field():
    with pytest.raises(ValueError, match="weighting.initial_weights"):
        build_strategy(WeightingConfig(name="fixed", initial_weights=[1.0]), NAMES)
    with pytest.raises(ValueError, match=">= 0"):
        build_strategy(WeightingConfig(name="fixed", initial_weights=[-1.0, 2.0]), NAMES)


def test_unknown_strategy_suggests_a_name():
    with pytest.raises(KeyError, match="Did you mean 'popo_light'"):
        build_strategy(WeightingConfig(name="popo_lite"), NAMES)


def test_popo_light_updates_and_keeps_weights_when_degenerate():
    s = build_strategy(WeightingConfig(name="popo_light", params={"eps": 0.5}), NAMES, [0.5, 0.5])
    rewards = torch.tensor([[1.0, 0.0], [3.0, 2.0], [2.0, 4.0], [2.0, float("nan")]])
    metrics = s.observe_rewards(rewards, 2)
    assert s.weights().tolist() == pytest.approx([0.459029, 0.540971], abs=1e-6)
    assert metrics["popo_light/degenerate"] == 0.0
    metrics = s.observe_rewards(torch.ones(4, 2), 2)  # every reward saturated: no information
    assert metrics["popo_light/degenerate"] == 1.0
    assert s.weights().tolist() == pytest.approx([0.459029, 0.540971], abs=1e-6)


def test_popo_eta_follows_the_policy_lr_or_is_constant():
    gram = torch.tensor([[4.0, 1.0], [1.0, 1.0]])
    s = build_strategy(WeightingConfig(name="popo", params={"mu": 0.5}), NAMES, [0.5, 0.5])  # eta None: η(t) = lr
    metrics = s.observe_gram(gram, lr=0.1)
    assert s.weights().tolist() == pytest.approx([0.645656, 0.354344], abs=1e-6)
    assert metrics["popo/influence/semantic"] == 5.0 and metrics["popo/grad_norm/semantic"] == 2.0
    assert metrics["popo/grad_cosine/semantic__ctcvr"] == pytest.approx(0.5)
    constant = build_strategy(WeightingConfig(name="popo", params={"mu": 0.5, "eta": 0.1}), NAMES, [0.5, 0.5])
    constant.observe_gram(gram, lr=123.0)
    assert constant.weights().tolist() == pytest.approx([0.645656, 0.354344], abs=1e-6)


def test_popo_reward_order_invariance():
    gram = torch.tensor([[4.0, 1.0, 0.5], [1.0, 1.0, -0.2], [0.5, -0.2, 2.0]])
    perm = [2, 0, 1]
    a = Popo(["a", "b", "c"], [0.2, 0.3, 0.5], Popo.Params(mu=1.0, eta=0.3))
    b = Popo(["c", "a", "b"], [0.5, 0.2, 0.3], Popo.Params(mu=1.0, eta=0.3))
    a.observe_gram(gram, lr=0.0)
    b.observe_gram(gram[perm][:, perm], lr=0.0)
    torch.testing.assert_close(b.weights(), a.weights()[perm])


@pytest.mark.parametrize("name", ["fixed", "popo_light", "popo"])
def test_state_dict_round_trip_continues_the_trajectory(name):
    torch.manual_seed(0)
    config = WeightingConfig(name=name, params={"mu": 0.5, "eta": 0.2} if name == "popo" else {})
    stream = [(torch.rand(8, 2), torch.rand(2, 2)) for _ in range(4)]

    def step(s, rewards, g):
        s.observe_rewards(rewards, 4)
        if s.gradient_spec is not None:
            s.observe_gram(g @ g.T, lr=0.0)
        return s.weights()

    full = build_strategy(config, NAMES, [0.5, 0.5])
    trajectory = [step(full, r, g) for r, g in stream]
    first = build_strategy(config, NAMES, [0.5, 0.5])
    for r, g in stream[:2]:
        step(first, r, g)
    resumed = build_strategy(config, NAMES, [0.5, 0.5])
    resumed.load_state_dict(first.state_dict())
    for t, (r, g) in enumerate(stream[2:], start=2):
        torch.testing.assert_close(step(resumed, r, g), trajectory[t])


def test_state_for_other_rewards_is_rejected():
    state = PopoLight(["a", "b"]).state_dict()
    with pytest.raises(ValueError, match="same reward set"):
        PopoLight(["b", "a"]).load_state_dict(state)


def test_popo_smoothing_applies_to_reported_weights_only():
    s = Popo(NAMES, [0.5, 0.5], {"mu": 0.5, "eta": 0.1, "smoothing": 0.1})
    s.observe_gram(torch.tensor([[4.0, 1.0], [1.0, 1.0]]), lr=0.0)
    assert s.weights().tolist() == pytest.approx([0.631090, 0.368910], abs=1e-6)
    assert s.log_weights.exp().tolist() == pytest.approx([0.645656, 0.354344], abs=1e-6)
    assert math.isclose(float(s.weights().sum()), 1.0, rel_tol=1e-6)


def test_every_weighting_preset_composes_and_builds():
    from hydra import compose, initialize_config_dir

    from experiments.common import to_config

    presets = sorted(p.stem for p in (CONF / "weighting").glob("*.yaml"))
    assert set(WEIGHTING_STRATEGIES.names()) <= set(presets)  # one YAML per strategy, plus presets (lu_gradient: popo)
    rl_presets = sorted(p.stem for p in (CONF / "rl").glob("*.yaml"))
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        for preset in presets:
            for rl in rl_presets:
                config = to_config(compose(config_name="config", overrides=[f"weighting={preset}", f"rl={rl}"]))
                strategy = build_strategy(config.weighting, NAMES, [0.5, 0.5])
                assert strategy.weights().tolist() == [0.5, 0.5]
                assert config.rl.num_generations == 4


@pytest.mark.parametrize(
    "override,message",
    [
        ("weighting.params.mux=1", "weighting.params.mux"),  # not in Popo.Params: Hydra refuses the override
        ("weighting.params.mu=small", "weighting.params.mu=small"),  # wrong type
        ("+weighting.params.mux=1", "Did you mean 'mu'"),  # appended by Hydra, refused by to_config
    ],
)
def test_typo_in_a_strategy_param_fails_before_anything_runs(override, message):
    from hydra import compose, initialize_config_dir
    from hydra.errors import ConfigCompositionException

    from experiments.common import to_config

    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        with pytest.raises((ConfigCompositionException, ValueError), match=message):
            to_config(compose(config_name="config", overrides=["weighting=popo", override]))


def test_popo_light_params_and_strategy_state_name():
    s = build_strategy(WeightingConfig(name="popo_light", params=PopoLight.Params(eps=0.25)), NAMES)
    assert s.params.eps == 0.25 and s.state_dict()["strategy"] == "popo_light"
    with pytest.raises(ValueError, match="unknown parameter 'mu'"):
        build_strategy(WeightingConfig(name="popo_light", params={"mu": 1.0}), NAMES)  # a mapping from Python
    with pytest.raises(ValueError, match="resume with weighting=popo_light"):
        FixedWeights(NAMES).load_state_dict(s.state_dict())
    legacy = {k: v for k, v in s.state_dict().items() if k != "strategy"}  # checkpoints before plugins
    PopoLight(NAMES).load_state_dict(legacy)


def _trained_state(name: str, legacy: bool) -> dict:
    """The state a strategy writes after a few updates; ``legacy``: as written before states named their strategy."""
    strategy = build_strategy(WeightingConfig(name=name, params={"mu": 0.5, "eta": 0.1} if name == "popo" else {}),
                              NAMES, [0.5, 0.5])
    if name == "popo":
        strategy.observe_gram(torch.tensor([[4.0, 1.0], [1.0, 1.0]]), lr=0.0)
    elif name == "popo_light":
        strategy.observe_rewards(torch.tensor([[0.0, 1.0], [1.0, 1.0], [0.2, 1.0], [0.9, 0.0]]), num_generations=2)
    state = strategy.state_dict()
    return {k: v for k, v in state.items() if k != "strategy"} if legacy else state


@pytest.mark.parametrize("legacy", [False, True], ids=["named", "legacy"])
@pytest.mark.parametrize(
    "written_by,resumed_as",
    [("popo", "fixed"), ("fixed", "popo"), ("popo_light", "fixed"), ("popo", "popo_light"), ("fixed", "popo_light")],
)
def test_resuming_with_another_strategy_is_a_clear_error(written_by, resumed_as, legacy):
    """Issue 14 #5: weighting=fixed resumed from a POPO state trained with POPO's weights (0.606/0.394), and
    weighting=popo resumed from a fixed state died with KeyError: 'log_weights'. Both directions now raise,
    naming the strategy that wrote the state and the two ways out. (A legacy fixed state read by POPO-light is
    indistinguishable from POPO-light's own before any update, and harmless: its weights are the initial ones.)"""
    state = _trained_state(written_by, legacy)
    if legacy and (written_by, resumed_as) == ("fixed", "popo_light"):
        PopoLight(NAMES).load_state_dict(state)
        return
    strategy = build_strategy(WeightingConfig(name=resumed_as), NAMES, [0.5, 0.5])
    with pytest.raises(ValueError, match=rf"resume with weighting={written_by}; to train with weighting={resumed_as}, "
                                         r"start afresh \(rl.resume_from_checkpoint=null\)"):
        strategy.load_state_dict(state)
    assert strategy.weights().tolist() == [0.5, 0.5]  # nothing half-loaded


@pytest.mark.parametrize("name", ["fixed", "popo", "popo_light"])
@pytest.mark.parametrize("legacy", [False, True], ids=["named", "legacy"])
def test_a_strategy_resumes_its_own_state_exactly(name, legacy):
    state = _trained_state(name, legacy)
    strategy = build_strategy(WeightingConfig(name=name, params={"mu": 0.5, "eta": 0.1} if name == "popo" else {}),
                              NAMES, [0.9, 0.1])
    strategy.load_state_dict(state)
    assert strategy.state_dict()["weights"] == state["weights"] and strategy.updates == state["updates"]
