"""Step time and peak memory: TRL's vanilla GRPOTrainer vs ours with fixed weights, POPO-light, POPO (K=2, 3).

    python -m experiments.benchmarks.trainer_bench                       # SmolLM2-135M, full FT and LoRA
    python -m experiments.benchmarks.trainer_bench --model /path/tiny --steps 2 --rounds 1 --modes full

Every variant runs the same config (prompts, G, completion length, lr, seed) in its own subprocess (so its
peak RSS is its own), variants are interleaved over ``--rounds`` and the median step time is reported (the
machine may be shared). Completions are forced to exactly ``--completion-tokens`` tokens (min = max new
tokens) so every variant does the same work. Rewards are cheap deterministic functions of the completion
text: the benchmark measures the trainer, not the rewards. Results: ``results.json`` and ``results.md`` in
``--out`` (default ``runs/benchmarks/trainer_bench``).

Columns: ``step_s`` = optimizer step wall time (rollout + train); ``rollout_s`` = generation, rewards and
advantages (``_generate_and_score_completions``); ``train_s`` = the rest (forward, POPO, backward, optimizer);
``popo_grads_s`` / ``popo_gram_s`` = POPO's per-reward VJPs and its Gram + weight update + advantage refresh.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

VARIANTS = [  # (name, weighting or None for TRL vanilla, number of rewards, POPO gradient subset)
    ("trl_vanilla", None, 2, "all"),
    ("fixed", "fixed", 2, "all"),
    ("popo_light", "popo_light", 2, "all"),
    ("popo_k2", "popo", 2, "all"),
    ("popo_k3", "popo", 3, "all"),
    ("popo_k2_last2", "popo", 2, "last2"),  # per-reward gradients over the last 2 decoder layers only
]
RATIOS = [  # (label, numerator, denominator, target)
    ("fixed / trl_vanilla", "fixed", "trl_vanilla", 1.02),
    ("popo_light / fixed", "popo_light", "fixed", 1.02),
    ("popo_k2 / fixed", "popo_k2", "fixed", 1.35),
    ("popo_k3 / fixed", "popo_k3", "fixed", None),
    ("popo_k2_last2 / fixed", "popo_k2_last2", "fixed", None),
]


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


def run_variant(spec: dict) -> dict:
    """One variant in this process: build, train warmup + measured steps, return timings and peak memory."""
    from transformers import TrainerCallback
    from trl import GRPOTrainer

    from rlrec.assets import resolve_model_path
    from rlrec.config import LoraConfig, ModelConfig, RLConfig, WeightingConfig
    from rlrec.trainers.build import build_trainer, grpo_args, peft_config

    steps = spec["warmup"] + spec["steps"]
    rl = RLConfig(batch_size=spec["batch_size"], num_generations=4, max_completion_length=spec["completion_tokens"],
                  learning_rate=2e-5, lr_scheduler="constant", max_steps=steps, save_steps=10_000, top_p=1.0,
                  temperature=1.0, lora=LoraConfig(enabled=spec["mode"] == "lora", target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]))
    rewards = REWARDS[: spec["k"]]
    names = [f.__name__ for f in rewards]
    policy = resolve_model_path(spec["model"])
    common = dict(generation_kwargs={"min_new_tokens": spec["completion_tokens"]}, use_cpu=not torch.cuda.is_available(),
                  bf16=torch.cuda.is_available(), logging_steps=1)
    out = Path(spec["out"]) / "tmp" / f"{spec['name']}_{spec['mode']}"
    if spec["weighting"] is None:
        args = grpo_args(rl, ModelConfig(), out, seed=0, reward_weights=[0.5] * spec["k"], **common)
        trainer = GRPOTrainer(model=policy, reward_funcs=rewards, args=args, train_dataset=_dataset(64),
                              peft_config=peft_config(rl.lora))
    else:
        from transformers import AutoConfig

        layers = AutoConfig.from_pretrained(policy).num_hidden_layers
        subset = {"all": [], "last2": [rf"layers\.({layers - 2}|{layers - 1})\."]}[spec["subset"]]
        params = {"grad_params": subset} if spec["weighting"] == "popo" else {}  # only trainable params (LoRA) count
        weighting = WeightingConfig(name=spec["weighting"], params=params)
        trainer = build_trainer(rl=rl, model_config=ModelConfig(), weighting=weighting, policy=policy, reward_funcs=rewards,
                                reward_names=names, train_dataset=_dataset(64), output_dir=out, **common)

    rollout: list[float] = []
    generate = trainer._generate_and_score_completions

    def timed_generate(inputs):
        start = time.perf_counter()
        result = generate(inputs)
        rollout.append(time.perf_counter() - start)
        return result

    trainer._generate_and_score_completions = timed_generate
    step_times: list[float] = []

    class StepTimer(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            self.start = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            step_times.append(time.perf_counter() - self.start)

    trainer.add_callback(StepTimer())
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    trainer.train()
    keep = slice(spec["warmup"], None)
    logs = [h for h in trainer.state.log_history if "loss" in h][keep]
    step_s, roll_s = step_times[keep], rollout[keep]
    result = {
        "step_s": step_s, "rollout_s": roll_s, "train_s": [a - b for a, b in zip(step_s, roll_s)],
        "popo_grads_s": [h["popo/time/per_reward_grads_s"] for h in logs if "popo/time/per_reward_grads_s" in h],
        "popo_gram_s": [h["popo/time/gram_update_s"] for h in logs if "popo/time/gram_update_s" in h],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_cuda_mb": torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None,
        "trainable_params": sum(p.numel() for p in trainer.model.parameters() if p.requires_grad),
    }
    return result


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="embedded:smollm2")
    parser.add_argument("--modes", default="full,lora", help="comma list of full, lora")
    parser.add_argument("--steps", type=int, default=3, help="measured steps per variant and round")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2, help="interleaved repetitions of all variants")
    parser.add_argument("--batch-size", type=int, default=8, help="completions per step (B*G, G = 4)")
    parser.add_argument("--completion-tokens", type=int, default=32)
    parser.add_argument("--out", default="runs/benchmarks/trainer_bench")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # internal: run one variant from a JSON spec
    args = parser.parse_args()
    if args.worker:
        print("RESULT " + json.dumps(run_variant(json.loads(args.worker))), flush=True)
        return

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs: dict[tuple[str, str], list[dict]] = {}
    jobs = [(mode, *variant) for mode in args.modes.split(",") for variant in VARIANTS]
    for rnd in range(args.rounds):
        for mode, name, weighting, k, subset in jobs:
            spec = dict(name=name, weighting=weighting, k=k, subset=subset, mode=mode, model=args.model, steps=args.steps,
                        warmup=args.warmup, batch_size=args.batch_size, completion_tokens=args.completion_tokens,
                        out=str(out))
            print(f"[round {rnd + 1}/{args.rounds}] {mode:4s} {name} ...", flush=True)
            proc = subprocess.run([sys.executable, "-m", "experiments.benchmarks.trainer_bench", "--worker", json.dumps(spec)],
                                  capture_output=True, text=True)
            lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
            if proc.returncode != 0 or not lines:
                raise RuntimeError(f"variant {mode}/{name} failed:\n{proc.stderr[-3000:]}")
            runs.setdefault((mode, name), []).append(json.loads(lines[-1][len("RESULT "):]))

    table = {}
    for (mode, name), results in runs.items():
        merged = {key: [v for r in results for v in r[key]] for key in ("step_s", "rollout_s", "train_s", "popo_grads_s", "popo_gram_s")}
        table.setdefault(mode, {})[name] = {
            **{key: _median(vals) for key, vals in merged.items()},
            "peak_rss_mb": max(r["peak_rss_mb"] for r in results),
            "peak_cuda_mb": results[0]["peak_cuda_mb"],
            "trainable_params": results[0]["trainable_params"],
            "samples": len(merged["step_s"]),
        }
    ratios = {
        mode: {label: {"step": rows[a]["step_s"] / rows[b]["step_s"], "train": rows[a]["train_s"] / rows[b]["train_s"],
                       "target": target}
               for label, a, b, target in RATIOS}
        for mode, rows in table.items()
    }
    meta = {"model": args.model, "device": "cuda" if torch.cuda.is_available() else f"cpu ({platform.processor() or platform.machine()})",
            "torch_threads": torch.get_num_threads(), "steps": args.steps, "warmup": args.warmup, "rounds": args.rounds,
            "batch_size": args.batch_size, "completion_tokens": args.completion_tokens, "G": 4}
    raw = {f"{mode}/{name}": results for (mode, name), results in runs.items()}
    (out / "results.json").write_text(json.dumps({"meta": meta, "table": table, "ratios": ratios, "raw": raw}, indent=2))
    md = _markdown(meta, table, ratios)
    (out / "results.md").write_text(md)
    print(md)


def _markdown(meta: dict, table: dict, ratios: dict) -> str:
    fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    lines = ["# trainer_bench", "", "Settings: " + ", ".join(f"{k}={v}" for k, v in meta.items()), ""]
    for mode, rows in table.items():
        lines += [f"## {mode}", "", "| variant | step_s | rollout_s | train_s | popo_grads_s | popo_gram_s | peak RSS MB | peak CUDA MB | trainable | n |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for name, r in rows.items():
            lines.append(f"| {name} | {fmt(r['step_s'])} | {fmt(r['rollout_s'])} | {fmt(r['train_s'])} | {fmt(r['popo_grads_s'])} | "
                         f"{fmt(r['popo_gram_s'])} | {r['peak_rss_mb']:.0f} | {fmt(r['peak_cuda_mb'])} | {r['trainable_params']:,} | {r['samples']} |")
        lines += ["", "| ratio | step time | train-only time | target (step) |", "|---|---|---|---|"]
        for label, r in ratios[mode].items():
            target = "-" if r["target"] is None else f"<= {r['target']}"
            lines.append(f"| {label} | {r['step']:.3f} | {r['train']:.3f} | {target} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
