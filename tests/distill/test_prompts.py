import pytest

from rlrec.answer import format_completion, parse_answer
from rlrec.config import DistillConfig
from rlrec.distill.leakage import LeakageCheck
from rlrec.distill.prompts import (
    CandidateStatus,
    distillation_prompt,
    extract_cot,
    ppl_answer,
    ppl_context,
    prompt_hash,
    screen,
    sft_record,
)

CFG = DistillConfig()


def test_rupr_prompt_shows_the_true_item_and_direct_prompt_does_not(examples):
    ex = examples[0]
    rupr = distillation_prompt(ex, True, CFG.rupr_template, CFG.direct_template)
    direct = distillation_prompt(ex, False, CFG.rupr_template, CFG.direct_template)
    assert ex.prompt in rupr and ex.target_text in rupr
    assert ex.prompt in direct and ex.target_title not in direct
    assert "Category L2: …" in direct  # the answer format, with as many levels as the data has
    assert prompt_hash(rupr) != prompt_hash(direct) and len(prompt_hash(rupr)) == 16


def test_unknown_placeholder_names_the_field(examples):
    with pytest.raises(ValueError, match=r"distill.rupr_template.*\{user\}|distill.rupr_template.*user"):
        distillation_prompt(examples[0], True, "{prompt} {user}", CFG.direct_template)


@pytest.mark.parametrize(
    "raw, cot",
    [
        ("<think>likes fruit</think><answer>Item title: X</answer>", "likes fruit"),
        ("likes fruit</think>trailing", "likes fruit"),
        ("<think>likes fruit and never closes", "likes fruit and never closes"),
        ("plain reasoning <answer>Item title: X</answer>", "plain reasoning"),
        ("just text", "just text"),
        ("<think>a <answer> b", "a"),
    ],
)
def test_extract_cot(raw, cot):
    assert extract_cot(raw) == cot


def test_extract_cot_removes_stray_tags():
    assert "<" not in extract_cot("<think>one </answer> two <think> three</think>")


def test_screen_rupr(examples):
    ex, leak = examples[0], LeakageCheck(CFG.leakage_patterns)
    ok = screen("<think>The user buys fruit every week, so more fruit.</think>", ex, True, leak, 10)
    assert ok.status is CandidateStatus.OK and ok.title == ex.target_title and ok.categories == ex.target_categories
    leaked = screen("<think>The ground truth is bananas, so bananas.</think>", ex, True, leak, 10)
    assert leaked.status is CandidateStatus.LEAK and "ground" in leaked.leak_pattern
    assert screen("<think>ok</think>", ex, True, leak, 10).status is CandidateStatus.EMPTY
    assert sum(leak.hits.values()) == 1


def test_screen_direct_uses_the_teachers_answer_and_counts_unparseable(examples):
    ex, leak = examples[0], LeakageCheck(CFG.leakage_patterns)
    raw = "<think>She buys dairy; the answer is milk.</think><answer>Item title: Whole Milk; Category L1: Dairy Eggs</answer>"
    s = screen(raw, ex, False, leak, 10)
    assert s.status is CandidateStatus.OK  # no leakage check without RUPR: the teacher never saw the answer
    assert (s.title, s.categories) == ("Whole Milk", ("Dairy Eggs",))
    assert screen("<think>long enough reasoning</think> no answer here", ex, False, leak, 10).status is CandidateStatus.UNPARSEABLE


def test_sft_record_is_prompt_without_item_to_cot_and_true_answer(examples):
    ex, leak = examples[1], LeakageCheck([])
    s = screen("<think>Buys dairy every week.</think>", ex, True, leak, 5)
    record = sft_record(ex, s, ppl=1.5)
    assert record["prompt"] == [{"role": "user", "content": ex.prompt}] and ex.target_title not in ex.prompt
    content = record["completion"][0]["content"]
    assert record["completion"][0]["role"] == "assistant"
    assert content == format_completion("Buys dairy every week.", ex.target_title, ex.target_categories)
    parsed = parse_answer(content)
    assert parsed.ok and parsed.title == ex.target_title and parsed.categories == ex.target_categories
    assert record["ppl"] == 1.5 and record["example_id"] == ex.example_id


