"""Every config under conf/ composes against the typed schema, and typos fail at compose time."""

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from experiments.common import CONFIG_PATH, to_config
from rlrec.config import Config, ConfigError

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


# ------------------------------------------------------------------- issue 14: findings 3, 12, 16


@pytest.mark.parametrize(
    "overrides,message",
    [
        # 3: ``+key=value`` (what Hydra's own error suggests for an unknown key) used to be accepted and ignored
        (["+rl.learning_rat=1e-5"], "rl.learning_rat is not a field of RLConfig. Did you mean 'learning_rate'"),
        (["++rl.learning_rat=1e-5"], "Did you mean 'learning_rate'"),
        (["+sft.lora.rr=4"], "sft.lora.rr is not a field of LoraConfig"),
        (["+data.split.tset=0.1"], "Did you mean 'test'"),
        (["+rl.output_dir=runs/x"], "rl.output_dir is not a field of RLConfig"),  # 4: removed, read by nothing
        # 12: these used to fail only when their stage started (RL: after SFT had run)
        (["weighting=popo", "weighting.params.mu=0"], "weighting.params.mu must be > 0"),
        (["weighting=popo", "weighting.params.smoothing=2"], "smoothing must be in"),
        (["weighting=popo_light", "weighting.params.eps=-1"], "weighting.params.eps must be > 0"),
        (["rl.scale_rewards=bogus"], "rl.scale_rewards='bogus' is not one of group, batch, none"),
        (["rl.loss_type=grop"], "rl.loss_type='grop'.*Did you mean 'grpo'"),
        (["rl.multi_objective_aggregation=sum"], "rl.multi_objective_aggregation='sum'"),
        (["rl.lr_scheduler=cosin"], "rl.lr_scheduler='cosin'.*Did you mean 'cosine'"),
        (["sft.lr_scheduler=linar"], "sft.lr_scheduler='linar'"),
        (["rl.learning_rate=0"], "rl.learning_rate=0.0: must be > 0"),
        (["weighting.initial_weights=[1,2,3]"], "3 values for 2 rewards"),
        (["logger.mode=onlin"], "logger.mode='onlin'"),
        (["weighting.name=popp"], "weighting.name: unknown weighting strategy 'popp'. Did you mean 'popo'"),
        (["data.name=instacar"], "data.name: unknown data loader 'instacar'"),
        (["eval.backend=vlm"], "eval.backend: unknown generation backend 'vlm'"),
        (["distill.teacher.backend=openia"], "distill.teacher.backend: unknown teacher backend 'openia'"),
        (["logger.backends=[local,wandbb]"], "logger.backends: unknown logger backend 'wandbb'"),
    ],
)
def test_config_mistakes_fail_before_the_first_stage(overrides, message):
    """Issue 14 #3, #4, #12: what every entry point's ``setup`` does first (convert the composed config, whose
    groups validate themselves in ``__post_init__``, then check registry names once plugins are imported) raises,
    naming the key and the fix."""
    from experiments.common import check_registered

    with pytest.raises(ConfigError, match=message):
        check_registered(to_config(_compose(*overrides)))


def test_every_composed_option_passes_the_name_check():
    from experiments.common import check_registered

    for override in _options():
        check_registered(to_config(_compose(override)))


def test_model_max_new_tokens_reaches_every_stage_that_leaves_it_unset():
    """#16: ``model.max_new_tokens`` used to stop at the stage presets' own numbers (rl/quick: 96, sft/quick: 128)."""
    from rlrec.trainers.build import grpo_args

    for overrides in ([], ["experiment=quick"], ["experiment=paper", "rl=paper", "sft=paper"], ["sft=lora"]):
        config = to_config(_compose(*overrides, "model.max_new_tokens=64"))
        assert config.rl.max_completion_length is None and config.sft.eval_max_new_tokens is None, overrides
        assert config.eval.max_new_tokens is None
        assert grpo_args(config.rl, config.model, "/tmp/unused", use_cpu=True).max_completion_length == 64
    pinned = to_config(_compose("model.max_new_tokens=64", "rl.max_completion_length=32"))
    assert grpo_args(pinned.rl, pinned.model, "/tmp/unused", use_cpu=True).max_completion_length == 32


def test_sft_format_eval_generates_model_max_new_tokens_when_unset(monkeypatch):
    """#16: the SFT format evaluation reads ``model.max_new_tokens`` when ``sft.eval_max_new_tokens`` is null."""
    import rlrec.assets
    import rlrec.generation
    from rlrec import sft
    from rlrec.config import ModelConfig, SFTConfig

    seen = {}

    class FakeLM:
        def eval(self):
            return self

    monkeypatch.setattr(rlrec.assets, "load_causal_lm", lambda name, dtype, device: (FakeLM(), None))
    monkeypatch.setattr(rlrec.generation, "generate",
                        lambda model, tok, prompts, gen: seen.setdefault("gen", gen) and [["x"] for _ in prompts])
    sft.evaluate_format("m", ["p"], SFTConfig(), ModelConfig(max_new_tokens=64))
    assert seen["gen"].max_new_tokens == 64
    seen.clear()
    sft.evaluate_format("m", ["p"], SFTConfig(eval_max_new_tokens=12), ModelConfig(max_new_tokens=64))
    assert seen["gen"].max_new_tokens == 12


def test_library_name_lists_match_the_installed_libraries():
    """The lists rlrec.config checks names against are those the installed transformers / TRL accept."""
    import inspect
    import re

    import trl.trainer.grpo_trainer as grpo_trainer
    from transformers.trainer_utils import SchedulerType

    from rlrec import config as c

    assert set(c.LR_SCHEDULERS) == {s.value for s in SchedulerType}
    source = inspect.getsource(grpo_trainer)
    trl_losses = set(re.findall(r'loss_type == "(\w+)"', source))
    for group in re.findall(r"loss_type in \[([^\]]+)\]", source):
        trl_losses |= set(re.findall(r'"(\w+)"', group))
    assert set(c.GRPO_LOSS_TYPES) == trl_losses


def test_entry_points_print_a_config_mistake_without_a_traceback(capsys, monkeypatch):
    """#3/#12 at the entry point: ``error: <message>`` and exit status 2, before any stage runs."""
    from experiments.common import setup, user_errors

    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    main = user_errors(lambda cfg: setup(cfg))
    with pytest.raises(SystemExit) as exit_:
        main(_compose("rl.scale_rewards=bogus"))
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip() == "error: rl.scale_rewards='bogus' is not one of group, batch, none."
