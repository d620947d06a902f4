import pytest

from rlrec.config import DistillConfig
from rlrec.distill.leakage import LeakageCheck

LEAKY = [
    "The ground truth is a bag of bananas.",
    "Given that the user bought bananas, the reasoning is clear.",
    "So the answer is Whole Milk.",
    "We are told the user purchased milk next.",
    "I was given the item, so it must be yogurt.",
    "The actual next purchase is yogurt.",
    "As stated in the prompt, she buys spinach.",
    "GROUND-TRUTH: spinach",
]
CLEAN = [
    "The user buys fresh fruit every week and recently added bananas twice, so more fruit is likely.",
    "Her dairy purchases are regular; a milk restock fits the weekly pattern.",
    "Given the user's history of baking supplies, bread is a natural next purchase.",
]


@pytest.fixture()
def check():
    return LeakageCheck(DistillConfig().leakage_patterns)


@pytest.mark.parametrize("text", LEAKY)
def test_default_patterns_catch_references_to_the_given_answer(check, text):
    assert check.find(text) is not None


@pytest.mark.parametrize("text", CLEAN)
def test_default_patterns_pass_genuine_reasoning(check, text):
    assert check.find(text) is None


def test_hits_are_counted_per_pattern():
    check = LeakageCheck([r"secret", r"answer"])
    for text in ["a secret", "the answer", "secret answer", "nothing"]:
        check.find(text)
    assert check.hits == {"secret": 2, "answer": 1}  # first matching pattern wins


def test_bad_regex_names_the_config_entry():
    with pytest.raises(ValueError, match=r"leakage_patterns\[1\]"):
        LeakageCheck(["ok", "(unclosed"])
