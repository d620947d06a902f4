"""The reward base class, registry, parameter validation and per-step statistics."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import pytest
from reward_toys import completion

import rewards
from rewards import REWARDS, MissingColumnError, Reward, RewardError, RewardParams, make_reward, register_reward
from rewards.core import base
from rlrec.registry import Registry, RegistryError

EXPECTED = {"semantic_cosine", "ctcvr", "alignment_score", "format", "category_match", "judge", "novelty"}


@pytest.fixture()
def scratch_registry(monkeypatch):
    """A private registry so test rewards do not leak into ``REWARDS``."""
    reg = Registry("reward")
    monkeypatch.setattr(base, "REWARDS", reg)
    return reg


def _title_match_class(register):
    @register("title_match", higher_is_better=True, range=(0.0, 1.0), description="toy")
    class TitleMatch(Reward):
        columns = ("target_title",)

        @dataclass
        class Params(RewardParams):
            unparseable_value: float | None = None
            scale: float = 1.0

        def score(self, prompts, parsed, columns):
            # 1 on a match, NaN ("not applicable") when the target title is empty, else 0
            return [
                math.nan if not t else self.params.scale * (p.title == t)
                for p, t in zip(parsed, columns["target_title"])
            ]

    return TitleMatch


def test_every_issue_reward_is_registered_with_metadata():
    assert EXPECTED <= set(REWARDS.names())
    for name in EXPECTED:
        meta = REWARDS.metadata(name)
        lo, hi = meta["range"]
        assert lo <= hi and isinstance(meta["higher_is_better"], bool) and meta["description"]


def test_register_reward_records_metadata_and_name(scratch_registry):
    cls = _title_match_class(register_reward)
    meta = scratch_registry.metadata("title_match")
    assert cls.name == "title_match"
    assert meta["higher_is_better"] is True and meta["range"] == (0.0, 1.0)
    assert meta["columns"] == ["target_title"] and meta["unparseable_value"] is None


def test_duplicate_reward_name_raises(scratch_registry):
    _title_match_class(register_reward)
    with pytest.raises(RegistryError, match="already registered"):
        _title_match_class(register_reward)


def test_register_reward_rejects_non_rewards_and_bad_ranges(scratch_registry):
    with pytest.raises(TypeError, match="subclass of rewards.Reward"):
        register_reward("x")(object)
    with pytest.raises(ValueError, match="lo <= hi"):
        register_reward("y", range=(1.0, 0.0))


def test_unknown_reward_name_suggests_the_closest():
    with pytest.raises(RegistryError) as err:
        make_reward("semantic_cosin")
    assert "Did you mean 'semantic_cosine'" in str(err.value) and "category_match" in str(err.value)


def test_call_scores_unparseable_and_nan(scratch_registry):
    reward = _title_match_class(register_reward)(term="title_match")
    completions = [completion("Banana"), completion("Apple"), "no answer at all", completion("Milk")]
    titles = ["Banana", "Banana", "Banana", ""]
    start = time.perf_counter()
    values = reward(["p"] * 4, completions, target_title=titles, trainer_state=None, log_metric=print)
    elapsed = time.perf_counter() - start
    # match, mismatch, unparseable -> unparseable_value None, NaN from score -> None
    assert values == [1.0, 0.0, None, None]
    stats = reward.stats.pop("title_match")
    assert stats["reward/title_match/mean"] == pytest.approx(0.5)
    assert stats["reward/title_match/std"] == pytest.approx(math.sqrt(0.5))  # Bessel: ((.5² + .5²) / 1) ** .5
    assert stats["reward/title_match/nan_frac"] == pytest.approx(0.5)
    assert stats["reward/title_match/unparseable"] == 1.0
    assert stats["reward/title_match/unparseable_frac"] == pytest.approx(0.25)
    assert 0.0 < stats["reward/title_match/seconds"] <= elapsed  # the call's own time, not a running clock
    assert reward.stats.pop("title_match") == {}  # reset after a pop


def test_stats_accumulate_over_calls_until_popped(scratch_registry):
    reward = _title_match_class(register_reward)()
    reward(["p"], [completion("Banana")], target_title=["Banana"])
    reward(["p", "p"], [completion("Apple"), "junk"], target_title=["Banana", "Banana"])
    stats = reward.stats.pop("title_match")
    assert stats["reward/title_match/mean"] == pytest.approx(0.5)  # values 1, 0, (None)
    assert stats["reward/title_match/nan_frac"] == pytest.approx(1 / 3)


def test_chat_message_completions_are_read(scratch_registry):
    reward = _title_match_class(register_reward)()
    chat = [[{"role": "assistant", "content": completion("Banana")}]]
    assert reward([[{"role": "user", "content": "hi"}]], chat, target_title=["Banana"]) == [1.0]


def test_missing_column_names_reward_and_column(scratch_registry):
    reward = _title_match_class(register_reward)(term="my_term")
    with pytest.raises(MissingColumnError) as err:
        reward(["p"], [completion("Banana")], target_text=["x"], trainer_state=None)
    message = str(err.value)
    assert "'my_term'" in message and "'target_title'" in message and "target_text" in message
    assert "trainer_state" not in message


def test_column_length_and_output_length_are_checked(scratch_registry):
    cls = _title_match_class(register_reward)
    with pytest.raises(RewardError, match="column 'target_title' has 2 values for 1"):
        cls()(["p"], [completion("A")], target_title=["A", "B"])

    class Broken(cls):
        def score(self, prompts, parsed, columns):
            return [1.0, 2.0]

    with pytest.raises(RewardError, match="returned 2 values for 1"):
        Broken()(["p"], [completion("A")], target_title=["A"])


def test_params_validation_rejects_unknown_and_mistyped_keys(scratch_registry):
    _title_match_class(register_reward)
    with pytest.raises(ValueError, match=r"unknown parameter 'scael'\. Did you mean 'scale'\?"):
        make_reward("title_match", {"scael": 2.0})
    with pytest.raises(ValueError, match="parameter 'scale' must be float"):
        make_reward("title_match", {"scale": "big"})
    with pytest.raises(ValueError, match="parameter 'unparseable_value' must be"):
        make_reward("title_match", {"unparseable_value": "zero"})  # float | None
    reward = make_reward("title_match", {"scale": 2, "unparseable_value": 0})
    assert reward.params.scale == 2.0 and isinstance(reward.params.scale, float)
    assert reward(["p", "p"], [completion("A"), "junk"], target_title=["A", "A"]) == [2.0, 0.0]


def test_name_is_the_trl_display_name(scratch_registry):
    from trl.trainer.utils import get_callable_name, is_async_callable

    reward = _title_match_class(register_reward)(term="alias")
    assert get_callable_name(reward) == "alias" and not is_async_callable(reward)


def test_discover_imports_every_module():
    assert {"semantic_cosine", "format_checks", "judge", "novelty"} <= set(rewards.discover())


def test_non_finite_values_are_excluded_counted_and_named(scratch_registry, caplog):
    """Issue 14 #2: a reward returning +inf / -inf is excluded like None (not passed on to poison TRL's group
    mean and std), counted in reward/<name>/nonfinite, and a warning names the reward."""

    @register_reward("blows_up")
    class BlowsUp(Reward):
        def scorable(self, parsed):
            return True

        def score(self, prompts, parsed, columns):
            return [math.inf, 0.5, -math.inf, math.nan]

    reward = BlowsUp(term="blows_up")
    with caplog.at_level("WARNING", logger="rlrec"):
        values = reward(["p"] * 4, ["a", "b", "c", "d"])
    assert values == [None, 0.5, None, None]
    assert "'blows_up'" in caplog.text and "non-finite" in caplog.text
    stats = reward.stats.pop("blows_up")
    assert stats["reward/blows_up/nonfinite"] == 2.0  # inf and -inf; NaN is the documented "not applicable"
    assert stats["reward/blows_up/mean"] == 0.5 and stats["reward/blows_up/nan_frac"] == 0.75


def test_an_infinite_unparseable_value_is_refused_when_the_reward_is_built():
    with pytest.raises(RewardError, match="unparseable_value must be a finite number or null"):
        make_reward("format", {"unparseable_value": math.inf})
