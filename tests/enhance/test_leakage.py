"""No leakage: a planted future item in the LLM output is caught; nothing of the evaluation users (their outputs, their
rows' labels) changes what is fitted; prompts stop at the cut-off; policy-training users are never drawn."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from toy import group_embeddings, toy_configs, toy_log

from rlrec.config import DataConfig
from rlrec.enhance.cohort import build_cohort, cohort_prompts
from rlrec.enhance.features import EnhancerLeakError
from rlrec.enhance.run import evaluate_policies, fitted_state, policy_features, run_variants
from rlrec.enhance.stage import future_titles
from rlrec.simulator.features import FeatureSpace


@pytest.fixture(scope="module")
def toy():
    log = toy_log()
    sim, cfg = toy_configs(epochs=2)
    cohort = build_cohort(log, sim, cfg, test_users={"u00"}, trained_users={"u38", "u39"})
    return log, cfg, cohort, FeatureSpace.build(log, cohort.labelled)


def _answer(title: str) -> str:
    return f"<think>they like it</think><answer>Item title: {title}; Category L1: drama</answer>"


def test_planted_target_in_the_output_is_caught(toy):
    log, cfg, cohort, space = toy
    future = future_titles(log, cohort)
    assert all(future)  # every toy user meets new films after the cut-off
    leaky = [_answer(sorted(titles)[0]) for titles in future]  # the user's future item, named in the answer
    with pytest.raises(EnhancerLeakError, match="100% of the leaky policy's answers name an item"):
        evaluate_policies(log, cohort, space, {"leaky": leaky}, {"leaky": group_embeddings(cohort.users)}, cfg, True,
                          future)


def test_evaluation_users_and_their_future_do_not_change_what_is_fitted(toy):
    log, cfg, cohort, space = toy
    emb = group_embeddings(cohort.users)
    features = policy_features(log, cohort, emb, cfg, shared_clock=True)
    variants = ["baseline", "+both"]
    preds, models = run_variants(log, cohort, space, features, cfg, variants)
    # plant a leak on the evaluation side only: their outputs embed their future (a new direction), their rows'
    # labels are flipped
    leaked = emb.copy()
    leaked[~cohort.train] = group_embeddings(cohort.users, seed=7)[~cohort.train][:, ::-1] * 5.0
    flipped = cohort.row_user >= 0
    flipped &= ~cohort.train[cohort.row_user]
    perturbed = dataclasses.replace(cohort, click=np.where(flipped, 1 - cohort.click, cohort.click),
                                    conv=np.where(flipped, 1 - cohort.conv, cohort.conv))
    features2 = policy_features(log, perturbed, leaked, cfg, shared_clock=True)
    preds2, models2 = run_variants(log, perturbed, space, features2, cfg, variants)
    before, after = fitted_state(features, models), fitted_state(features2, models2)
    assert before.keys() == after.keys() and len(before) > 10
    for name in before:
        np.testing.assert_array_equal(before[name], after[name], err_msg=name)
    train = cohort.train
    np.testing.assert_array_equal(features.codes[train], features2.codes[train])
    np.testing.assert_array_equal(features.cross[train], features2.cross[train])
    # the perturbation did reach the evaluation side (so the check above could fail)
    assert not np.array_equal(features.codes[~train], features2.codes[~train])
    assert not np.allclose(preds["+both"][0][0], preds2["+both"][0][0])
    np.testing.assert_array_equal(preds["baseline"][0][0], preds2["baseline"][0][0])
    # neighbours are training users, never the user itself
    assert train[features.neighbours[:, 0]].all()
    assert (features.neighbours[:, 0] != np.arange(len(cohort.users))).all()


def test_prompts_stop_at_the_cutoff_and_trained_users_are_never_drawn(toy):
    log, cfg, cohort, _ = toy
    assert not {"u38", "u39"} & set(cohort.users)
    assert cohort.from_test_split[cohort.users.index("u00")] if "u00" in cohort.users else True
    data = DataConfig(name="toy", category_levels=2, history_len=50, prompt_token_budget=None)
    prompts = cohort_prompts(log, cohort, data, lambda text: len(text) // 4)
    for example, user, cut, t in zip(prompts, cohort.users, cohort.cut_index, cohort.cut_time):
        events = log.histories[user]
        assert all(e.time < t for e in events[:cut]) and events[cut].time == t
        assert example.history_item_ids == [e.item_id for e in reversed(events[:cut])]
        after_only = {e.item_id for e in events[cut:]} - {e.item_id for e in events[:cut]}
        assert not any(f"Item title: {log.catalog[i].title};" in example.prompt for i in after_only)
    # the cohort's rows are the hold-out contexts, all at or after each user's cut-off
    assert len(cohort.ctx) == len(cohort.item) and cohort.click.sum() > 0
