"""The one answer parser: hand-written cases plus property tests (hypothesis)."""

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from rlrec.answer import ParseStatus, completion_text, format_answer, format_completion, parse_answer


def test_well_formed():
    p = parse_answer("<think>likes fruit</think><answer>Item title: Banana; Category L1: produce; Category L2: fresh fruits</answer>")
    assert p.status is ParseStatus.OK and p.ok
    assert p.think == "likes fruit"
    assert p.title == "Banana" and p.categories == ("produce", "fresh fruits")
    assert p.category(1) == "produce" and p.category(3) == ""
    assert (p.think_tag_present, p.think_non_empty, p.answer_non_empty) == (True, True, True)


def test_case_whitespace_and_extra_text():
    p = parse_answer("Sure! <THINK>\n x \n</Think>  blah <Answer> item  title : Milk ; category l1:  dairy eggs </ANSWER> bye")
    assert p.status is ParseStatus.OK
    assert p.title == "Milk" and p.categories == ("dairy eggs",)


def test_unclosed_answer_is_truncated_generation():
    p = parse_answer("<think>r</think><answer>Item title: Milk; Category L1: dairy")
    assert p.status is ParseStatus.UNCLOSED_ANSWER and p.title == "Milk"


def test_unclosed_think_runs_until_answer():
    p = parse_answer("<think>reasoning <answer>Item title: Eggs</answer>")
    assert p.think == "reasoning" and p.title == "Eggs"


def test_missing_think_and_missing_levels():
    p = parse_answer("<answer>Title: Foo; Category L2: b</answer>")
    assert p.status is ParseStatus.NO_THINK
    assert p.title == "Foo" and p.categories == ("", "b")
    assert not p.think_tag_present


def test_untagged_answer_fields_found_in_text():
    p = parse_answer("I recommend Item title: X; Category L1: y")
    assert p.status is ParseStatus.UNTAGGED_ANSWER
    assert p.title == "X" and not p.answer_non_empty  # Table 3 counts tagged answers only


def test_failures():
    assert parse_answer("").status is ParseStatus.NO_ANSWER
    assert parse_answer("<think>a</think>no answer here").status is ParseStatus.NO_ANSWER
    assert parse_answer("<think>a</think><answer>  </answer>").status is ParseStatus.EMPTY_ANSWER
    assert parse_answer("<think>a</think><answer>just words</answer>").status is ParseStatus.NO_TITLE
    assert parse_answer("<think></think><answer>Item title: A</answer>").think_non_empty is False


def test_conversational_completion():
    msgs = [{"role": "assistant", "content": "<think>a</think><answer>Item title: Z</answer>"}]
    assert completion_text(msgs) == msgs[0]["content"]
    assert parse_answer(msgs).title == "Z"


def test_format_answer_skips_empty_levels():
    assert format_answer("T", ["a", "", "c"]) == "Item title: T; Category L1: a; Category L3: c"


# Titles and categories as they occur in catalogues: words, digits, some punctuation, no field separators.
_word = st.text(alphabet=string.ascii_letters + string.digits + " -&'().,!/%", min_size=1, max_size=40)
_value = _word.map(str.strip).filter(lambda s: s and not s.endswith((",", ".")) and ":" not in s)


@settings(max_examples=200, deadline=None)
@given(think=st.text(min_size=0, max_size=200).filter(lambda s: "<" not in s and ">" not in s),
       title=_value, cats=st.lists(_value, min_size=0, max_size=3))
def test_round_trip(think, title, cats):
    p = parse_answer(format_completion(think, title, cats))
    assert p.title == " ".join(title.split())
    assert p.categories == tuple(" ".join(c.split()) for c in cats)
    assert p.think == think.strip()
    assert p.status is ParseStatus.OK


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_never_raises_on_arbitrary_text(text):
    p = parse_answer(text)
    assert isinstance(p.status, ParseStatus)
    assert p.status.has_title == bool(p.title)
