"""Judge-human agreement (RecGPT §4.3) on a labelled set whose labels follow from checkable rules."""

import json

import pytest

from rlrec.recgpt.agreement import AgreementFileError, agreement, agreement_file, passes
from rlrec.recgpt.parsing import TagRules, check_tags, parse_tags

TAGS = ["greek yogurt", "yogurt", "salted butter", "dairy eggs", "oat milk", "milk", "snacks food", "dark chocolate bar"]


def _labelled(tmp_path):
    """Human label = the full specificity rule (>= 2 words and not all broad words); the 'judge' checks the word
    count only. So: both pass greek yogurt, salted butter, oat milk, dark chocolate bar (TP = 4); both fail yogurt,
    milk (TN = 2); the judge passes dairy eggs and snacks food, which humans fail (FP = 2); FN = 0."""
    rules = TagRules(min_count=1).with_broad(["dairy eggs"])
    rows = []
    for n, tag in enumerate(TAGS):
        human = bool(check_tags(parse_tags(f"<answer>Tag: {tag}</answer>"), rules).specific)
        judge = len(tag.split()) >= 2
        rows.append({"id": str(n), "task": "item_tags", "human": {"specificity": "Yes" if human else "No"},
                     "judge": {"specificity": "Yes" if judge else "No", "validity": "Yes"}})
    rows.append({"id": "e1", "task": "explanations", "human": "Good", "judge": "Excellent"})  # TP
    rows.append({"id": "e2", "task": "explanations", "human": "Bad", "judge": "Good"})  # FP
    rows.append({"id": "e3", "task": "explanations", "human": "Excellent", "judge": "Bad"})  # FN
    path = tmp_path / "labelled.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_agreement_hand_computed(tmp_path):
    out = agreement_file(_labelled(tmp_path))
    tags = out["item_tags"]
    assert (tags["tp"], tags["fp"], tags["fn"], tags["tn"]) == (4, 2, 0, 2)
    assert tags["ACC"] == pytest.approx(6 / 8) and tags["Precision"] == pytest.approx(4 / 6)
    assert tags["Recall"] == 1.0 and tags["F1"] == pytest.approx(2 * (4 / 6) / (4 / 6 + 1))
    ex = out["explanations"]
    assert (ex["tp"], ex["fp"], ex["fn"], ex["tn"]) == (1, 1, 1, 0) and ex["F1"] == pytest.approx(0.5)
    assert out["all"]["n"] == 11 and out["all"]["ACC"] == pytest.approx(7 / 11)


def test_labels_and_errors(tmp_path):
    assert passes({"a": "Yes", "b": "Good"}) and not passes({"a": "Yes", "b": "No"})
    assert passes({"a": "Yes", "b": "No"}, criteria=["a"]) and not passes("Bad") and passes(True)
    assert agreement([]).n == 0
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"human": "Yes", "judge": "maybe"}\n')
    with pytest.raises(AgreementFileError, match="line 1.*maybe"):
        agreement_file(bad)
