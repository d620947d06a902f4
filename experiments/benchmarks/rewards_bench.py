"""Reward throughput on Instacart: ``semantic_cosine`` (Taiji Eq. 3) and ``ctcvr`` incl. grounding (Eq. 4).

    python -m experiments.benchmarks.rewards_bench                       # 2 CPU threads, MiniLM
    python -m experiments.benchmarks.rewards_bench --novel 0,0.1,1 --simulator artifacts/simulator/<hash>

Workload: GRPO-shaped calls of ``--prompts`` prompts x ``--group`` completions. Each prompt is a real
Instacart user (target = their last product, history = the products before it). A completion names a
catalogue product (half drawn by purchase popularity, half from the target's aisle) or, with probability
``novel``, a product text that exists nowhere (never seen before: always an embedding miss). Completions are
fresh every call, so only the popularity of real products produces repeats.

Ours: the rewards as registered (batched, deduplicated encoding behind the shared embedding cache; ctcvr with
the exact-text and remembered-text grounding shortcuts). Cache states: ``warm targets`` (every target text
encoded before timing: the brief's setting) and ``warm catalogue`` (every catalogue text preloaded from the
simulator's on-disk item matrix, ``semantic_cosine.warm_catalog``).
Baselines, measured in the same run on the same completions: ``naive`` = one ``encode`` call per text, no
cache (a literal Eq. 3 loop); ``batched, no cache`` = one ``encode`` of all answers + targets per call; for
ctcvr, ``simulator path`` = ``simulator.index.ground`` (embeds every answer) + ``normalized_ctcvr``.
Targets: semantic_cosine >= 2,000 completions/s, ctcvr >= 1,000 completions/s (2 cores).
Results: ``runs/benchmarks/rewards_bench/`` (or --out), JSON + markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import time
from pathlib import Path
from typing import Any

import numpy as np

from rlrec.answer import format_completion
from rlrec.config import Config
from rlrec.data import category_levels

ADJECTIVES = ["artisanal", "smoky", "glazed", "heirloom", "fermented", "sparkling", "spiced", "velvet", "crunchy"]
NOUNS = ["medley", "crisps", "tonic", "loaf", "spread", "bites", "compote", "elixir", "brittle"]


def build_prompts(log: Any, users: int, seed: int, levels: int) -> list[dict[str, Any]]:
    """One prompt per sampled user: target = last product, history = earlier products, most recent first."""
    rng = random.Random(seed)
    eligible = [u for u in log.users if len(log.histories[u]) >= 6]
    out = []
    for user in rng.sample(eligible, min(users, len(eligible))):
        events = log.histories[user]
        target = log.catalog[events[-1].item_id]
        out.append({
            "user_id": user,
            "target_text": target.text(levels=levels),
            "target_categories": list(target.categories[:levels]),
            "history_item_ids": [e.item_id for e in reversed(events[-51:-1])],
        })
    return out


class CompletionSampler:
    """Completions for a prompt: a catalogue product (popularity / target aisle) or, with p ``novel``, a new text."""

    def __init__(self, log: Any, levels: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.items = list(log.catalog)
        counts = {}
        for event in log.interactions():
            counts[event.item_id] = counts.get(event.item_id, 0) + 1
        pop = np.array([counts.get(item.item_id, 0) for item in self.items], dtype=np.float64) + 0.1
        self.pop = pop / pop.sum()
        self.by_aisle: dict[tuple, list[int]] = {}
        for row, item in enumerate(self.items):
            self.by_aisle.setdefault(tuple(item.categories[:levels]), []).append(row)
        self.levels = levels
        self.fresh = 0

    def __call__(self, prompt: dict[str, Any], novel: float) -> str:
        if self.rng.random() < novel:
            self.fresh += 1
            base = self.items[self.rng.integers(len(self.items))]
            title = f"{self.rng.choice(ADJECTIVES)} {base.title} {self.rng.choice(NOUNS)} no. {self.fresh}"
            return format_completion("The user buys these often.", title, base.categories[: self.levels])
        if self.rng.random() < 0.5:
            row = self.rng.choice(len(self.items), p=self.pop)
        else:
            rows = self.by_aisle.get(tuple(prompt["target_categories"])) or [0]
            row = rows[self.rng.integers(len(rows))]
        item = self.items[row]
        return format_completion("The user buys these often.", item.title, item.categories[: self.levels])


def make_calls(prompts, sampler, novel: float, n_calls: int, per_call: int, group: int, seed: int):
    """``n_calls`` batches of ``per_call`` prompts x ``group`` completions (TRL repeats columns per completion)."""
    rng = random.Random(seed)
    calls = []
    for _ in range(n_calls):
        chosen = rng.sample(prompts, per_call)
        rows = [p for p in chosen for _ in range(group)]
        calls.append({
            "prompts": ["(prompt)"] * len(rows),
            "completions": [sampler(p, novel) for p in rows],
            **{key: [p[key] for p in rows] for key in ("user_id", "target_text", "target_categories", "history_item_ids")},
        })
    return calls


def run_reward(reward, calls) -> tuple[float, list[float], dict[str, float]]:
    """(completions/s, values, the reward's extra stats) over ``calls``."""
    reward.extra_stats()  # reset counters
    values, n = [], 0
    start = time.perf_counter()
    for call in calls:
        values += reward(call["prompts"], call["completions"], **{k: v for k, v in call.items() if k not in ("prompts", "completions")})
        n += len(call["completions"])
    seconds = time.perf_counter() - start
    return n / seconds, values, reward.extra_stats()


def semantic_baselines(embedder, calls, naive_limit: int) -> dict[str, Any]:
    """Cache-free baselines (their speed does not depend on how many answers repeat): ``naive`` = two fp32
    ``encode`` calls per completion (answer, target); ``batched, no cache`` = one fp32 ``encode`` of all
    answers + targets per call. Also returns the naive values of the first ``naive_limit`` completions."""
    from rlrec.answer import parse_answer

    pairs = [(parse_answer(c).item_text(), t) for call in calls for c, t in zip(call["completions"], call["target_text"])]
    pairs = pairs[:naive_limit]
    start = time.perf_counter()
    naive = []
    for answer, target in pairs:
        a = embedder.encode([answer], normalize_embeddings=True, show_progress_bar=False)[0]
        b = embedder.encode([target], normalize_embeddings=True, show_progress_bar=False)[0]
        naive.append(float(np.dot(a, b)))
    naive_rate = len(pairs) / (time.perf_counter() - start)
    start, n = time.perf_counter(), 0
    for call in calls:
        answers = [parse_answer(c).item_text() for c in call["completions"]]
        embedder.encode(answers + list(call["target_text"]), batch_size=256, normalize_embeddings=True,
                        show_progress_bar=False)
        n += len(answers)
    batched_rate = n / (time.perf_counter() - start)
    return {"naive_per_text_encode": naive_rate, "batched_no_cache": batched_rate, "naive_values": naive,
            "naive_completions": len(pairs)}


def encode_rate(embedder, sampler, prompts, precision: str, n: int = 128) -> float:
    """Texts/s of one batched encode of ``n`` never-seen answer texts: the cost of a cache miss on this box."""
    from rewards import EmbeddingCache

    texts = [sampler(prompts[i % len(prompts)], 1.0) for i in range(n)]
    cache = EmbeddingCache(embedder, precision=precision)
    start = time.perf_counter()
    cache.embed(texts)
    return n / (time.perf_counter() - start)


def bench_semantic(resources, embedder, prompts, calls, args, novel: float, naive: list[float]) -> dict[str, Any]:
    """Ours on ``calls`` (one novel-answer fraction), for both cache states; values compared with the naive
    baseline's (which scored the first completions of the first setting)."""
    from rewards import EmbeddingCache, make_reward
    from rewards.core.resources import embeddings_key

    name = resources.config.model.embedder
    out: dict[str, Any] = {"novel": novel}
    for state in ("warm_targets", "warm_catalogue"):
        cache = EmbeddingCache(embedder, max_items=200_000, precision=args.precision)
        resources.provide(embeddings_key(name, args.precision), cache)  # a fresh cache per setting
        reward = make_reward("semantic_cosine", {"precision": args.precision}, resources=resources)
        reward.warm([p["target_text"] for p in prompts])
        if state == "warm_catalogue":
            reward.warm_catalog()
        encoded_before = cache.encoded
        rate, values, stats = run_reward(reward, calls)
        out[state] = {"completions_per_s": rate, "encoded_during_timing": cache.encoded - encoded_before, **stats}
        out.setdefault("values", values)
    values = out.pop("values")
    if novel == args.first_novel:
        ours = np.array(values[: len(naive)], dtype=np.float64)
        out["max_abs_diff_vs_naive"] = float(np.nanmax(np.abs(ours - np.array(naive))))
    return out


def bench_ctcvr(resources, simulator, prompts, sampler, args, novel: float) -> dict[str, Any]:
    """Ours (fresh caches) at one novel-answer fraction, and the simulator's own path on the first calls."""
    from rewards import EmbeddingCache, make_reward
    from rewards.core.resources import embeddings_key
    from rlrec.answer import parse_answer

    precision = simulator.meta["config"].get("encode_precision", "float32")
    resources.provide(embeddings_key(simulator.embedder_name, precision),
                      EmbeddingCache(resources.embedder(simulator.embedder_name), precision=precision))
    calls = make_calls(prompts, sampler, novel, args.calls, args.prompts, args.group, seed=int(novel * 1000) + 7)
    reward = make_reward("ctcvr", resources=resources)
    rate, values, stats = run_reward(reward, calls)
    # baseline: the simulator's own path (every answer embedded, then top-1 search, then normalised CTCVR)
    start, n, base_values, base_ids = time.perf_counter(), 0, [], []
    for call in calls[: args.baseline_calls]:
        texts = [parse_answer(c).item_text() for c in call["completions"]]
        ids, _ = simulator.index.ground(texts, 1)
        ids = [row[0] for row in ids]
        base_values += simulator.normalized_ctcvr(call["user_id"], ids, call["history_item_ids"]).tolist()
        base_ids += ids
        n += len(texts)
    base_rate = n / (time.perf_counter() - start)
    ours_ids, texts = [], []
    for call in calls[: args.baseline_calls]:
        texts += [parse_answer(c).item_text() for c in call["completions"]]
    ours_ids = reward.grounder.ground_top1(texts)[0]
    diff = np.abs(np.array(values[: len(base_values)], dtype=np.float64) - np.array(base_values))
    # Where the two paths pick different items: how far apart are the two items' fp32 cosines to the text?
    mismatch = [i for i, (a, b) in enumerate(zip(ours_ids, base_ids)) if a != b]
    gap = 0.0
    if mismatch:
        query = simulator.index.embedder.encode([texts[i] for i in mismatch], normalize_embeddings=True)
        rows = {item_id: r for r, item_id in enumerate(simulator.index.ids)}
        ours_m = simulator.index.matrix[[rows[ours_ids[i]] for i in mismatch]]
        base_m = simulator.index.matrix[[rows[base_ids[i]] for i in mismatch]]
        gap = float(np.max(np.abs(np.einsum("nd,nd->n", query, ours_m) - np.einsum("nd,nd->n", query, base_m))))
    return {
        "novel": novel,
        "completions_per_s": rate,
        **stats,
        "baseline_simulator_path_per_s": base_rate,
        "baseline_completions": n,
        "same_item_as_baseline": float(np.mean([a == b for a, b in zip(ours_ids, base_ids)])),
        "mismatch_fp32_cosine_gap_max": gap,  # ~0: the two picks are tied up to bf16 rounding
        "max_abs_diff_vs_baseline": float(diff.max()),
    }


def markdown(result: dict[str, Any]) -> str:
    base = result["semantic_baselines"]
    lines = [f"# rewards_bench ({result['machine']['threads']} threads, {result['machine']['cpu']})", "",
             f"Instacart ({result['workload']['catalogue']:,} items), {result['workload']['prompts']} prompts, calls of "
             f"{result['workload']['per_call']} completions (B x G), {result['workload']['calls']} calls per setting, "
             f"embedder {result['workload']['embedder']} ({result['workload']['precision']}). Load average at start / "
             f"end: {result['machine']['loadavg']} / {result['machine'].get('loadavg_end')} (other jobs share the cores).",
             f"Cost of a cache miss on this box: {result['encode_rate_texts_per_s']:,.0f} texts/s (batched encode of "
             "never-seen texts).", "",
             "## semantic_cosine (target >= 2,000 completions/s)", "",
             f"Baselines (no cache; independent of repeats): naive per-text encode {base['naive_per_text_encode']:,.1f} "
             f"completions/s, batched no cache {base['batched_no_cache']:,.1f} completions/s.", "",
             "| novel answers | warm targets /s | answer hit rate | warm catalogue /s | answer hit rate | x batched baseline (warm targets / warm catalogue) | x naive | max abs diff vs naive fp32 |",
             "|---|---|---|---|---|---|---|---|"]
    for r in result["semantic_cosine"]:
        wt, wc = r["warm_targets"], r["warm_catalogue"]
        diff = r.get("max_abs_diff_vs_naive")
        lines.append(
            f"| {r['novel']:.0%} | {wt['completions_per_s']:,.0f} | {wt.get('answer_cache_hit_rate', float('nan')):.3f} | "
            f"{wc['completions_per_s']:,.0f} | {wc.get('answer_cache_hit_rate', float('nan')):.3f} | "
            f"{wt['completions_per_s'] / base['batched_no_cache']:.1f}x / {wc['completions_per_s'] / base['batched_no_cache']:.1f}x | "
            f"{wc['completions_per_s'] / base['naive_per_text_encode']:.0f}x | {'' if diff is None else f'{diff:.1e}'} |")
    if result.get("ctcvr"):
        lines += ["", "## ctcvr incl. grounding (target >= 1,000 completions/s)", "",
                  "| novel answers | ours /s | grounded exact / remembered / searched | simulator path /s | speed-up | same item | cosine gap of differing picks | max abs diff |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in result["ctcvr"]:
            lines.append(
                f"| {r['novel']:.0%} | {r['completions_per_s']:,.0f} | {r.get('grounding_exact_rate', 0):.2f} / "
                f"{r.get('grounding_remembered_rate', 0):.2f} / {r.get('grounding_searched_rate', 0):.2f} | "
                f"{r['baseline_simulator_path_per_s']:,.0f} | {r['completions_per_s'] / r['baseline_simulator_path_per_s']:.1f}x | "
                f"{r['same_item_as_baseline']:.3f} | {r['mismatch_fp32_cosine_gap_max']:.1e} | "
                f"{r['max_abs_diff_vs_baseline']:.1e} |")
    else:
        lines += ["", f"ctcvr: not measured ({result.get('ctcvr_skipped')})"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--users", type=int, default=256, help="prompts (distinct Instacart users)")
    parser.add_argument("--prompts", type=int, default=16, help="prompts per reward call (B)")
    parser.add_argument("--group", type=int, default=4, help="completions per prompt (G)")
    parser.add_argument("--calls", type=int, default=8, help="reward calls per setting")
    parser.add_argument("--novel", default="0,0.1,0.25,1", help="fractions of never-seen answer texts")
    parser.add_argument("--naive-limit", type=int, default=32, help="completions scored by the naive baseline")
    parser.add_argument("--baseline-calls", type=int, default=2, help="calls run through the simulator path (ctcvr)")
    parser.add_argument("--precision", default="auto", help="semantic_cosine encode precision: auto | float32 | bfloat16")
    parser.add_argument("--simulator", default=None, help="simulator folder (default: newest for Instacart)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/benchmarks/rewards_bench")
    args = parser.parse_args()

    import torch

    from rewards import Resources

    torch.set_num_threads(args.threads)
    clock = time.perf_counter()
    config = Config()
    resources = Resources(config)
    log = resources.log()
    print(f"Instacart loaded in {time.perf_counter() - clock:.1f} s", flush=True)
    levels = category_levels(config.data, log.catalog)
    embedder = resources.embedder()
    prompts = build_prompts(log, args.users, args.seed, levels)
    sampler = CompletionSampler(log, levels, args.seed)
    novel = [float(x) for x in args.novel.split(",")]
    result: dict[str, Any] = {
        "machine": {"threads": args.threads, "cpu": platform.processor() or platform.machine(),
                    "loadavg": [round(x, 2) for x in os.getloadavg()], "torch": torch.__version__},
        "workload": {"prompts": len(prompts), "per_call": args.prompts * args.group, "calls": args.calls,
                     "catalogue": len(log.catalog), "embedder": config.model.embedder, "precision": args.precision},
        "encode_rate_texts_per_s": encode_rate(embedder, sampler, prompts, args.precision),
        "semantic_cosine": [],
    }
    args.first_novel = novel[0]
    naive: list[float] = []
    for fraction in novel:
        calls = make_calls(prompts, sampler, fraction, args.calls, args.prompts, args.group, seed=int(fraction * 1000) + 1)
        if not naive:  # baselines once: without a cache their speed does not depend on the answers
            base = semantic_baselines(embedder, calls, args.naive_limit)
            naive = base.pop("naive_values")
            result["semantic_baselines"] = base
        row = bench_semantic(resources, embedder, prompts, calls, args, fraction, naive)
        result["semantic_cosine"].append(row)
        print(json.dumps(row, default=float), flush=True)
    try:
        simulator = resources.simulator(args.simulator)
    except (FileNotFoundError, ValueError) as err:
        result["ctcvr_skipped"] = str(err)
    else:
        resources.provide("simulator", simulator)
        result["ctcvr"] = []
        for fraction in novel:
            result["ctcvr"].append(bench_ctcvr(resources, simulator, prompts, sampler, args, fraction))
            print(json.dumps(result["ctcvr"][-1], default=float), flush=True)
    result["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(result, indent=1, default=float))
    (out / "results.md").write_text(markdown(result))
    print(markdown(result))
    print(f"written to {out}/results.json and results.md")


if __name__ == "__main__":
    main()
