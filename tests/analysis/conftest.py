"""A hand-written 3-strategy x 3-seed sweep whose runs carry per-example evaluation rows (completions.jsonl).

Per example n (N = 60, two completions each) the SFT model scores ``base[n]``; the RL model of each strategy
scores ``base[n] + shift + noise``: fixed +0, popo +0.05 on Semantic_Cosine (a real, paired-detectable gain
that is small next to the between-example spread), popo_light ±0.02 alternating (mean 0, not significant).
CTCVR is the same for every strategy (RL = SFT + 0.001).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

N_EXAMPLES = 60
SEEDS = (0, 1, 2)
STRATEGIES = ("fixed", "popo", "popo_light")
GROUPS = {"Semantic_Cosine": "Semantic Hit-Rate", "CTCVR": "Preference Hit-Rate"}


def _rows(values: dict[str, np.ndarray]) -> list[dict]:
    rows = []
    for n in range(N_EXAMPLES):
        for _ in range(2):  # two completions of one example: the paired analysis averages them first
            rows.append({"example_id": f"ex{n}", "user_id": f"u{n}", "completion": "…", "status": "ok",
                         **{k: float(v[n]) for k, v in values.items()}})
    return rows


def _write_eval(run: Path, label: str, values: dict[str, np.ndarray]) -> None:
    folder = run / "eval" / label
    folder.mkdir(parents=True)
    metrics = {k: {"value": float(np.mean(v)), "ci_low": None, "ci_high": None, "n": N_EXAMPLES, "confidence": 0.95,
                   "higher_is_better": True, "group": GROUPS[k]} for k, v in values.items()}
    (folder / "eval_metrics.json").write_text(json.dumps({"label": label, "metrics": metrics}))
    (folder / "completions.jsonl").write_text("\n".join(json.dumps(r) for r in _rows(values)) + "\n")


def rl_values(strategy: str, seed: int, base: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    sign = np.where(np.arange(N_EXAMPLES) % 2 == 0, 1.0, -1.0)  # [N] alternating ±1: mean exactly 0
    shift = {"fixed": 0.0, "popo": 0.05, "popo_light": 0.0}[strategy]
    wobble = 0.02 * sign if strategy == "popo_light" else 0.0
    return {"Semantic_Cosine": base["Semantic_Cosine"] + shift + wobble + 0.001 * seed,
            "CTCVR": base["CTCVR"] + 0.001}


def write_paired_sweep(root: Path) -> Path:
    rng = np.random.default_rng(7)
    base = {"Semantic_Cosine": rng.uniform(0.2, 0.8, N_EXAMPLES), "CTCVR": rng.uniform(0.0, 0.02, N_EXAMPLES)}
    for strategy in STRATEGIES:
        for seed in SEEDS:
            run = root / f"seed={seed},weighting={strategy}"
            (run / ".hydra").mkdir(parents=True)
            (run / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump([f"weighting={strategy}", f"seed={seed}"]))
            config = {"seed": seed, "weighting": {"name": strategy},
                      "logger": {"project": "rlrec-test", "entity": None, "group": "quick_weighting_strategies_t0"}}
            (run / "config.yaml").write_text(yaml.safe_dump(config))
            rl = rl_values(strategy, seed, base)
            summary = {f"eval/{label}/{k}": float(np.mean(v)) for label, vals in (("sft", base), ("rl", rl)) for k, v in vals.items()}
            summary.update({"higher_is_better": {k: True for k in GROUPS}, "objectives": list(GROUPS),
                            "metric_groups": GROUPS})
            (run / "summary.json").write_text(json.dumps(summary))
            lines = [{"step": s, "weights/semantic_cosine": 0.5 + 0.01 * s, "weights/ctcvr": 0.5 - 0.01 * s} for s in (1, 2, 3)]
            (run / "metrics.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
            _write_eval(run, "sft", base)
            _write_eval(run, "rl", rl)
    return root


@pytest.fixture()
def paired_sweep(tmp_path) -> Path:
    return write_paired_sweep(tmp_path / "sweep")
