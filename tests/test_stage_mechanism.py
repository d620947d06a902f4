"""The stage mechanism (rlrec.stages): keying, reuse, the marker written last, requires, force, timing rows."""

from __future__ import annotations

import json

import pytest

from rlrec.config import Config, DataConfig
from rlrec.stages import RunContext, Stage, run_stage


def make_stages(calls: list[str], fail: dict[str, bool]) -> dict[str, Stage]:
    def upstream_run(ctx, folder):
        calls.append("up")
        (folder / "value.txt").write_text(str(ctx.config.seed))
        return int((folder / "value.txt").read_text())

    def down_run(ctx, folder):
        calls.append("down")
        if fail.get("down"):
            raise RuntimeError("killed mid-stage")
        (folder / "value.txt").write_text(str(ctx.product("up") * 10))
        return ctx.product("up") * 10

    def load(ctx, folder):
        return int((folder / "value.txt").read_text())

    up = Stage("up", key=lambda c: (c.config.seed,), run=upstream_run, load=load, info=lambda p: {"value": p},
               force=lambda c: c.config.data.max_users == 1)
    down = Stage("down", key=lambda c: (c.config.seed, c.product("up")), run=down_run, load=load, requires=("up",))
    return {"up": up, "down": down}


def test_a_stage_runs_once_then_is_reused_by_a_new_context(tmp_path):
    calls: list[str] = []
    stages = make_stages(calls, {})
    config = Config(artifacts_dir=str(tmp_path / "artifacts"), seed=3)
    first = RunContext(config, tmp_path / "run1")
    assert run_stage(stages["down"], first, stages) == 30  # "up" runs first, as required
    assert calls == ["up", "down"]
    assert [(r["stage"], r["reused"]) for r in first.timings] == [("up", False), ("down", False)]
    assert json.loads((tmp_path / "run1" / "stages.json").read_text()) == first.timings
    marker = json.loads((first.folders["up"] / "_COMPLETE").read_text())
    assert marker == {"value": 3}

    second = RunContext(config, tmp_path / "run2")
    assert run_stage(stages["down"], second, stages) == 30
    assert calls == ["up", "down"]  # nothing recomputed
    assert all(r["reused"] for r in second.timings) and second.folders == first.folders

    other = RunContext(Config(artifacts_dir=str(tmp_path / "artifacts"), seed=4), tmp_path / "run3")
    assert run_stage(stages["down"], other, stages) == 40  # another key, another folder
    assert other.folders["up"] != first.folders["up"]


def test_a_failed_stage_leaves_no_marker_and_reruns(tmp_path):
    calls: list[str] = []
    fail = {"down": True}
    stages = make_stages(calls, fail)
    config = Config(artifacts_dir=str(tmp_path / "artifacts"))
    with pytest.raises(RuntimeError, match="killed"):
        run_stage(stages["down"], RunContext(config, tmp_path / "run"), stages)
    fail["down"] = False
    ctx = RunContext(config, tmp_path / "run")
    assert run_stage(stages["down"], ctx, stages) == 0
    assert calls == ["up", "down", "down"]  # "up" completed and was reused; "down" ran again
    assert [r["reused"] for r in ctx.timings] == [True, False]


def test_force_recomputes_a_complete_stage(tmp_path):
    calls: list[str] = []
    stages = make_stages(calls, {})
    config = Config(artifacts_dir=str(tmp_path / "a"), data=DataConfig(max_users=1))
    for _ in range(2):
        run_stage(stages["up"], RunContext(config, tmp_path / "run"), stages)
    assert calls == ["up", "up"]


def test_missing_upstream_and_missing_product_are_named(tmp_path):
    stages = make_stages([], {})
    ctx = RunContext(Config(artifacts_dir=str(tmp_path)), tmp_path)
    with pytest.raises(KeyError, match="needs 'up'"):
        run_stage(stages["down"], ctx)  # no stage table to find "up" in
    with pytest.raises(KeyError, match="stage 'up' has not run"):
        ctx.product("up")


def test_a_reused_folder_that_fails_verify_is_recomputed_with_a_warning(tmp_path, caplog):
    """#14 finding 1: a complete folder whose files no longer match its marker is not reused as is."""
    import dataclasses

    from rlrec.stages import StaleArtifact

    calls: list[str] = []
    stages = make_stages(calls, {})

    def verify(ctx, folder, info):
        if int((folder / "value.txt").read_text()) != info["value"]:
            raise StaleArtifact(f"value.txt differs from the recorded {info['value']}")

    up = dataclasses.replace(stages["up"], verify=verify)
    config = Config(artifacts_dir=str(tmp_path / "a"), seed=3)
    first = RunContext(config, tmp_path / "run")
    assert run_stage(up, first) == 3
    (first.folders["up"] / "value.txt").write_text("7")  # the artifact changed behind the marker's back
    ctx = RunContext(config, tmp_path / "run2")
    with caplog.at_level("WARNING", logger="rlrec"):
        assert run_stage(up, ctx) == 3
    assert calls == ["up", "up"] and ctx.timings[-1]["reused"] is False
    assert f"{first.folders['up']} does not match its complete marker (value.txt differs" in caplog.text
    assert run_stage(up, RunContext(config, tmp_path / "run3")) == 3 and calls == ["up", "up"]  # whole again


def test_a_greedy_evaluation_is_shared_by_the_seeds_and_a_sampled_one_is_not(tmp_path):

    from experiments.stages import eval_stage
    from rlrec.config import EvalConfig

    def key(seed: int, temperature: float) -> tuple:
        config = Config(artifacts_dir=str(tmp_path), seed=seed, eval=EvalConfig(temperature=temperature))
        ctx = RunContext(config, tmp_path)
        ctx.shared(("data_fingerprint", config.data.name, config.data.path), lambda: None)  # no data files read
        ctx.shared("eval_simulator_dir", lambda: None)
        return eval_stage("base", "embedded:smollm2", final=False).key(ctx)

    assert key(0, 0.0) == key(1, 0.0)  # greedy: the seed changes nothing, the seeds of a sweep share it
    assert key(0, 0.7) != key(1, 0.7)  # sampled: each seed is its own evaluation
    assert key(0, 0.0) != key(0, 0.7)
