"""Every conf/task option composes (with train_rl's defaults) and becomes a typed TaskConfig."""

import pytest
from hydra import compose, initialize_config_dir

from experiments.common import CONFIG_PATH, load_plugins_for_compose, to_config


@pytest.mark.parametrize("task,reward", [("next_item", "taiji"), ("item_tags", "recgpt_tags"),
                                         ("interests", "recgpt_interests"), ("explanations", "recgpt_explanations")])
def test_task_configs_compose(task, reward):
    overrides = [f"task={task}", "weighting=popo_light"]
    load_plugins_for_compose(overrides)
    with initialize_config_dir(config_dir=CONFIG_PATH, version_base="1.3"):
        config = to_config(compose(config_name="config", overrides=overrides))
    assert config.task.name == task and config.reward.name == reward


def test_bad_task_value_names_the_key():
    from rlrec.config import TaskConfig

    with pytest.raises(ValueError, match="task.name='item_tag'.*Did you mean 'item_tags'"):
        TaskConfig(name="item_tag")


@pytest.mark.parametrize("mode", ["explanations", "self_train"])
def test_recgpt_modes_compose(mode):
    overrides = ["task=explanations", f"task.mode={mode}", "task.self_train.rounds=3",
                 "task.self_train.pass_threshold=0.75", "reward.terms.recgpt_judge.params.aggregate=all"]
    load_plugins_for_compose(overrides)
    with initialize_config_dir(config_dir=CONFIG_PATH, version_base="1.3"):
        config = to_config(compose(config_name="config", overrides=overrides))
    assert config.task.mode == mode and config.task.self_train.rounds == 3
    assert config.task.self_train.pass_threshold == 0.75 and config.task.self_train.judge_term in config.reward.terms
    from experiments.recgpt import judge_reward
    from rlrec.stages import RunContext

    judge, key = judge_reward(RunContext(config, None))  # the composed term, built alone (no request is sent)
    assert judge.params.task == "explanations" and judge.params.aggregate == "all" and key[0] == "recgpt_judge"
