"""Killing distillation mid-run loses at most in-flight candidates; a rerun does only what is missing."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from rlrec.distill.candidates import KEY_FIELDS, generate_candidates, open_store, screen_candidates


class ScriptedTeacher:
    """Answers every prompt with a fixed CoT; can die after ``fail_after`` completions."""

    name = "fake:teacher"

    def __init__(self, fail_after: int | None = None) -> None:
        self.fail_after = fail_after
        self.asked: list[str] = []

    def complete(self, prompts):
        for i, prompt in enumerate(prompts):
            if self.fail_after is not None and len(self.asked) >= self.fail_after:
                raise KeyboardInterrupt("simulated kill")
            self.asked.append(prompt)
            yield i, f"<think>The user keeps buying similar products; candidate {len(self.asked)}.</think>"

    def close(self):
        pass


def _keys(path: Path) -> list[tuple]:
    return [tuple(json.loads(line)[f] for f in KEY_FIELDS) for line in path.read_text().splitlines()]


def test_interrupted_run_resumes_without_duplicates_or_recomputation(examples, distill_config):
    total = len(examples) * distill_config.num_candidates  # 15
    path = Path(distill_config.store)
    with open_store(path) as store, pytest.raises(KeyboardInterrupt):
        generate_candidates(examples, ScriptedTeacher(fail_after=7), store, distill_config, progress=False)
    first = _keys(path)
    assert len(first) == 7
    before = {k: json.loads(line) for k, line in zip(first, path.read_text().splitlines())}

    second = ScriptedTeacher()
    with open_store(path) as store:
        report = generate_candidates(examples, second, store, distill_config, progress=False)
    assert (report.reused, report.generated) == (7, total - 7)
    assert len(second.asked) == total - 7  # finished candidates were not requested again
    keys = _keys(path)
    assert len(keys) == total and len(set(keys)) == total
    after = {k: json.loads(line) for k, line in zip(keys, path.read_text().splitlines())}
    assert all(after[k] == v for k, v in before.items())  # finished records untouched

    third = ScriptedTeacher()
    with open_store(path) as store:
        assert generate_candidates(examples, third, store, distill_config, progress=False).generated == 0
        candidates, screened = screen_candidates(examples, third.name, store, distill_config)
    assert third.asked == [] and screened.missing == 0 and len(candidates) == total
    assert Counter(c.example.example_id for c in candidates) == {e.example_id: 3 for e in examples}


def test_changing_the_template_or_teacher_does_not_reuse_candidates(examples, distill_config):
    with open_store(distill_config.store) as store:
        generate_candidates(examples[:1], ScriptedTeacher(), store, distill_config, progress=False)
        distill_config.rupr_template = "{prompt}\nNext item: {target_text}\nExplain."
        again = ScriptedTeacher()
        assert generate_candidates(examples[:1], again, store, distill_config, progress=False).generated == 3
        again.name = "fake:other"
        assert generate_candidates(examples[:1], again, store, distill_config, progress=False).generated == 3


SCRIPT = textwrap.dedent(
    """
    import dataclasses, sys, time
    sys.path.insert(0, {tests!r})
    from distill.conftest import ITEMS, make_example
    from rlrec.config import DistillConfig
    from rlrec.distill.candidates import generate_candidates, open_store

    class Slow:
        name = "fake:slow"
        def complete(self, prompts):
            for i, p in enumerate(prompts):
                time.sleep(0.05)
                yield i, "<think>" + "the user buys the same aisle again " * 3 + "</think>"
        def close(self):
            pass

    examples = [dataclasses.replace(make_example(i, t, c), example_id=f"x{{i}}") for i, (t, c) in enumerate(ITEMS * 8)]
    cfg = DistillConfig(num_candidates=3, store={store!r})
    with open_store(cfg.store) as store:
        r = generate_candidates(examples, Slow(), store, cfg, progress=False)
    print(r.reused, r.generated)
    """
)


def test_sigkill_mid_run_then_rerun_completes(tmp_path):
    store = tmp_path / "killed.jsonl"
    script = tmp_path / "run.py"
    script.write_text(SCRIPT.format(tests=str(Path(__file__).resolve().parents[1]), store=str(store)))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline and (not store.exists() or len(store.read_bytes().splitlines()) < 10):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(_keys_tolerant(store))
    assert 10 <= done_before < 120, "the run should have been killed part-way"

    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    reused, generated = map(int, out.stdout.split()[-2:])
    assert reused == done_before and reused + generated == 120
    keys = _keys(store)
    assert len(keys) == 120 and len(set(keys)) == 120


def _keys_tolerant(path: Path) -> list[tuple]:
    """Complete lines only (the kill may have torn the last one)."""
    lines = path.read_bytes().split(b"\n")[:-1]
    return [tuple(json.loads(line)[f] for f in KEY_FIELDS) for line in lines]