def test_ppl_context_plus_answer_is_exactly_the_sft_target():
    rendered, cot, title, cats = "<|im_start|>user\nhi<|im_end|>\n", "  reasons  ", "T", ("A", "B")
    assert ppl_context(rendered, cot) + ppl_answer(title, cats) + "</answer>" == rendered + format_completion(cot, title, cats)


def test_screen_direct_untagged_answer_is_cut_out_of_the_cot(examples):
    raw = "The user restocks dairy every week, so milk again. Item title: Whole Milk; Category L1: Dairy Eggs"
    s = screen(raw, examples[0], False, LeakageCheck([]), 10)
    assert s.ok and s.cot == "The user restocks dairy every week, so milk again." and s.title == "Whole Milk"
    assert screen("Item title: Whole Milk", examples[0], False, LeakageCheck([]), 10).status is CandidateStatus.EMPTY


def test_the_loop_screen_rejects_a_cot_that_repeats_an_ngram_and_only_then(examples):
    from rlrec.distill.prompts import max_ngram_count

    ex, leak = examples[0], LeakageCheck([])
    loop = "<think>The user's behavior is: The user's behavior is: The user's behavior is: more fruit</think>"
    varied = "<think>The user buys fruit weekly and the user buys dairy monthly, so fruit is next</think>"
    case_varied = "The user's behavior is: the user's BEHAVIOR is: The user's behavior is:"
    assert max_ngram_count(case_varied, 4) == 3  # case-folded
    assert max_ngram_count("a b c", 4) == 0
    assert screen(loop, ex, True, leak, 10, max_ngram_repeats=2).status is CandidateStatus.REPETITIVE
    assert screen(loop, ex, True, leak, 10, max_ngram_repeats=3).status is CandidateStatus.OK  # 3 times is allowed
    assert screen(loop, ex, True, leak, 10).status is CandidateStatus.OK  # no screen by default
    # "the user buys" repeats, but it is a 3-gram: no 4-gram occurs twice
    assert screen(varied, ex, True, leak, 10, max_ngram_repeats=1).status is CandidateStatus.OK


def test_the_loop_screen_setting_is_checked():
    with pytest.raises(ValueError, match="max_ngram_repeats"):
        DistillConfig(max_ngram_repeats=0)


def test_a_cot_cut_off_by_the_token_limit_is_cut_back_to_its_last_sentence(examples):
    from rlrec.distill.prompts import cut_to_last_sentence

    ex, leak = examples[0], LeakageCheck([])
    assert cut_to_last_sentence("The user buys fruit. Then dairy! They might want the") == "The user buys fruit. Then dairy!"
    assert cut_to_last_sentence("Step 1. List the items: milk at $4.99 and") == ""  # "1." and "4.99" end nothing
    assert cut_to_last_sentence("They buy fruit (weekly). And then") == "They buy fruit (weekly)."
    cut_off = "The user restocks fruit every week. The next item is likely one of the"
    screened = screen(cut_off, ex, True, leak, 10, cut_truncated=True)
    assert (screened.status, screened.cot) == (CandidateStatus.OK, "The user restocks fruit every week.")
    assert screened.completion().startswith("<think>The user restocks fruit every week.</think><answer>")
    assert screen(cut_off, ex, True, leak, 10).cot == cut_off  # off by default
    no_sentence = "Item title: Bananas; Category L1: produce; Category L2"
    assert screen(no_sentence, ex, True, leak, 10, cut_truncated=True).status is CandidateStatus.TRUNCATED
    closed = "<think>The user restocks fruit every week. Then the</think>"  # the teacher closed it: left alone
    assert screen(closed, ex, True, leak, 10, cut_truncated=True).cot == "The user restocks fruit every week. Then the"
    # the cut happens before the length screen: what is left must still be long enough
    assert screen("Fruit. The user restocks every", ex, True, leak, 10, cut_truncated=True).status is CandidateStatus.EMPTY
