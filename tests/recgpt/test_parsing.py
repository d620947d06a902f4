"""The RecGPT list parser (interests, tags, explanations) and the tag constraints (§2.2.1)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from rlrec.recgpt.parsing import (
    Entry,
    ListStatus,
    TagRules,
    check_tags,
    parse_explanation,
    parse_interests,
    parse_tags,
    tag_key,
)


def test_tag_triplets_well_formed():
    p = parse_tags("<think>bakes</think><answer>\nTag: organic whole wheat flour; Interest: home baking; "
                   "Reason: bought flour twice\nTag: active dry yeast; Interest: home baking; Reason: bread\n</answer>")
    assert p.status is ListStatus.OK and p.think == "bakes"
    assert p.entries == (Entry("organic whole wheat flour", "home baking", "bought flour twice"),
                         Entry("active dry yeast", "home baking", "bread"))


def test_numbering_bullets_separators_and_headers():
    p = parse_tags("<think>x</think><answer>Here are the tags:\n1. Tag: Greek plain yogurt\n2) sparkling lemon water | "
                   "for the drinks\n- dark chocolate bar - sweet tooth\n• Interest preference: tea; Tag: green tea bags"
                   "\n</answer>")
    assert p.values == ["Greek plain yogurt", "sparkling lemon water", "dark chocolate bar", "green tea bags"]
    assert p.entries[1].reason == "for the drinks" and p.entries[3].interest == "tea"


def test_interest_lines_without_tag_label():
    p = parse_interests("<think>r</think><answer>1. Interest: home baking; Reason: flour and yeast\n"
                        "2. Interest: tea; Reason: green tea bags</answer>")
    assert p.values == ["home baking", "tea"] and p.entries[0].reason == "flour and yeast"


def test_duplicates_dropped_and_counted():
    p = parse_tags("<think>r</think><answer>Tag: Whole Milk\nTag: milk, whole\nTag: whole milks\nTag: oat milk</answer>")
    assert p.values == ["Whole Milk", "oat milk"] and p.duplicates == 2
    assert tag_key("Strawberries") == tag_key("strawberrie") and tag_key("glass") != tag_key("glas")


def test_statuses():
    assert parse_tags("<answer>Tag: a b</answer>").status is ListStatus.NO_THINK
    assert parse_tags("<think>r</think><answer>Tag: a b\nTag: c d").status is ListStatus.UNCLOSED_ANSWER
    untagged = parse_tags("<think>r</think>\nbaking flour, green tea, oat milk")
    assert untagged.status is ListStatus.UNTAGGED and untagged.values == ["baking flour", "green tea", "oat milk"]
    assert parse_tags("<think>r</think><answer> </answer>").status is ListStatus.EMPTY
    assert parse_tags("").status is ListStatus.NO_ANSWER and not parse_tags("").status.has_entries
    assert parse_tags([{"role": "assistant", "content": "<think>r</think><answer>Tag: x y</answer>"}]).ok


def test_explanation_is_the_joined_block():
    p = parse_explanation("<think>r</think><answer>Light and roomy:\njust right for your weekend hikes.</answer>")
    assert p.values == ["Light and roomy: just right for your weekend hikes."]
    assert parse_explanation("<think>only thinking</think>").entries == ()


def test_check_tags_count_specificity_duplicates():
    rules = TagRules(min_count=3, max_count=4).with_broad(["dairy eggs", "snacks"])
    ok = check_tags(parse_tags("<think>r</think><answer>Tag: greek yogurt\nTag: salted butter\nTag: oat milk"
                               "</answer>"), rules)
    assert ok.passed and ok.specificity == 1.0 and ok.count_ok
    bad = check_tags(parse_tags("<think>r</think><answer>Tag: yogurt\nTag: dairy eggs\nTag: salted butter\n"
                                "Tag: Salted Butter\nTag: snacks food</answer>"), rules)
    # one word (yogurt), all-broad words (dairy eggs, snacks food), a duplicate of salted butter
    assert bad.too_broad == ("yogurt", "dairy eggs", "snacks food") and bad.specific == ("salted butter",)
    assert bad.duplicates == 1 and not bad.no_duplicates and bad.count_ok and not bad.passed
    assert bad.specificity == 1 / 4
    few = check_tags(parse_tags("<think>r</think><answer>Tag: greek yogurt</answer>"), rules)
    assert not few.count_ok and not few.passed
    # five specific tags over max_count = 4: the count fails; specificity stays 1 (retrieval reads the first 4)
    many = check_tags(parse_tags("<answer>Tag: greek yogurt\nTag: oat milk\nTag: rye bread\nTag: dark chocolate\n"
                                 "Tag: green tea</answer>"), rules)
    assert not many.count_ok and many.specificity == 1.0 and len(many.specific) == 4


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_never_raises_on_any_text(text):
    p = parse_tags(text)
    assert p.status in ListStatus
    assert len({tag_key(v) for v in p.values}) == len(p.values)  # unique by construction
    check_tags(p, TagRules())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="abcdefghij ", min_size=3, max_size=20).filter(lambda s: s.strip()), min_size=1,
                max_size=8, unique_by=lambda s: tag_key(s)))
def test_round_trip_of_formatted_tags(tags):
    body = "\n".join(f"{n}. Tag: {t.strip()}; Interest: i; Reason: r" for n, t in enumerate(tags, 1))
    p = parse_tags(f"<think>t</think><answer>\n{body}\n</answer>")
    expected = [" ".join(t.split()) for t in tags if tag_key(t)]
    assert p.values == expected and p.duplicates == 0
