"""The three RecGPT rewards: ``recgpt_tag_format`` against hand-computed weighted shares, ``recgpt_tag_hit`` on a
toy catalogue whose towers retrieve a known category, ``recgpt_judge`` through a rule-based OpenAI-compatible
judge (rubric per task, criteria validation, caching)."""

from __future__ import annotations

import pytest
from judge_stub import RuleJudge, judge_params
from recgpt_toys import toy_log as _log

from rewards import make_reward
from rewards.core.base import RewardError
from rewards.core.resources import Resources, catalog_key
from rewards.judging.rubric import CRITERIA
from rlrec.config import Config, TaskConfig
from rlrec.data.schema import InteractionLog
from rlrec.recgpt.rubrics import EXPLANATION_CRITERIA, INTEREST_CRITERIA
from rlrec.recgpt.towers import TowerConfig, save_towers, train_towers, training_pairs


def _resources(log: InteractionLog, **task) -> Resources:
    config = Config(task=TaskConfig(name="item_tags", **task))
    return (Resources(config).provide(catalog_key(config), log.catalog)
            .provide(("log", repr(config.data)), log))


def _tags(*tags: str, think: bool = True) -> str:
    body = "\n".join(f"Tag: {t}; Interest: i; Reason: r" for t in tags)
    return ("<think>plan</think>" if think else "") + f"<answer>\n{body}\n</answer>"


# ------------------------------------------------------------------------------------------ recgpt_tag_format


def test_tag_format_hand_computed_weighted_shares():
    res = _resources(_log(), min_tags=3, max_tags=4)  # broad words: the top-level names (produce, dairy, eggs, …)
    completions = [
        _tags("greek yogurt", "salted butter", "oat milk"),  # every constraint met
        # 4 unique tags (count ok), 1 of 4 specific (yogurt: one word; dairy eggs, bakery foods: all broad words),
        # one duplicate (Salted Butter)
        _tags("yogurt", "dairy eggs", "salted butter", "Salted Butter", "bakery foods"),
        _tags("greek yogurt", "oat milk", think=False),  # 2 tags < 3, no <think>
        _tags("greek yogurt", "oat milk", "rye bread", "vanilla ice cream", "dark chocolate"),  # 5 > 4
        "<think>I cannot help with that</think><answer></answer>",  # no tag line at all: unparseable
    ]
    expected = [(1 + 1 + 1 + 1) / 4, (1 + 1 / 4 + 0 + 1) / 4, (0 + 1 + 1 + 0) / 4, (0 + 1 + 1 + 1) / 4, 0.0]
    reward = make_reward("recgpt_tag_format", {}, res)
    assert reward(["p"] * 5, completions) == pytest.approx(expected)
    stats = reward.stats.pop("f")
    assert stats["reward/f/unparseable"] == 1.0
    weighted = make_reward("recgpt_tag_format", {"count_weight": 2.0, "no_duplicates_weight": 0.0,
                                                 "unparseable_value": -1.0}, res)
    assert weighted(["p"] * 5, completions) == pytest.approx(
        [1.0, (2 + 1 / 4 + 0 + 1) / 4, (0 + 1 + 0 + 0) / 4, (0 + 1 + 0 + 1) / 4, -1.0])


def test_tag_format_reads_the_task_bounds_and_rejects_bad_weights():
    log = _log()
    three = _tags("greek yogurt", "salted butter", "oat milk")
    assert make_reward("recgpt_tag_format", {}, _resources(log, min_tags=5, max_tags=8))(["p"], [three]) == [0.75]
    with pytest.raises(ValueError, match="weights must be >= 0 with a positive sum"):
        make_reward("recgpt_tag_format", {"count_weight": 0, "specificity_weight": 0, "no_duplicates_weight": 0,
                                          "think_weight": 0})
    with pytest.raises(ValueError, match="weights must be >= 0"):
        make_reward("recgpt_tag_format", {"think_weight": -1.0})


# ---------------------------------------------------------------------------------------------- recgpt_tag_hit


@pytest.fixture(scope="module")
def towers(tmp_path_factory):
    """Towers trained on the toy log (users buy in one department; tags name an item's finest category)."""
    log = _log()
    cfg = TowerConfig(dim=16, hidden=32, history_len=10, epochs=20, batch_size=64, learning_rate=1e-2,
                      id_dropout=0.5)
    model, vocab, _ = train_towers(log.catalog, log.users, training_pairs(log.histories, {}, 10), cfg)
    folder = tmp_path_factory.mktemp("towers")
    save_towers(model, vocab, folder / "tri")
    return log, folder


def _hit(towers, completions, targets, history, **params):
    log, folder = towers
    reward = make_reward("recgpt_tag_hit", {"towers": str(folder), **params}, _resources(log, min_tags=1))
    n = len(completions)
    return reward(["p"] * n, completions, user_id=["cold user"] * n, history_item_ids=[history] * n,
                  target_item_id=targets)


