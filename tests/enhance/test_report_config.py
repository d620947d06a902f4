"""The whole comparison on the toy cohort: report in Taiji Table 2's layout, run-summary keys; config checks."""

from __future__ import annotations

import pytest
from toy import group_embeddings, toy_configs, toy_log

from rlrec.config import EnhanceConfig
from rlrec.enhance.cohort import build_cohort
from rlrec.enhance.metrics import METRICS
from rlrec.enhance.report import write_report
from rlrec.enhance.run import VARIANTS, evaluate_policies
from rlrec.enhance.stage import OBJECTIVE, future_titles, summary_values
from rlrec.simulator.features import FeatureSpace


def test_report_and_summary(tmp_path):
    log = toy_log()
    sim, cfg = toy_configs(epochs=2, bootstrap_samples=20)
    cohort = build_cohort(log, sim, cfg, test_users=set(), trained_users=set())
    outputs = {name: ["<think>t</think><answer>Item title: none</answer>"] * len(cohort.users) for name in ("base", "rl")}
    embeddings = {"base": group_embeddings(cohort.users, seed=1), "rl": group_embeddings(cohort.users, seed=2)}
    result = evaluate_policies(log, cohort, FeatureSpace.build(log, cohort.labelled), outputs, embeddings, cfg, True,
                               future_titles(log, cohort))
    assert set(result.metrics["all"]["rl"]) == set(VARIANTS) and set(result.deltas["all"]["rl"]) == set(VARIANTS) - {"baseline"}
    # the baseline has no LLM input: the same ranker (and numbers) for every policy
    assert result.metrics["all"]["base"]["baseline"] == result.metrics["all"]["rl"]["baseline"]
    path = write_report(result, tmp_path / "report.md", {"generation": 12.0})
    text = path.read_text()
    assert "| Method | Setting | Intra-User Features Enhancement ΔCTR AUC" in text
    assert "| rl | overall |" in text and "| rl | long-tail |" in text and "generation: 12" in text
    values = summary_values(result, final="rl")
    assert values[f"objective/{OBJECTIVE}"] == result.metrics["all"]["rl"]["+both"]["CTCVR_AUC"].value
    assert values["higher_is_better"][OBJECTIVE] is True and values["higher_is_better"]["Enhancer_CTR_LogLoss"] is False
    assert all(f"eval/{p}/Enhancer_{m}" in values for p in ("base", "rl") for m in METRICS)


def test_config_mistakes_name_the_key():
    with pytest.raises(ValueError, match=r"enhance.policies='sfr' is not one of base, sft, rl. Did you mean 'sft'"):
        EnhanceConfig(policies=["sfr"])
    with pytest.raises(ValueError, match="enhance.train_fraction=1.0"):
        EnhanceConfig(train_fraction=1.0)
    with pytest.raises(ValueError, match="enhance.users=0"):
        EnhanceConfig(users=0)


def test_too_few_eligible_users_is_a_clear_error():
    log = toy_log(users=10)
    sim, cfg = toy_configs(users=32)
    with pytest.raises(ValueError, match="enhance.users=32 .* but 10 users of 'toy-ratings' are eligible"):
        build_cohort(log, sim, cfg, test_users=set(), trained_users=set())
