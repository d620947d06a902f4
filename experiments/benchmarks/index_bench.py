"""Cold grounding-index build: items/s of each index encoder from an empty cache, and what the fast ones cost
in quality against plain MiniLM fp32 on the same items.

    python -m experiments.benchmarks.index_bench                 # also run by simulator_bench

1. Speed, every cache empty (a fresh temporary ``$RLREC_CACHE``): the full Instacart catalogue
   (``data.catalogue=full``, 49,688 items) and the logged pool (``logged``, 14,190), for
   * ``embedder`` fp32 with 1 torch thread (the simulator's old setting) and with every core (the new one),
     timed on ``--sample`` items and extrapolated (a full encode takes minutes);
   * ``static``: model2vec distilled from MiniLM — distillation included (the cold cost) and alone.
   Target: >= 1,000 items/s for the full catalogue from cold on 2 cores.
2. Quality, on real answers: SmolLM2-135M-Instruct (the policy) writes ``--gen-answers`` answers to test-split
   Taiji prompts (the assistant turn is prefilled with ``<answer>Item title:`` so every answer has a title,
   sampled at T = 0.7, ``--per-prompt`` per prompt). Each answer is grounded with every encoder; reported:
   top-1 agreement and top-10 overlap with MiniLM fp32, and Title Hit-Rate@1/@10 against the true next item
   with a paired bootstrap 95% CI (over prompts) of the difference to MiniLM fp32.

Answers are cached in ``--out``/answers.jsonl (generation is most of the run time); results.{json,md} there.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def generate_answers(n: int, per_prompt: int, seed: int, path: Path) -> list[dict]:
    """``n`` answers of SmolLM2 to test-split prompts (cached in ``path``): dicts with prompt id, target, text."""
    if path.exists():
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        if len(rows) >= n:
            return rows[:n]
    import torch

    from rlrec.assets import load_causal_lm
    from rlrec.config import DataConfig
    from rlrec.data import prepare_data

    cfg = DataConfig(name="instacart", history_len=10, prompt_token_budget=256, seed=seed)
    prepared = prepare_data(cfg, Path(tempfile.mkdtemp(prefix="index-bench-data-")))
    examples = [e for split in ("test", "rl", "sft") for e in prepared.splits[split]]
    prompts = examples[: -(-n // per_prompt)]
    model, tokenizer = load_causal_lm()
    model.eval()
    tokenizer.padding_side = "left"
    prefix = "<answer>Item title:"
    rows: list[dict] = []
    torch.manual_seed(seed)
    from tqdm.auto import tqdm

    for start in tqdm(range(0, len(prompts), 8), desc="generating answers", unit="batch"):
        batch = prompts[start : start + 8]
        texts = [tokenizer.apply_chat_template([{"role": "user", "content": e.prompt}], tokenize=False,
                                               add_generation_prompt=True) + prefix for e in batch]
        enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.inference_mode():
            out = model.generate(**enc, max_new_tokens=32, do_sample=True, temperature=0.7, top_p=0.95,
                                 num_return_sequences=per_prompt, pad_token_id=tokenizer.pad_token_id)
        decoded = tokenizer.batch_decode(out[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
        for j, text in enumerate(decoded):
            e = batch[j // per_prompt]
            answer = text.split("</answer>")[0]
            rows.append({"prompt": e.example_id, "target": e.target_item_id,
                         "completion": f"<think></think>{prefix}{answer}</answer>"})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return rows[:n]


def _paired_ci(a: np.ndarray, b: np.ndarray, groups: np.ndarray, samples: int, seed: int) -> tuple[float, float]:
    """95% bootstrap CI of mean(a) - mean(b), resampling whole groups (prompts)."""
    rng = np.random.default_rng(seed)
    uniq, inv = np.unique(groups, return_inverse=True)
    diff_sum = np.bincount(inv, weights=a - b, minlength=len(uniq))
    count = np.bincount(inv, minlength=len(uniq))
    picks = rng.integers(0, len(uniq), size=(samples, len(uniq)))
    stats = diff_sum[picks].sum(1) / count[picks].sum(1)
    return float(np.quantile(stats, 0.025)), float(np.quantile(stats, 0.975))


def run(args: argparse.Namespace) -> dict:
    import torch

    from rlrec.assets import load_embedder
    from rlrec.config import DataConfig
    from rlrec.data import load_log
    from rlrec.simulator.encoders import index_encoder, torch_threads
    from rlrec.simulator.grounding import ItemIndex, encode_items, ground_answers

    cold = Path(tempfile.mkdtemp(prefix="index-bench-cache-"))
    embedder = load_embedder(args.embedder)
    catalogs = {pool: load_log(DataConfig(name="instacart", catalogue=pool)).catalog for pool in ("full", "logged")}
    cores = os.cpu_count() or 1
    speed: dict[str, dict] = {}
    sample = [item.text() for item in catalogs["full"]][: args.sample]
    for threads in (1, cores):
        with torch_threads(threads):
            encode_items(sample[:64], embedder, 256, "float32", progress=False, threads=threads)  # warm-up
            _, seconds = timed(lambda t=threads: encode_items(sample, embedder, 256, "float32", progress=False,
                                                              threads=t))
        speed[f"embedder fp32, {threads} thread{'s' * (threads > 1)}"] = {
            "items_per_s": len(sample) / seconds, "measured_items": len(sample),
            **{f"{pool}_s": len(c) * seconds / len(sample) for pool, c in catalogs.items()}, "extrapolated": True}
    static, distill_s = timed(lambda: index_encoder(embedder, args.embedder, "static", cache_root=cold / "static"))
    indexes: dict[str, ItemIndex] = {}
    for pool, catalog in catalogs.items():
        index, seconds = timed(lambda c=catalog: ItemIndex.build(c, static, cold, f"{args.embedder}+static",
                                                                   show_progress=False))
        speed.setdefault("static (model2vec), distillation included", {"extrapolated": False})[f"{pool}_s"] = \
            distill_s + seconds
        speed.setdefault("static (model2vec), distilled model cached", {"extrapolated": False})[f"{pool}_s"] = seconds
        indexes[f"static/{pool}"] = index
    for row in speed.values():
        row.setdefault("items_per_s", len(catalogs["full"]) / row["full_s"])
        row["full_items_per_s"] = len(catalogs["full"]) / row["full_s"]
    speed_meta = {"distill_s": distill_s, "cores": cores, "load_average": [round(x, 2) for x in os.getloadavg()]}

    # quality: reference = MiniLM fp32 over the logged pool (the default), and the static model over it
    answers = generate_answers(args.gen_answers, args.per_prompt, args.seed, Path(args.answers_file or Path(args.out) /
                                                                              "answers.jsonl"))
    completions = [a["completion"] for a in answers]
    targets = np.array([a["target"] for a in answers])
    groups = np.array([a["prompt"] for a in answers])
    with torch_threads(cores):
        ref_matrix = encode_items([i.text() for i in catalogs["logged"]], embedder, 256, "float32", progress=True)
    ref = ItemIndex(catalogs["logged"].ids, ref_matrix, embedder, args.embedder, precision="float32")
    candidates = {"embedder fp32 (reference)": ref, "static (model2vec)": indexes["static/logged"]}
    grounded = {name: ground_answers(index, completions, k=10) for name, index in candidates.items()}
    base = grounded["embedder fp32 (reference)"]
    quality = {}
    for name, g in grounded.items():
        top1 = np.array([a[0] == b[0] for a, b in zip(g.item_ids, base.item_ids)], dtype=float)
        overlap = np.array([len(set(a) & set(b)) / 10 for a, b in zip(g.item_ids, base.item_ids)])
        row = {"top1_agreement": float(top1.mean()), "top10_overlap": float(overlap.mean())}
        for k in (1, 10):
            hits = np.array([t in ids[:k] for ids, t in zip(g.item_ids, targets)], dtype=float)
            ref_hits = np.array([t in ids[:k] for ids, t in zip(base.item_ids, targets)], dtype=float)
            lo, hi = _paired_ci(hits, ref_hits, groups, args.bootstrap, args.seed)
            row[f"title_hit@{k}"] = float(hits.mean())
            row[f"title_hit@{k}_diff_vs_reference"] = float(hits.mean() - ref_hits.mean())
            row[f"title_hit@{k}_diff_ci95"] = [lo, hi]
        quality[name] = row
    torch.set_num_threads(cores)
    return {"speed": speed, "speed_meta": speed_meta, "quality": quality, "answers": len(answers),
            "prompts": len(set(groups)), "unparseable": base.unparseable,
            "pools": {pool: len(c) for pool, c in catalogs.items()}, "target_items_per_s": 1000}


def markdown(r: dict) -> str:
    full, logged = r["pools"]["full"], r["pools"]["logged"]
    lines = ["## Cold grounding index (empty cache)", "",
             f"Cores {r['speed_meta']['cores']}, load average {r['speed_meta']['load_average']}. Full catalogue "
             f"{full:,} items (`data.catalogue=full`), logged pool {logged:,} (`logged`, the default).", "",
             "| encoder | full catalogue s | items/s (full) | logged pool s | >= 1,000 items/s |", "|---|---|---|---|---|"]
    for name, row in r["speed"].items():
        note = f" (timed on {row['measured_items']:,} items)" if row.get("extrapolated") else ""
        lines.append(f"| {name}{note} | {row['full_s']:.1f} | {row['full_items_per_s']:,.0f} | {row['logged_s']:.1f} | "
                     f"{'yes' if row['full_items_per_s'] >= r['target_items_per_s'] else 'no'} |")
    lines += ["", f"Distillation alone: {r['speed_meta']['distill_s']:.1f} s (once per embedder, cached).", "",
              f"### Quality on {r['answers']:,} SmolLM2 answers to {r['prompts']} test prompts (logged pool)", "",
              "| encoder | top-1 agreement | top-10 overlap | Title HR@1 | Δ HR@1 [95% CI] | Title HR@10 | "
              "Δ HR@10 [95% CI] |", "|---|---|---|---|---|---|---|"]
    for name, q in r["quality"].items():
        c1, c10 = q["title_hit@1_diff_ci95"], q["title_hit@10_diff_ci95"]
        lines.append(f"| {name} | {q['top1_agreement']:.3f} | {q['top10_overlap']:.3f} | {q['title_hit@1']:.3f} | "
                     f"{q['title_hit@1_diff_vs_reference']:+.3f} [{c1[0]:+.3f}, {c1[1]:+.3f}] | {q['title_hit@10']:.3f} | "
                     f"{q['title_hit@10_diff_vs_reference']:+.3f} [{c10[0]:+.3f}, {c10[1]:+.3f}] |")
    lines += ["", "A Δ whose CI contains 0 is not a significant change of Title Hit-Rate.", ""]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser, shared: bool = True) -> None:
    """This benchmark's options; ``shared=False`` leaves out ``--embedder`` / ``--seed`` (the caller has them)."""
    if shared:
        parser.add_argument("--embedder", default="embedded:minilm")
        parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sample", type=int, default=2000, help="items timed for the (slow) embedder encodes")
    parser.add_argument("--gen-answers", type=int, default=1024, help="SmolLM2 answers for the quality figures")
    parser.add_argument("--per-prompt", type=int, default=4)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--answers-file", default=None, help="cached answers (default <out>/answers.jsonl)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.add_argument("--out", default="runs/benchmarks/index_bench")
    args = parser.parse_args()
    results = run(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    text = "# Grounding-index benchmark\n\n" + markdown(results)
    (out / "results.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
