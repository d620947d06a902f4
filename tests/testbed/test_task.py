"""Testbed task pieces: tokenizer, rewards of decoded completions, config checks."""

import pytest

from rlrec.testbed.config import TaskConfig, TestbedConfig
from rlrec.testbed.task import a_counts, build_tokenizer, make_rewards


def test_rewards_of_decoded_completions():
    task = TaskConfig(completion_tokens=4, exponent=2.0, scales=[1.0, 2.0])
    tokenizer = build_tokenizer()
    ids = tokenizer("a b a a")["input_ids"]
    assert ids == [3, 4, 3, 3]
    texts = [tokenizer.decode(ids), "b b", "", "a a a a"]
    assert a_counts(texts) == [3, 0, 0, 4]
    share, thrift = make_rewards(task)
    assert share(texts) == [0.75, 0.0, 0.0, 1.0]
    assert thrift(texts) == pytest.approx([2 * (1 - 0.5625), 2.0, 2.0, 0.0])


def test_config_checks():
    from rlrec.config import RLConfig

    with pytest.raises(ValueError, match="exponent"):
        TaskConfig(exponent=0.5)
    with pytest.raises(ValueError, match="max_completion_length"):
        TestbedConfig(rl=RLConfig(max_completion_length=5))
