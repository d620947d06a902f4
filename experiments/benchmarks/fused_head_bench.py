"""TRL's fused LM head on CPU: every position projected (TRL's CPU default) vs the labelled ones only.

    python -m experiments.benchmarks.fused_head_bench                       # embedded SmolLM2, 4 x 620 tokens
    python -m experiments.benchmarks.fused_head_bench --batch 4 --tokens 750 --labelled 96 --rounds 7

One step = the fused forward (``fused_lm_head=True``, log-probs + entropy + top-1, as SFTTrainer asks) and its
backward, on a [B, T] batch whose last ``--labelled`` tokens of each row carry labels (the completion; the
prompt is -100), as in SFT and GRPO. Baseline: TRL's path on CPU (every position through the 49k-word head).
Ours: :func:`rlrec.fused_head.score_labelled_positions_only` (the labelled positions only). The two run
interleaved, ``--rounds`` times each after a warm-up; the ratio of medians is reported with the trainer
benchmark's paired bootstrap CI over the rounds (``trainer_bench.paired_ratio``), and the loss of both (it must be identical). Results go to
``runs/benchmarks/fused_head_bench/`` (or --out) as JSON + markdown.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from experiments.benchmarks.trainer_bench import paired_ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="embedded:smollm2")
    parser.add_argument("--batch", type=int, default=4, help="B sequences")
    parser.add_argument("--tokens", type=int, default=620, help="T tokens per sequence (prompt + completion)")
    parser.add_argument("--labelled", type=int, default=100, help="labelled (completion) tokens per sequence")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/benchmarks/fused_head_bench")
    args = parser.parse_args()

    import trl.trainer.utils as trl_utils

    from rlrec.assets import load_causal_lm
    from rlrec.fused_head import score_labelled_positions_only

    torch.manual_seed(args.seed)
    model, _ = load_causal_lm(args.model)
    trl_utils.add_fused_lm_head(model, outputs=("log_probs", "entropy", "is_top1"))
    model.train()
    ids = torch.randint(0, model.config.vocab_size, (args.batch, args.tokens))
    labels = ids.clone()
    labels[:, : args.tokens - args.labelled] = -100
    every_position = trl_utils._use_triton
    score_labelled_positions_only()
    labelled_only = trl_utils._use_triton

    def step(choice) -> tuple[float, float]:
        trl_utils._use_triton = choice
        start = time.perf_counter()
        out = model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=labels, fused_lm_head=True)
        out.loss.backward()
        model.zero_grad(set_to_none=True)
        return time.perf_counter() - start, out.loss.item()

    step(every_position), step(labelled_only)  # warm-up
    base, ours, losses = [], [], set()
    for i in range(args.rounds):
        for name, choice in (("base", every_position), ("ours", labelled_only))[:: 1 if i % 2 == 0 else -1]:
            seconds, loss = step(choice)
            (base if name == "base" else ours).append(seconds)
            losses.add(round(loss, 5))
            print(f"round {i}: {name} {seconds:.2f} s, loss {loss:.5f}", flush=True)
    trl_utils._use_triton = every_position

    paired = paired_ratio([ours], [base], seed=args.seed)  # round i of ours paired with round i of TRL's path
    ratio, lo, hi = paired["ratio"], paired["lo"], paired["hi"]
    result = {
        "model": args.model, "batch": args.batch, "tokens": args.tokens, "labelled": args.labelled,
        "rounds": args.rounds, "torch_threads": torch.get_num_threads(), "machine": platform.processor() or platform.machine(),
        "every_position_s": base, "labelled_only_s": ours, "ratio_ours_over_base": ratio, "ratio_ci95": [lo, hi],
        "losses_identical": len(losses) == 1,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(result, indent=1))
    (out / "results.md").write_text(
        f"# Fused LM head on CPU: labelled positions only vs every position\n\n"
        f"`python -m experiments.benchmarks.fused_head_bench --batch {args.batch} --tokens {args.tokens} "
        f"--labelled {args.labelled} --rounds {args.rounds}` ({args.model}, {torch.get_num_threads()} threads)\n\n"
        f"| path | median forward + backward (s) |\n|---|---|\n"
        f"| every position (TRL on CPU) | {statistics.median(base):.2f} |\n"
        f"| labelled positions only (rlrec) | {statistics.median(ours):.2f} |\n\n"
        f"Ratio ours / TRL: **{ratio:.3f}** (95% bootstrap CI over rounds [{lo:.3f}, {hi:.3f}]); "
        f"losses identical: {len(losses) == 1}.\n")
    print(f"ratio labelled-only / every-position: {ratio:.3f} [{lo:.3f}, {hi:.3f}]; losses identical: {len(losses) == 1}")
    print(f"results: {out / 'results.md'}")


if __name__ == "__main__":
    main()
