"""PPL scoring throughput (Taiji Eq. 1) against a plain forward pass of the same batch.

    python -m experiments.benchmarks.ppl_bench                      # embedded SmolLM2, CPU or GPU
    python -m experiments.benchmarks.ppl_bench --batch 16 --context 1024 --answer 32 --dtype bfloat16

Both sides see identical left-padded [B, T] batches (random token ids with varying context lengths, answers
right-aligned). Baseline: ``model(input_ids, attention_mask)`` with full [B, T, V] logits (what scoring
costs without the answer-span slicing). Ours: :func:`rlrec.distill.ppl.ppl_forward` (forward with
``logits_to_keep = A + 1``, log-softmax, gather, masked mean, exp). Also reported: the end-to-end
:func:`score_ppl` (tokenization + batching) on decoded text. Throughput counts non-pad tokens.
Target: ours / baseline >= 0.8. Results go to ``runs/benchmarks/ppl_bench/`` (or --out) as JSON + markdown.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from rlrec.assets import load_causal_lm
from rlrec.distill.ppl import left_pad_batch, ppl_forward, score_ppl


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _time(fn, device: torch.device, repeats: int) -> list[float]:
    fn()  # warm-up (allocations, kernels, caches)
    _sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="embedded:smollm2")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=4, help="B sequences per batch")
    parser.add_argument("--context", type=int, default=256, help="longest context (prompt + CoT) in tokens")
    parser.add_argument("--answer", type=int, default=24, help="answer tokens (Eq. 1 span)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/benchmarks/ppl_bench")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    model, tokenizer = load_causal_lm(args.model, dtype=args.dtype, device=args.device)
    model.eval()
    vocab = min(len(tokenizer), model.config.vocab_size)
    # Contexts from 50% to 100% of --context, so the batch really is padded; answers of --answer tokens.
    lengths = torch.linspace(args.context // 2, args.context, args.batch).long().tolist()
    contexts = [torch.randint(100, vocab, (n,)).tolist() for n in lengths]
    answers = [torch.randint(100, vocab, (args.answer,)).tolist() for _ in lengths]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    input_ids, attention_mask, answer_mask = (t.to(device) for t in left_pad_batch(contexts, answers, pad))
    position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)
    tokens = int(attention_mask.sum())

    @torch.no_grad()
    def plain_forward():
        return model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids).logits

    @torch.no_grad()
    def ours():
        return ppl_forward(model, input_ids, attention_mask, answer_mask)

    context_text = tokenizer.batch_decode(contexts)
    answer_text = tokenizer.batch_decode(answers)

    def end_to_end():
        return score_ppl(model, tokenizer, context_text, answer_text, batch_size=args.batch, progress=False)

    base_t = _time(plain_forward, device, args.repeats)
    ours_t = _time(ours, device, args.repeats)
    e2e_t = _time(end_to_end, device, args.repeats)
    # decode → re-encode of random ids changes the count a little: the end-to-end path counts its own tokens
    e2e_tokens = sum(len(t) for t in tokenizer(context_text + answer_text, add_special_tokens=False)["input_ids"])

    def tps(times, n):
        return n / statistics.median(times)

    result = {
        "model": args.model, "dtype": args.dtype, "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine(),
        "torch_threads": torch.get_num_threads(),
        "batch": args.batch, "max_context": args.context, "answer_tokens": args.answer, "non_pad_tokens": tokens,
        "padded_shape": list(input_ids.shape), "repeats": args.repeats,
        "plain_forward_s": base_t, "ppl_forward_s": ours_t, "score_ppl_end_to_end_s": e2e_t,
        "plain_forward_tok_s": tps(base_t, tokens),
        "ppl_forward_tok_s": tps(ours_t, tokens),
        "score_ppl_end_to_end_tok_s": tps(e2e_t, e2e_tokens),
    }
    result["ratio_ppl_vs_plain"] = result["ppl_forward_tok_s"] / result["plain_forward_tok_s"]
    result["ratio_end_to_end_vs_plain"] = result["score_ppl_end_to_end_tok_s"] / result["plain_forward_tok_s"]
    result["target_met"] = result["ratio_ppl_vs_plain"] >= 0.8

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(result, indent=1))
    md = [
        "# PPL scoring throughput vs a plain forward pass",
        "",
        f"{args.model} ({args.dtype}) on {result['device_name']} ({device}), B={args.batch}, padded "
        f"{result['padded_shape']}, {tokens} non-pad tokens, answer span {args.answer} tokens, median of {args.repeats}.",
        "",
        "| path | tokens/s | vs plain forward |",
        "|---|---|---|",
        f"| plain forward (full logits) | {result['plain_forward_tok_s']:.1f} | 1.00× |",
        f"| ppl_forward (answer-span logits + Eq. 1) | {result['ppl_forward_tok_s']:.1f} | {result['ratio_ppl_vs_plain']:.2f}× |",
        f"| score_ppl end to end (tokenize + batch + score) | {result['score_ppl_end_to_end_tok_s']:.1f} | {result['ratio_end_to_end_vs_plain']:.2f}× |",
        "",
        f"Target ≥ 0.8×: {'met' if result['target_met'] else 'NOT met'}.",
    ]
    (out / "results.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