def test_tag_hit_category_level_follows_the_tags_or_the_history(towers):
    dairy_history = ["yogurt1", "yogurt3", "yogurt0"]
    fruit_tags = _tags("fruit item", "fresh fruit")
    # β = 1: the specific fruit tags retrieve fruit items → a fruit target hits, a yogurt target misses
    assert _hit(towers, [fruit_tags] * 2, ["fruit4", "yogurt2"], dairy_history, beta=1.0, k=6) == [1.0, 0.0]
    # β = 0: the collaborative score alone → the yogurt history retrieves yogurt
    assert _hit(towers, [fruit_tags] * 2, ["fruit4", "yogurt2"], dairy_history, beta=0.0, k=6) == [0.0, 1.0]
    # broad or one-word tags are ignored: the list is scored by the collaborative part alone, even at β = 1
    broad = _tags("produce", "produce foods", "fruit")
    assert _hit(towers, [broad] * 2, ["fruit4", "yogurt2"], dairy_history, beta=1.0, k=6) == [0.0, 1.0]


def test_tag_hit_item_level_and_unparseable(towers):
    dairy_history = ["yogurt1", "yogurt3", "yogurt0"]
    bread = _tags("bread item", "fresh bread")
    # k = 6 holds exactly the six bread items: every bread item hits, nothing else does
    got = _hit(towers, [bread] * 3 + ["no tags here"], ["bread0", "bread5", "ice4", "bread0"], dairy_history,
               beta=1.0, k=6, level="item")
    assert got == [1.0, 1.0, 0.0, 0.0]
    # k = 1: a category hit for any bread target, an item hit for at most one of the six bread items
    cat = _hit(towers, [bread] * 6, [f"bread{j}" for j in range(6)], dairy_history, beta=1.0, k=1)
    item = _hit(towers, [bread] * 6, [f"bread{j}" for j in range(6)], dairy_history, beta=1.0, k=1, level="item")
    assert cat == [1.0] * 6 and sum(item) == 1.0


def test_tag_hit_errors():
    with pytest.raises(ValueError, match="level must be category | item"):
        make_reward("recgpt_tag_hit", {"level": "title"})
    reward = make_reward("recgpt_tag_hit", {}, _resources(_log(), min_tags=1))
    with pytest.raises(RewardError, match="needs trained towers"):
        reward(["p"], [_tags("fruit item")], user_id=["u0"], history_item_ids=[[]], target_item_id=["fruit0"])


# ------------------------------------------------------------------------------------------------ recgpt_judge


def test_judge_rubric_per_task_and_hand_computed_scores():
    with RuleJudge() as server:
        explanations = make_reward("recgpt_judge", judge_params(server, task="explanations"))
        completions = ["<think>t</think><answer>Light and roomy: right for your weekend hikes.</answer>",
                       "<think>t</think><answer>Lasts forever nofactuality nosafety</answer>",
                       "<think>only thinking</think>"]  # no explanation: unparseable, no request
        assert explanations(["ctx a"] * 3, completions) == [1.0, 0.5, 0.0]
        assert len(server.requests) == 2
        (answer, criteria, user), = [r for r in server.requests if "roomy" in r[0]]  # requests run concurrently
        assert answer == "Light and roomy: right for your weekend hikes."
        assert criteria == list(EXPLANATION_CRITERIA) and EXPLANATION_CRITERIA["factuality"] in user
        # interests: the parsed list, one entry per line, against Table 1's two criteria
        interests = make_reward("recgpt_judge", judge_params(server, task="interests", aggregate="all"))
        listed = "<think>t</think><answer>1. Interest: home baking; Reason: flour\n2. Interest: tea noreasonableness"
        assert interests(["ctx b"], [listed + "</answer>"]) == [0.0]
        answer, criteria, _ = server.requests[-1]
        assert answer == "home baking\ntea noreasonableness" and criteria == list(INTEREST_CRITERIA)
        # item tags: the judge reward's own Table 3 rubric; a criteria subset asks only those
        tags = make_reward("recgpt_judge", judge_params(server, criteria=["specificity", "validity"]))
        assert tags(["ctx c"], [_tags("oat milk", "nospecificity snack")]) == [0.5]
        assert server.requests[-1][1] == ["specificity", "validity"]
        assert make_reward("recgpt_judge", judge_params(server)).params.criteria == list(CRITERIA)


def test_judge_caches_identical_context_answer_pairs():
    with RuleJudge() as server:
        judge = make_reward("recgpt_judge", judge_params(server, task="explanations"))
        good = "<think>t</think><answer>A crisp apple for your lunch box.</answer>"
        other = "<think>x</think><answer>A crisp apple\nfor your lunch box.</answer>"  # same explanation text
        assert judge(["ctx", "ctx", "ctx 2"], [good, other, good]) == [1.0, 1.0, 1.0]
        assert len(server.requests) == 2  # (ctx, text) once, (ctx 2, text) once
        assert judge(["ctx"], [good]) == [1.0] and len(server.requests) == 2  # remembered across calls


def test_judge_params_are_validated_per_task():
    with pytest.raises(ValueError, match="task must be one of item_tags, interests, explanations"):
        make_reward("recgpt_judge", {"task": "explanation"})
    with pytest.raises(ValueError, match=r"criteria for task 'interests' must be a subset of \['willingness', "
                                         r"'reasonableness'\], got \['relevance'\]"):
        make_reward("recgpt_judge", {"task": "interests", "criteria": ["relevance", "willingness"]})
    with pytest.raises(ValueError, match="aggregate must be 'mean' or 'all'"):
        make_reward("recgpt_judge", {"task": "explanations", "aggregate": "max"})
