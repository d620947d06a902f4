"""Feedback records → reward-model examples, held-out ranking groups and the shared input text."""

import numpy as np
import pytest

from rlrec.alignment.feedback import cluster_prior_scores, pairwise_rows, pointwise_rows, ranking_groups, split_feedback
from rlrec.alignment.text import alignment_input, novelty_prompt


def test_alignment_input_format():
    assert alignment_input(["dairy eggs", "fresh fruits"], "snacks chips") == (
        "Recent interest clusters: dairy eggs | fresh fruits\nNext interest cluster: snacks chips"
    )
    # a separator or newline inside a name cannot change the structure
    assert alignment_input(["a | b", "x\ny"], " c ") == "Recent interest clusters: a / b | x y\nNext interest cluster: c"


def test_novelty_prompt_is_a_system_and_a_user_turn():
    system, user = novelty_prompt(["dairy eggs", "fresh fruits"])
    assert system["role"] == "system" and user["role"] == "user"
    assert user["content"].startswith("Recent interest clusters: dairy eggs | fresh fruits\n")


def test_pointwise_rows(toy_points):
    rows = pointwise_rows(toy_points[:2])
    assert rows == [
        {"text": alignment_input(["dairy eggs", "fresh fruits"], "snacks chips"), "label": 0.9},
        {"text": alignment_input(["dairy eggs", "fresh fruits"], "frozen meals"), "label": 0.1},
    ]


def test_pointwise_rows_reject_unnormalised_scores(toy_points):
    from dataclasses import replace

    with pytest.raises(ValueError, match="outside \\[0, 1\\]"):
        pointwise_rows([replace(toy_points[0], score=3.0)])


def test_pairwise_rows(toy_pairs):
    # context (c0, c1) has 4 distinct scores → 6 pairs; (c1, c2) 4 → 6; (c3, c4) 2 → 1
    assert len(toy_pairs) == 13
    first = pairwise_rows(toy_pairs)[0]
    assert first == {
        "chosen": alignment_input(["dairy eggs", "fresh fruits"], "snacks chips"),
        "rejected": alignment_input(["dairy eggs", "fresh fruits"], "frozen meals"),
        "margin": pytest.approx(0.8),
    }


def test_ranking_groups_skip_contexts_with_at_most_k_candidates(toy_points):
    groups, skipped = ranking_groups(toy_points, k=2)
    assert [g.context_ids for g in groups] == [("c0", "c1"), ("c1", "c2")]
    assert skipped == {"context_with_at_most_k_candidates": 1}
    # candidates sorted by id, scores aligned with them
    assert groups[0].candidate_ids == ("c2", "c3", "c4", "c5")
    np.testing.assert_allclose(groups[0].true_scores, [0.9, 0.1, 0.5, 0.3])


def test_split_feedback_holds_out_whole_contexts(toy_points, toy_pairs):
    split = split_feedback(toy_points, toy_pairs, k=2, eval_fraction=0.5, seed=0)
    held_out = {p.context_ids for p in split.eval_points}
    assert len(held_out) == 1 and held_out <= {("c0", "c1"), ("c1", "c2")}  # only rankable contexts are held out
    assert not held_out & {p.context_ids for p in split.train_points}
    assert not held_out & {p.context_ids for p in split.train_pairs}
    assert {p.context_ids for p in split.eval_pairs} == held_out
    assert len(split.train_points) + len(split.eval_points) == len(toy_points)
    assert [g.context_ids for g in split.groups] == sorted(held_out)
    assert split.summary()["eval_groups"] == 1


def test_split_feedback_errors_name_the_fix(toy_points):
    with pytest.raises(ValueError, match="served_k"):
        split_feedback(toy_points, [], k=5, eval_fraction=0.5)
    with pytest.raises(ValueError, match="eval_fraction"):
        split_feedback(toy_points, [], k=2, eval_fraction=1.0)


def test_cluster_prior_scores_average_over_contexts(toy_points):
    groups, _ = ranking_groups(toy_points, k=2)
    # c4 scored 0.5 after (c0, c1) and 0.8 after (c1, c2) → 0.65; c5: 0.3 and 0.0 → 0.15; c3 only 0.1
    prior = cluster_prior_scores(toy_points, groups)
    np.testing.assert_allclose(prior[0], [0.9, 0.1, 0.65, 0.15])  # candidates c2 c3 c4 c5
    # a cluster absent from training gets the global mean
    (unseen,) = cluster_prior_scores(toy_points[:1], groups[:1])
    np.testing.assert_allclose(unseen, [0.9, 0.9, 0.9, 0.9])
