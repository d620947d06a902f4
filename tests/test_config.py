"""Every config under conf/ composes against the typed schema, and typos fail at compose time."""

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from experiments.common import CONFIG_PATH, to_config
from rlrec.config import Config

CONF = Path(CONFIG_PATH)
# Not Hydra groups of the root config: accelerate launcher files and multirun presets (tested on their own).
NOT_GROUPS = {"accelerate", "sweep", "hydra"}


def _options():
    for group in sorted(p for p in CONF.iterdir() if p.is_dir() and p.name not in NOT_GROUPS):
        for option in sorted(group.glob("*.yaml")):
            yield f"{group.name}={option.stem}"


def _compose(*overrides):
    with initialize_config_dir(config_dir=CONFIG_PATH, version_base="1.3"):
        cfg = compose("config", overrides=list(overrides))
    for key in OmegaConf.missing_keys(cfg):  # e.g. data.path for bring-your-own data
        OmegaConf.update(cfg, key, "/path/set/by/test")
    return cfg


@pytest.mark.parametrize("override", list(_options()))
def test_every_option_composes_into_the_typed_config(override):
    config = to_config(_compose(override))
    assert isinstance(config, Config)


def test_default_config_is_the_dataclass_defaults_where_yaml_is_silent():
    config = to_config(_compose())
    assert config.data.name == "instacart" and config.model.policy == "embedded:smollm2"


def test_typo_in_a_key_fails_at_compose_time():
    with pytest.raises(ConfigCompositionException):
        _compose("data.histroy_len=3")


def test_wrong_type_fails_at_compose_time():
    with pytest.raises(ConfigCompositionException):
        _compose("data.history_len=lots")


def test_bad_split_fractions_are_rejected_with_the_values():
    with pytest.raises(Exception, match="sum to 1"):
        to_config(_compose("data.split.sft=0.9"))
