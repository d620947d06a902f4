"""Every conf/alignment preset composes into a typed AlignmentConfig."""

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

import experiments.common as common

CONF = Path(__file__).resolve().parents[2] / "conf"


@pytest.mark.parametrize("preset", sorted(p.stem for p in (CONF / "alignment").glob("*.yaml")))
def test_alignment_presets_compose(preset):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        config = common.to_config(compose(config_name="config", overrides=[f"alignment={preset}"]))
    a = config.alignment
    assert a.context_len == config.simulator.context_len  # one K for the feedback and the novelty model
    assert a.reward_model.modes and a.served_k >= 1
    assert a.reward_model.lora.enabled == (preset == "paper")


def test_alignment_context_len_follows_the_simulator():
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        config = common.to_config(compose(config_name="config", overrides=["simulator.context_len=3"]))
    assert config.alignment.context_len == 3
