"""Reward-hacking monitor metrics against hand-computed values."""

import pytest

from rlrec.trainers.monitor import (
    METRIC_NAMES,
    answer_tokens,
    distinct_n,
    format_valid_rate,
    monitor_metrics,
    top_token_share,
)

BATCH = [
    "<think>a</think><answer>Item title: Cat Toy; Category L1: Pets</answer>",
    [{"role": "assistant", "content": "<think>b</think><answer>Item title: Cat Food; Category L1: Pets</answer>"}],
    "garbage without any answer",
]


def test_answer_tokens_skip_field_names():
    assert answer_tokens(BATCH[0]) == ["cat", "toy", "pets"]
    assert answer_tokens(BATCH[2]) == []
    assert answer_tokens("<answer>cat cat BTS</answer>") == ["cat", "cat", "bts"]  # no title: the raw answer text


def test_metrics_hand_computed():
    # tokens: [cat, toy, pets] + [cat, food, pets]: 6 tokens, counts cat 2, pets 2, toy 1, food 1
    assert format_valid_rate(BATCH) == pytest.approx(2 / 3)
    assert top_token_share(BATCH, k=2) == pytest.approx(4 / 6)
    assert top_token_share(BATCH, k=10) == pytest.approx(1.0)
    assert distinct_n(BATCH, 1) == pytest.approx(4 / 6)
    assert distinct_n(BATCH, 2) == pytest.approx(1.0)  # (cat toy)(toy pets)(cat food)(food pets)


def test_collapse_is_visible():
    collapsed = ["<think>x</think><answer>Item title: cat</answer>"] * 8
    metrics = monitor_metrics(collapsed)
    assert metrics["monitor/top10_token_share"] == 1.0
    assert metrics["monitor/distinct_1"] == pytest.approx(1 / 8)


def test_monitor_metrics_names_and_empty_batch():
    assert tuple(monitor_metrics(BATCH)) == METRIC_NAMES
    assert monitor_metrics([]) == dict.fromkeys(METRIC_NAMES, 0.0)
