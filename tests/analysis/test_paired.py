"""Paired bootstrap over test examples and seeds: hand-computed cases, Holm, and the report's verdicts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.collect import collect_local, runs_table
from analysis.paired import PairedDiff, compare_models, compare_variants, holm, paired_bootstrap, per_example_values
from analysis.report import build_report


def test_constant_difference_has_a_degenerate_interval_and_p_zero():
    diff, low, high, p = paired_bootstrap([np.full(5, 0.1)], n_resamples=200)
    assert (diff, low, high, p) == pytest.approx((0.1, 0.1, 0.1, 0.0))


def test_seeds_weigh_the_same_and_the_outer_level_resamples_seeds():
    # seed means 0.2 (2 examples) and 0.0 (8 examples): Δ = (0.2 + 0) / 2 = 0.1, not the example mean 0.04.
    # Inner resamples of a constant seed are constant, so a replicate is the mean of 2 seeds drawn with
    # replacement: 0 (p=1/4), 0.1 (1/2), 0.2 (1/4) → 95% CI [0, 0.2]; P*(Δ* ≤ 0) = 1/4 → p = 2 · 1/4 = 0.5.
    diff, low, high, p = paired_bootstrap([np.full(2, 0.2), np.zeros(8)], n_resamples=4000, seed=1)
    assert diff == pytest.approx(0.1) and low == pytest.approx(0.0) and high == pytest.approx(0.2)
    assert p == pytest.approx(0.5, abs=0.05)


def test_one_seed_interval_matches_the_normal_approximation():
    d = np.random.default_rng(0).normal(0.0, 1.0, 400)
    diff, low, high, _ = paired_bootstrap([d], n_resamples=4000)
    half = 1.96 * d.std(ddof=1) / np.sqrt(d.size)  # ≈ 0.098
    assert diff == pytest.approx(d.mean())
    assert (high - low) / 2 == pytest.approx(half, rel=0.1) and low < diff < high


def test_pairing_detects_a_small_gain_that_unpaired_noise_hides():
    rng = np.random.default_rng(3)
    base = rng.uniform(0.0, 1.0, 200)  # between-example spread (sd ≈ 0.29) shared by both models
    better = base + 0.01 + rng.normal(0.0, 0.005, 200)
    _, low, _, p = paired_bootstrap([better - base])
    assert low > 0 and p < 0.01
    _, low, high, _ = paired_bootstrap([better - rng.permutation(base)])  # pairs broken: the same means, no pairing
    assert low < 0 < high


def test_nan_and_empty_inputs():
    assert paired_bootstrap([np.array([np.nan, 0.3, 0.3])], n_resamples=10)[:3] == pytest.approx((0.3, 0.3, 0.3))
    assert np.isnan(paired_bootstrap([np.array([])])[0])


def _result(p: float, low: float = 0.1) -> PairedDiff:
    return PairedDiff("m", "a", "b", 0.2, low, 0.3, p, 1, 10, True)


def test_holm_step_down_by_hand():
    # m = 3, α = 0.05: sorted p 0.01 ≤ 0.05/3 passes; 0.03 > 0.05/2 stops (so 0.04 fails too)
    out = holm([_result(0.01), _result(0.04), _result(0.03)])
    assert [r.significant for r in out] == [True, False, False]
    assert holm([_result(0.001, low=-0.1)])[0].significant is False  # a CI that includes 0 is never significant


def test_per_example_values_average_completions(paired_sweep):
    values = per_example_values(paired_sweep / "seed=0,weighting=popo", "rl")
    assert values.shape[0] == 60 and {"Semantic_Cosine", "CTCVR"} <= set(values.columns)
    assert per_example_values(paired_sweep / "seed=0,weighting=popo", "base") is None


def test_strategies_vs_baseline_paired_over_examples_and_seeds(paired_sweep):
    runs = runs_table(collect_local(paired_sweep))
    results = holm(compare_variants(runs, "rl", "weighting=fixed", n_resamples=500))
    by = {(r.a, r.metric): r for r in results}
    popo = by[("weighting=popo", "Semantic_Cosine")]
    assert popo.diff == pytest.approx(0.05) and popo.n_seeds == 3 and popo.n_examples == 180
    assert popo.significant and popo.better() == "weighting=popo"
    light = by[("weighting=popo_light", "Semantic_Cosine")]
    assert light.diff == pytest.approx(0.0, abs=1e-12) and light.ci_low < 0 < light.ci_high and not light.significant
    assert not by[("weighting=popo", "CTCVR")].significant  # identical CTCVR: Δ = 0


def test_rl_vs_sft_per_seed(paired_sweep):
    runs = runs_table(collect_local(paired_sweep))
    results = holm(compare_models(runs, "rl", "sft", metrics=["Semantic_Cosine"], n_resamples=500))
    fixed = {r.seed: r for r in results if r.a == "rl (weighting=fixed)" and r.b == "sft"}
    assert set(fixed) == {None, 0, 1, 2}
    assert fixed[0].diff == pytest.approx(0.0) and not fixed[0].significant  # seed 0: RL = SFT
    assert fixed[2].diff == pytest.approx(0.002) and fixed[2].significant  # +0.001·seed on every example


def test_report_states_the_verdicts_in_plain_words_and_marks_table_4(paired_sweep, tmp_path):
    path = build_report(str(paired_sweep), out=tmp_path / "report", n_resamples=300)
    text = path.read_text()
    assert "**Significant:** weighting=popo vs weighting=fixed on Semantic_Cosine (pooled over seeds)" in text
    assert "Not significant: weighting=popo_light vs weighting=fixed (pooled over seeds) on Semantic_Cosine, CTCVR." in text
    assert "(↑ 10." in text or "(↑ " in text  # Taiji Table 4 cell with the relative change
    table4 = text[text.index("## Ablation (rl model)"):text.index("## Paired differences")]
    popo_row = next(line for line in table4.splitlines() if line.startswith("| ") and "Semantic_Cosine" in line)
    assert popo_row.count(" *") == 1  # popo's cell is marked, popo_light's is not
    assert "paired difference to weighting=fixed significant" in table4
    assert "## Paired differences: rl vs sft within each run" in text
    assert "rl (weighting=popo) beats sft on Semantic_Cosine on each of its 3 seeds" in text
    assert "rl (weighting=fixed) beats sft on Semantic_Cosine" not in text  # seed 0: no change
    paired = pd.read_csv(tmp_path / "report" / "paired_variants.csv")
    assert len(paired) == 4 and paired["significant"].sum() == 1
    assert (tmp_path / "report" / "paired_vs_sft.csv").exists()
    hv = text[text.index("| Rank |"):].splitlines()
    assert "weighting=popo |" in hv[2]  # ranked first by hypervolume


def test_both_answered_keeps_only_the_examples_both_models_answered():
    """RL's gain over SFT can be all "answers more often" (an unanswered completion scores 0): ``where`` pairs
    only the examples on which both sides answered. Hand-computed: examples 0 and 1 are the only common ones."""
    from analysis.paired import _diffs

    ids = pd.Index(["e0", "e1", "e2", "e3", "e4"], name="example_id")
    rl = pd.DataFrame({"Answer_Non_Empty_Rate": [1, 1, 1, 1, 0], "Semantic_Cosine": [0.6, 0.5, 0.7, 0.9, 0.0]}, ids)
    sft = pd.DataFrame({"Answer_Non_Empty_Rate": [1, 1, 0, 0, 1], "Semantic_Cosine": [0.4, 0.5, 0.0, 0.0, 0.8]}, ids)
    everything = _diffs({0: rl}, {0: sft}, "Semantic_Cosine")[0]
    assert everything == pytest.approx([0.2, 0.0, 0.7, 0.9, -0.8])
    both = _diffs({0: rl}, {0: sft}, "Semantic_Cosine", where="Answer_Non_Empty_Rate")[0]
    assert both == pytest.approx([0.2, 0.0])
    assert _diffs({0: rl}, {0: sft.drop(columns="Answer_Non_Empty_Rate")}, "Semantic_Cosine",
                  where="Answer_Non_Empty_Rate") == {}  # no such column: no comparison, not a silent full one


def test_the_report_adds_the_both_answered_comparison(paired_sweep, tmp_path):
    import json

    for path in paired_sweep.glob("*/eval/*/completions.jsonl"):  # every model answers examples 0..39 of 60
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        for row in rows:
            row["Answer_Non_Empty_Rate"] = float(int(row["example_id"].removeprefix("ex")) < 40)
        path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    text = build_report(str(paired_sweep), out=tmp_path / "report", n_resamples=200).read_text()
    assert "## The same objectives on the test examples both rl and sft answered" in text
    answered = pd.read_csv(tmp_path / "report" / "paired_vs_sft_answered.csv")
    assert set(answered["n_examples"][answered["seed"].isna()]) == {120}  # 40 examples x 3 seeds, pooled
