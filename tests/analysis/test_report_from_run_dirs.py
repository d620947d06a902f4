"""Analysis from run dirs alone: a fake 3-strategy × 3-seed Hydra sweep written by hand, then the report."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import yaml

from analysis.collect import collect_local, collect_wandb, runs_table
from analysis.fronts import analyse_fronts
from analysis.report import build_report, main
from analysis.tables import ablation_table

SFT = {"Semantic_Cosine": 0.5, "CTCVR": 0.010, "Category_L1_ACC": 0.15}
RL = {  # (Semantic_Cosine, CTCVR, Category_L1_ACC) per seed
    "fixed": [(0.6, 0.011, 0.20), (0.6, 0.011, 0.20), (0.6, 0.011, 0.20)],
    "popo": [(0.7, 0.012, 0.21), (0.6, 0.013, 0.22), (0.5, 0.020, 0.23)],
    "popo_light": [(0.65, 0.0105, 0.19), (0.62, 0.0102, 0.18), (0.55, 0.0101, 0.20)],
}
DIRECTIONS = {"Semantic_Cosine": True, "CTCVR": True, "Category_L1_ACC": True, "semantic_cosine": True, "ctcvr": True}


def write_sweep(root: Path) -> Path:
    for strategy, seeds in RL.items():
        for seed, (cos, ctcvr, acc) in enumerate(seeds):
            run = root / f"seed={seed},weighting={strategy}"
            (run / ".hydra").mkdir(parents=True)
            (run / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(
                ["experiment=quick", f"weighting={strategy}", f"seed={seed}", f"eval.checkpoint=/ckpt/{strategy}/{seed}"]
            ))
            (run / "config.yaml").write_text(yaml.safe_dump({"seed": seed, "weighting": {"name": strategy}, "experiment_name": "quick"}))
            summary = {f"eval/sft/{k}": v for k, v in SFT.items()}
            summary.update({"eval/rl/Semantic_Cosine": cos, "eval/rl/CTCVR": ctcvr, "eval/rl/Category_L1_ACC": acc})
            summary.update({"higher_is_better": DIRECTIONS, "objectives": ["Semantic_Cosine", "CTCVR"]})
            (run / "summary.json").write_text(json.dumps(summary))
            lines = [
                {"step": step, "weights/semantic_cosine": 0.5 + 0.01 * step * (strategy != "fixed"),
                 "weights/ctcvr": 0.5 - 0.01 * step * (strategy != "fixed"), "reward/ctcvr/mean": 0.1 * step + seed}
                for step in range(1, 5)
            ]
            (run / "metrics.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
            groups = {"Semantic_Cosine": "Semantic Hit-Rate", "CTCVR": "Preference Hit-Rate", "Category_L1_ACC": "Semantic Hit-Rate"}
            metrics = {k: {"value": v, "ci_low": v, "ci_high": v, "n": 10, "confidence": 0.95, "higher_is_better": True, "group": groups[k]}
                       for k, v in {"Semantic_Cosine": cos, "CTCVR": ctcvr, "Category_L1_ACC": acc}.items()}
            (run / "eval" / "rl").mkdir(parents=True)
            (run / "eval" / "rl" / "eval_metrics.json").write_text(json.dumps({"label": "rl", "metrics": metrics}))
    return root


@pytest.fixture()
def sweep(tmp_path):
    return write_sweep(tmp_path / "sweep")


def test_collect_builds_one_row_per_run_and_model_with_variants_without_seeds_or_paths(sweep):
    runs = runs_table(collect_local(sweep))
    assert len(runs.records) == 9 and len(runs.table) == 18  # sft + rl rows per run
    assert sorted(runs.table["variant"].unique()) == ["weighting=fixed", "weighting=popo", "weighting=popo_light"]
    assert runs.directions["CTCVR"] is True and runs.groups["CTCVR"] == "Preference Hit-Rate"
    assert runs.declared_objectives == ["Semantic_Cosine", "CTCVR"]


def test_hypervolume_per_strategy_against_the_sft_reference(sweep):
    fronts = analyse_fronts(runs_table(collect_local(sweep)), n_resamples=200)
    assert fronts.reference.tolist() == pytest.approx([0.5, 0.010]) and "SFT" in fronts.reference_source
    hv = fronts.hypervolume.set_index("variant")["hv"]
    assert hv["weighting=fixed"] == pytest.approx(0.1 * 0.001)
    # popo front (0.7, .012), (0.6, .013); (0.5, .020) ties the reference in cosine → no volume
    assert hv["weighting=popo"] == pytest.approx(0.2 * 0.002 + 0.1 * 0.003 - 0.1 * 0.002)
    ci = fronts.hypervolume.set_index("variant").loc["weighting=fixed"]
    assert ci["hv_ci_low"] == pytest.approx(1e-4) and ci["hv_ci_high"] == pytest.approx(1e-4)
    popo = fronts.points[fronts.points["variant"] == "weighting=popo"]
    assert popo["on_variant_front"].tolist() == [True, True, True]  # (0.5, .020) is non-dominated within popo


def test_ablation_table_mean_ci_and_relative_change(sweep):
    table = ablation_table(runs_table(collect_local(sweep)), metrics=["Category_L1_ACC", "CTCVR"])
    long = table.long.set_index(["metric", "variant"])
    popo = long.loc[("Category_L1_ACC", "weighting=popo")]
    assert popo["mean"] == pytest.approx(0.22) and popo["rel_change_pct"] == pytest.approx(10.0)
    assert popo["ci_half_width"] == pytest.approx(4.302653 * 0.01 / math.sqrt(3), rel=1e-5)
    assert long.loc[("Category_L1_ACC", "weighting=fixed")]["ci_half_width"] == pytest.approx(0.0)
    md = table.to_markdown()
    assert "weighting=fixed (baseline) n=3" in md and "0.2200 ± 0.0248 (↑ 10.00%)" in md
    assert md.index("Category_L1_ACC") < md.index("CTCVR")  # Semantic Hit-Rate before Preference Hit-Rate


def test_report_writes_markdown_csvs_and_pngs(sweep, tmp_path):
    out = tmp_path / "report"
    path = main([str(sweep), "--out", str(out), "--bootstrap", "100", "--tables", "sft"])
    text = path.read_text()
    assert "Hypervolume" in text and "Ablation (rl model)" in text and "Ablation (sft model)" in text
    for name in ("runs.csv", "pareto_points.csv", "hypervolume.csv", "ablation_rl.csv", "pareto_fronts.png", "weights.png", "rewards.png"):
        assert (out / name).stat().st_size > 0, name
    assert len(pd.read_csv(out / "hypervolume.csv")) == 3


def test_report_without_sft_rows_uses_a_nadir_reference_and_explicit_directions(tmp_path):
    run = tmp_path / "sweep" / "only"
    run.mkdir(parents=True)
    (run / "summary.json").write_text(json.dumps({"objective/a": 1.0, "objective/b": 2.0}))
    with pytest.raises(ValueError, match="--maximize"):
        build_report(str(tmp_path / "sweep"), objectives=["a", "b"], n_resamples=10)
    path = build_report(str(tmp_path / "sweep"), objectives=["a", "b"], maximize=["a"], minimize=["b"], n_resamples=10)
    assert "nadir" in path.read_text() and "No `weights/<reward>` history" in path.read_text()


def test_missing_directory_and_empty_sweep_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such run or sweep directory"):
        collect_local(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no runs found"):
        runs_table(collect_local(tmp_path / "empty"))


def test_collect_from_the_wandb_api_shape():
    class FakeRun(SimpleNamespace):
        def history(self, pandas=True):
            return pd.DataFrame({"_step": [1, 2], "weights/ctcvr": [0.5, 0.4]})

    runs = [
        FakeRun(id=f"r{s}", config={"seed": s, "weighting": {"name": "popo"}, "reward_metadata": {"ctcvr": {"higher_is_better": True}}},
                summary={"eval/rl/CTCVR": 0.01 + s / 1000, "higher_is_better": {"CTCVR": True},
                         "metric_groups": {"CTCVR": "Preference Hit-Rate"}})
        for s in range(2)
    ]
    api = SimpleNamespace(runs=lambda path, filters: runs if (path, filters) == ("ent/proj", {"group": "g"}) else [])
    records = collect_wandb("ent/proj/g", api=api)
    table = runs_table(records)
    assert table.table["CTCVR"].tolist() == pytest.approx([0.01, 0.011]) and table.directions["ctcvr"] is True
    assert table.groups["CTCVR"] == "Preference Hit-Rate"
    assert records[0].history["step"].tolist() == [1, 2]
    with pytest.raises(ValueError, match="entity/project/group"):
        collect_wandb("ent/proj", api=api)


def test_two_sweep_dirs_pool_into_one_report(tmp_path):
    a, b = write_sweep(tmp_path / "a"), write_sweep(tmp_path / "b")
    path = build_report([str(a), str(b)], out=tmp_path / "pooled", n_resamples=20)
    runs = pd.read_csv(tmp_path / "pooled" / "runs.csv")
    assert runs["run"].nunique() == 18 and runs["run"].str.startswith(("a/", "b/")).all()
    assert "`" + str(a) + "`, `" + str(b) + "`" in path.read_text()


def test_two_variants_use_the_table_3_layout_with_an_improvement_column(sweep):
    runs = runs_table(collect_local(sweep))
    runs.table = runs.table[runs.table["variant"] != "weighting=popo_light"]
    md = ablation_table(runs, metrics=["Category_L1_ACC"]).to_markdown()
    assert "| Improv. |" in md and "| 0.2000 ± 0.0000 | 0.2200 ± 0.0248 | +10.00% |" in md
