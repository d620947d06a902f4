"""Every ``conf/reward`` file composes, parameters are checked at compose time, and sets build."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException

from experiments.common import CONFIG_PATH, to_config
from rewards import REWARDS
from rewards.core.params import validate_params
from rlrec.registry import RegistryError

REWARD_CONF = Path(CONFIG_PATH) / "reward"
FILES = sorted(p.stem for p in REWARD_CONF.glob("*.yaml"))


def _compose(*overrides: str, config_dir: str = CONFIG_PATH):
    with initialize_config_dir(config_dir=config_dir, version_base="1.3"):
        return compose("config", overrides=list(overrides))


@pytest.mark.parametrize("stem", FILES)
def test_every_reward_file_composes_and_its_params_validate(stem):
    config = to_config(_compose(f"reward={stem}"))
    assert config.reward.terms, f"conf/reward/{stem}.yaml has no reward terms"
    for term_name, term in config.reward.terms.items():
        cls = REWARDS.get(term.reward or term_name)
        assert isinstance(term.params, cls.Params)  # the compose-time schema was applied
        validate_params(cls.Params, term.params, where=term_name)


def test_every_registered_reward_has_its_own_file():
    for name in REWARDS.names():
        config = to_config(_compose(f"reward={name}"))
        assert list(config.reward.terms) == [name]


def test_default_set_is_taiji_with_half_half_weights():
    config = to_config(_compose())
    assert config.reward.name == "taiji"
    assert {k: t.weight for k, t in config.reward.terms.items()} == {"semantic_cosine": 0.5, "ctcvr": 0.5}


def test_rewards_can_be_added_to_a_set_on_the_command_line():
    config = to_config(_compose("reward=[taiji,format]", "reward.terms.format.weight=0.2"))
    assert list(config.reward.terms) == ["semantic_cosine", "ctcvr", "format"]
    assert config.reward.terms["format"].weight == 0.2 and config.reward.name == "taiji"


@pytest.mark.parametrize("override", [
    "reward.terms.semantic_cosine.params.batch_szie=8",  # misspelt key
    "reward.terms.semantic_cosine.params.batch_size=lots",  # wrong type
    "reward.terms.semantic_cosine.wieght=1.0",  # misspelt term field
])
def test_command_line_typos_fail_at_compose(override):
    with pytest.raises(ConfigCompositionException):
        _compose(override)


def test_a_typo_inside_a_reward_file_fails_at_compose(tmp_path):
    conf = tmp_path / "conf"
    shutil.copytree(CONFIG_PATH, conf)
    path = conf / "reward" / "format.yaml"
    path.write_text(path.read_text().replace("think_tag_weight:", "think_tag_wieght:"))
    _compose("reward=category_match", config_dir=str(conf))  # other files are unaffected
    with pytest.raises(ConfigCompositionException):
        _compose("reward=format", config_dir=str(conf))


def test_unknown_reward_in_a_set_names_the_closest():
    from rewards import build_reward_set
    from rlrec.config import RewardConfig, RewardTermConfig

    with pytest.raises(RegistryError, match="Did you mean 'category_match'"):
        build_reward_set(RewardConfig(terms={"category_mach": RewardTermConfig()}))
