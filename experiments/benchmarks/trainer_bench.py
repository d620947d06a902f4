"""Step time, its breakdown and peak memory: TRL's GRPOTrainer vs ours with fixed weights, POPO-light, POPO.

    python -m experiments.benchmarks.trainer_bench                       # SmolLM2-135M, full FT and LoRA
    python -m experiments.benchmarks.trainer_bench --model /path/tiny --steps 2 --rounds 2 --modes full

Every variant runs the same config (prompts, G, completion length, lr, seed, ``--scale-rewards``) in its own
subprocess (so its peak RSS is its own). Rounds interleave the variants (the order rotates every round), and
each ratio pairs the numerator's i-th measured step of a round with the denominator's i-th step of the same
round: the ratio of median step times and the median of the per-pair ratios, each with a paired bootstrap 95%
CI over those pairs (the machine may be shared; drift between rounds hits both sides of a pair). Completions are forced to exactly
``--completion-tokens`` tokens so every variant does the same work; rewards are cheap functions of the text.

POPO variants: ``popo_k2`` / ``popo_k3`` at ``--scale-rewards`` (default batch: the real gradient is assembled
from the K per-reward products, K backward passes); ``popo_k2_group`` at scale_rewards=group (per-group
scaling: the real backward runs too, K + 1 passes); ``popo_k2_last2`` per-reward gradients over the last 2
layers only (the real backward runs: the subset does not cover every trainable parameter).

Breakdown per step (seconds): ``rollout`` = generation and advantages (``_generate_and_score_completions``
minus rewards), ``rewards``, ``forward`` = the training forward, ``products`` = POPO's K per-reward VJPs,
``gram``, ``popo_other`` = weight update, advantage refresh, gradient assembly, ``backward``
(``accelerator.backward``), ``optimizer`` (``optimizer.step``), ``other`` = the rest of the step (clipping,
logging). Results: ``results.json`` (everything, per step) and ``results.md`` in ``--out``.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

VARIANTS = [  # (name, weighting or None for TRL vanilla, number of rewards, POPO gradient subset, scale override)
    ("trl_vanilla", None, 2, "all", None),
    ("fixed", "fixed", 2, "all", None),
    ("popo_light", "popo_light", 2, "all", None),
    ("popo_k2", "popo", 2, "all", None),
    ("popo_k3", "popo", 3, "all", None),
    ("popo_k2_group", "popo", 2, "all", "group"),  # per-group scaling: K + 1 backward passes
    ("popo_k2_last2", "popo", 2, "last2", None),  # per-reward gradients over the last 2 decoder layers only
]
RATIOS = [  # (label, numerator, denominator, target {mode: bound} from issue 16)
    ("fixed / trl_vanilla", "fixed", "trl_vanilla", {"full": 1.02, "lora": 1.02}),
    ("popo_light / fixed", "popo_light", "fixed", {"full": 1.02, "lora": 1.02}),
    ("popo_k2 / fixed", "popo_k2", "fixed", {"full": 1.35, "lora": 1.15}),
    ("popo_k3 / fixed", "popo_k3", "fixed", {"full": 1.6}),
    ("popo_k2_group / fixed", "popo_k2_group", "fixed", {}),
    ("popo_k2_last2 / fixed", "popo_k2_last2", "fixed", {}),
]
PHASES = ("rollout", "rewards", "forward", "products", "gram", "popo_other", "backward", "optimizer", "other")


def _text(c) -> str:
    return c if isinstance(c, str) else c[-1]["content"]


def vowel_rate(completions, **kwargs):
    return [sum(ch in "aeiou" for ch in _text(c)) / max(len(_text(c)), 1) for c in completions]


def length_score(completions, **kwargs):
    return [min(1.0, len(_text(c)) / 200.0) for c in completions]


def space_rate(completions, **kwargs):
    return [_text(c).count(" ") / max(len(_text(c)), 1) for c in completions]


REWARDS = [vowel_rate, length_score, space_rate]


def _dataset(n: int):
    from datasets import Dataset

    items = ["apples", "oat milk", "rice", "green tea", "dish soap", "strawberry jam", "eggs", "bread"]
    return Dataset.from_list([
        {"prompt": [{"role": "user", "content": f"A user bought {items[i % 8]} and {items[(i + 3) % 8]}. "
                                                 "Recommend the next grocery item and explain briefly."}]}
        for i in range(n)
    ])


def _build(spec: dict):
    from trl import GRPOTrainer

    from rlrec.assets import resolve_model_path
    from rlrec.config import LoraConfig, ModelConfig, RLConfig, WeightingConfig
    from rlrec.trainers.build import build_trainer, grpo_args, peft_config

    steps = spec["warmup"] + spec["steps"]
    lora = LoraConfig(enabled=spec["mode"] == "lora", target_modules=["q_proj", "k_proj", "v_proj", "o_proj"])
    rl = RLConfig(batch_size=spec["batch_size"], num_generations=4, max_completion_length=spec["completion_tokens"],
                  learning_rate=2e-5, lr_scheduler="constant", max_steps=steps, save_steps=10_000, top_p=1.0,
                  temperature=1.0, scale_rewards=spec["scale"], lora=lora)
    rewards = REWARDS[: spec["k"]]
    policy = resolve_model_path(spec["model"])
    common = dict(generation_kwargs={"min_new_tokens": spec["completion_tokens"]}, use_cpu=not torch.cuda.is_available(),
                  bf16=torch.cuda.is_available(), logging_steps=1)
    out = Path(spec["out"]) / "tmp" / f"{spec['name']}_{spec['mode']}"
    if spec["weighting"] is None:
        # TRL's trainer with the same CPU fused-head fix ours gets in build_trainer, so the ratio compares the
        # trainers, not the LM head (that fix's own gain is measured by experiments.benchmarks.fused_head_bench)
        from rlrec.fused_head import score_labelled_positions_only

        score_labelled_positions_only()
        args = grpo_args(rl, ModelConfig(), out, seed=0, reward_weights=[0.5] * spec["k"], **common)
        return GRPOTrainer(model=policy, reward_funcs=rewards, args=args, train_dataset=_dataset(64),
                           peft_config=peft_config(rl.lora))
    from transformers import AutoConfig

    layers = AutoConfig.from_pretrained(policy).num_hidden_layers
    subset = {"all": [], "last2": [rf"layers\.({layers - 2}|{layers - 1})\."]}[spec["subset"]]
    params = {"grad_params": subset, "weight_lr": 0.2} if spec["weighting"] == "popo" else {}
    return build_trainer(rl=rl, model_config=ModelConfig(), weighting=WeightingConfig(name=spec["weighting"], params=params),
                         policy=policy, reward_funcs=rewards, reward_names=[f.__name__ for f in rewards],
                         train_dataset=_dataset(64), output_dir=out, **common)


def run_variant(spec: dict) -> dict:
    """One variant in this process: build, train warmup + measured steps, return per-step phases and peak memory."""
    from transformers import TrainerCallback

    trainer = _build(spec)
    current = dict.fromkeys(("rollout", "rewards", "forward", "popo", "backward", "optimizer"), 0.0)
    state = {"in_rollout": False}

    def timed(fn, key, when=lambda: True):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                if when():
                    current[key] += time.perf_counter() - start
        return wrapper

    generate = trainer._generate_and_score_completions

    def timed_generate(inputs):
        state["in_rollout"] = True
        try:
            return timed(generate, "rollout")(inputs)
        finally:
            state["in_rollout"] = False

    trainer._generate_and_score_completions = timed_generate
    trainer._calculate_rewards = timed(trainer._calculate_rewards, "rewards")
    trainer._get_per_token_logps_and_entropies = timed(trainer._get_per_token_logps_and_entropies, "forward",
                                                       when=lambda: not state["in_rollout"])
    if hasattr(trainer, "_popo_step"):
        trainer._popo_step = timed(trainer._popo_step, "popo")
    trainer.accelerator.backward = timed(trainer.accelerator.backward, "backward")
    steps: list[dict] = []

    class StepTimer(TrainerCallback):
        def on_step_begin(self, args, state_, control, **kwargs):
            current.update(dict.fromkeys(current, 0.0))
            self.start = time.perf_counter()

        def on_pre_optimizer_step(self, args, state_, control, **kwargs):
            self.opt = time.perf_counter()

        def on_optimizer_step(self, args, state_, control, **kwargs):
            current["optimizer"] += time.perf_counter() - self.opt

        def on_step_end(self, args, state_, control, **kwargs):
            steps.append({"step": time.perf_counter() - self.start, **current})

    trainer.add_callback(StepTimer())
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    trainer.train()
    logs = [h for h in trainer.state.log_history if "loss" in h]
    for row, h in zip(steps, logs):  # logging_steps=1: one log per step
        products, gram = h.get("popo/time/per_reward_grads_s", 0.0), h.get("popo/time/gram_s", 0.0)
        popo = row.pop("popo")
        row.update(rollout=row["rollout"] - row["rewards"], forward=row["forward"] - popo, products=products, gram=gram,
                   popo_other=popo - products - gram, assembled=h.get("popo/assembled"))
        row["other"] = row["step"] - sum(row[p] for p in PHASES if p != "other")
    return {
        "steps": steps[spec["warmup"]:],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_cuda_mb": torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None,
        "trainable_params": sum(p.numel() for p in trainer.model.parameters() if p.requires_grad),
    }


def paired_ratio(num: list[list[float]], den: list[list[float]], resamples: int = 2000, seed: int = 0) -> dict:
    """Step-time ratio of two variants with paired bootstrap 95% CIs.

    ``num`` / ``den``: per round, the measured step times. Step i of round r of one variant is paired with step i
    of round r of the other; the bootstrap resamples pairs with replacement. Two estimates:

    * ``ratio`` [``lo``, ``hi``]: ratio of the median step times (issue 16's definition). Its CI is as wide as
      one pair's noise: each median is one step, whatever the number of pairs.
    * ``paired`` [``paired_lo``, ``paired_hi``]: median of the per-pair ratios: drift shared by a pair (a busy
      machine, a slow round) cancels and every pair counts, so this CI narrows as 1/sqrt(pairs).

    ``half_width``: the paired CI's largest distance from ``paired``, relative; ``pairs_for_2pct``: the pairs a
    ±2% paired CI would need at this noise.
    """
    pairs = [(a, b) for ra, rb in zip(num, den) for a, b in zip(ra, rb)]
    keys = ("ratio", "lo", "hi", "paired", "paired_lo", "paired_hi", "half_width", "pairs_for_2pct")
    if not pairs:
        return {**dict.fromkeys(keys), "pairs": 0}

    def of_medians(sample):
        return statistics.median(a for a, _ in sample) / statistics.median(b for _, b in sample)

    def of_pairs(sample):
        return statistics.median(a / b for a, b in sample)

    rng = random.Random(seed)
    samples = [[pairs[rng.randrange(len(pairs))] for _ in pairs] for _ in range(resamples)]
    out: dict = {"pairs": len(pairs)}
    for key, stat in (("ratio", of_medians), ("paired", of_pairs)):
        boots = sorted(stat(sample) for sample in samples)
        lo_key, hi_key = ("lo", "hi") if key == "ratio" else ("paired_lo", "paired_hi")
        out.update({key: stat(pairs), lo_key: boots[int(0.025 * resamples)], hi_key: boots[int(0.975 * resamples) - 1]})
    half = max(out["paired_hi"] - out["paired"], out["paired"] - out["paired_lo"]) / out["paired"]
    out["half_width"] = half
    out["pairs_for_2pct"] = int(len(pairs) * (half / 0.02) ** 2 + 0.999) if half > 0 else len(pairs)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="embedded:smollm2")
    parser.add_argument("--modes", default="full,lora", help="comma list of full, lora")
    parser.add_argument("--variants", default=",".join(v[0] for v in VARIANTS), help="comma list (default: all)")
    parser.add_argument("--steps", type=int, default=8, help="measured steps per variant and round")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved repetitions of all variants")
    parser.add_argument("--batch-size", type=int, default=8, help="completions per step (B*G, G = 4)")
    parser.add_argument("--completion-tokens", type=int, default=32)
    parser.add_argument("--scale-rewards", default="batch", help="TRL scale_rewards of every variant but popo_k2_group")
    parser.add_argument("--out", default="runs/benchmarks/trainer_bench")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # internal: run one variant from a JSON spec
    args = parser.parse_args()
    if args.worker:
        print("RESULT " + json.dumps(run_variant(json.loads(args.worker))), flush=True)
        return

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    chosen = set(args.variants.split(","))
    variants = [v for v in VARIANTS if v[0] in chosen]
    runs: dict[tuple[str, str], list[dict]] = {}
    jobs = [(mode, *variant) for mode in args.modes.split(",") for variant in variants]
    started = time.perf_counter()
    for rnd in range(args.rounds):
        shift = rnd % len(jobs)
        for mode, name, weighting, k, subset, scale in jobs[shift:] + jobs[:shift]:  # rotate the order each round
            spec = dict(name=name, weighting=weighting, k=k, subset=subset, mode=mode, model=args.model, steps=args.steps,
                        warmup=args.warmup, batch_size=args.batch_size, completion_tokens=args.completion_tokens,
                        scale=scale or args.scale_rewards, out=str(out))
            print(f"[round {rnd + 1}/{args.rounds}] {mode:4s} {name} ...", flush=True)
            proc = subprocess.run([sys.executable, "-m", "experiments.benchmarks.trainer_bench", "--worker", json.dumps(spec)],
                                  capture_output=True, text=True)
            lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
            if proc.returncode != 0 or not lines:
                raise RuntimeError(f"variant {mode}/{name} failed:\n{proc.stderr[-3000:]}")
            runs.setdefault((mode, name), []).append(json.loads(lines[-1][len("RESULT "):]))

    table: dict[str, dict[str, dict]] = {}
    for (mode, name), results in runs.items():
        steps = [s for r in results for s in r["steps"]]
        assembled = [s["assembled"] for s in steps if s.get("assembled") is not None]
        table.setdefault(mode, {})[name] = {
            "step_s": statistics.median(s["step"] for s in steps),
            **{f"{p}_s": statistics.median(s[p] for s in steps) for p in PHASES},
            "assembled": statistics.mean(assembled) if assembled else None,
            "peak_rss_mb": max(r["peak_rss_mb"] for r in results),
            "peak_cuda_mb": max((r["peak_cuda_mb"] or 0.0) for r in results) or None,
            "trainable_params": results[0]["trainable_params"],
            "samples": len(steps),
        }
    ratios: dict[str, dict[str, dict]] = {}
    for mode, rows in table.items():
        for label, a, b, targets in RATIOS:
            if a in rows and b in rows:
                num, den = ([[s["step"] for s in r["steps"]] for r in runs[(mode, name)]] for name in (a, b))
                ratios.setdefault(mode, {})[label] = {
                    **paired_ratio(num, den), "target": targets.get(mode),
                    "peak_rss_mb": [rows[a]["peak_rss_mb"], rows[b]["peak_rss_mb"]],
                    "peak_cuda_mb": [rows[a]["peak_cuda_mb"], rows[b]["peak_cuda_mb"]],
                }
    meta = {"model": args.model, "device": "cuda" if torch.cuda.is_available() else f"cpu ({platform.processor() or platform.machine()})",
            "torch_threads": torch.get_num_threads(), "steps": args.steps, "warmup": args.warmup, "rounds": args.rounds,
            "batch_size": args.batch_size, "completion_tokens": args.completion_tokens, "G": 4,
            "scale_rewards": args.scale_rewards, "wall_s": round(time.perf_counter() - started, 1)}
    raw = {f"{mode}/{name}": results for (mode, name), results in runs.items()}
    (out / "results.json").write_text(json.dumps({"meta": meta, "table": table, "ratios": ratios, "raw": raw}, indent=2))
    md = _markdown(meta, table, ratios)
    (out / "results.md").write_text(md)
    shutil.rmtree(out / "tmp", ignore_errors=True)  # the trainers' output dirs (checkpoints: GBs), not results
    print(md)


def _markdown(meta: dict, table: dict, ratios: dict) -> str:
    fmt = lambda v, d=3: "-" if v is None else f"{v:.{d}f}"  # noqa: E731
    lines = ["# trainer_bench", "", "Settings: " + ", ".join(f"{k}={v}" for k, v in meta.items()), "",
             "Medians over all measured steps (seconds). `assembled`: share of POPO updates whose real gradient was "
             "assembled from the per-reward products (no real backward).", ""]
    for mode, rows in table.items():
        cols = ["step_s", *(f"{p}_s" for p in PHASES)]
        lines += [f"## {mode}", "", "| variant | " + " | ".join(cols) + " | assembled | peak RSS MB | peak CUDA MB | trainable | n |",
                  "|---" * (len(cols) + 6) + "|"]
        for name, r in rows.items():
            lines.append(f"| {name} | " + " | ".join(fmt(r[c]) for c in cols) + f" | {fmt(r['assembled'], 2)} | "
                         f"{r['peak_rss_mb']:.0f} | {fmt(r['peak_cuda_mb'], 0)} | {r['trainable_params']:,} | {r['samples']} |")
        lines += ["", "| step-time ratio | of medians [95% CI] | median of paired ratios [95% CI] | ± | pairs | "
                  "pairs for ±2% | target | peak RSS MB (num / den) |", "|---|---|---|---|---|---|---|---|"]
        for label, r in ratios.get(mode, {}).items():
            target = "-" if r["target"] is None else f"<= {r['target']}"
            rss = " / ".join(f"{v:.0f}" for v in r["peak_rss_mb"])
            half = None if r["half_width"] is None else 100 * r["half_width"]
            lines.append(f"| {label} | {fmt(r['ratio'])} [{fmt(r['lo'])}, {fmt(r['hi'])}] | {fmt(r['paired'])} "
                         f"[{fmt(r['paired_lo'])}, {fmt(r['paired_hi'])}] | {fmt(half, 1)}% | {r['pairs']} | "
                         f"{r['pairs_for_2pct']} | {target} | {rss} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
