"""RecGPT's self-training evolution (seed 001 §2.1.2 Stage 3, also §2.2 and §2.4.1): generate → judge-filter → SFT.

Round r (1-based) of ``task.self_train`` (:class:`rlrec.config.task.SelfTrainConfig`):

1. prompts: the next ``prompts_per_round`` task prompts of ``split`` (:func:`rlrec.recgpt.tasks.task_examples`
   for ``task.name``; round r takes slice r, wrapping around the split);
2. generate: the round's policy (``model.policy`` for round 1, round r-1's checkpoint after) writes
   ``samples_per_prompt`` candidates per prompt (:func:`rlrec.generation.generate`, ``task.temperature``, seeded);
3. judge-filter: a judge (any reward callable; the entry point passes the reward term ``judge_term``, e.g.
   ``recgpt_judge``, the §3 rubric judge) scores every candidate; those scoring >= ``pass_threshold`` pass
   (an unjudgeable candidate, score None, does not);
4. SFT: the passing (prompt, completion) pairs fine-tune the round's policy (:func:`rlrec.sft.train_sft`, the
   ``sft`` group); the checkpoint is the next round's policy. A round where nothing passes trains nothing and
   hands its policy on unchanged (``sft_samples`` 0, no loss).

Each round is a cached stage (:mod:`rlrec.stages`, folder ``recgpt_self_train/<hash>``) keyed by the data, the task
and SFT config, the judge's config, the round and the policy it starts from, so a rerun resumes after the last
complete round. The per-round table (round, candidates, passed, pass rate, SFT loss) is the judge pass rate of
the policy *before* that round's SFT: round r+1's pass rate is the first measurement of round r's checkpoint.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Hashable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rlrec.recgpt.explain import Scorer  # a reward: (prompts, completions, **columns) -> list[float | None]
from rlrec.stages import RunContext, Stage, dir_key, run_stage

__all__ = ["RoundResult", "round_prompts", "run_round", "self_train", "self_train_markdown"]

log = logging.getLogger("rlrec")



@dataclass
class RoundResult:
    round: int
    prompts: int
    candidates: int
    judged: int  # candidates the judge gave a score (the rest: unparseable -> unparseable_value, or None)
    passed: int
    pass_rate: float  # passed / candidates
    mean_score: float | None  # over the judged candidates
    sft_samples: int
    sft_loss: float | None  # TRL's mean training loss of the round's SFT (completion tokens, Eq. 2); None = no SFT
    start_policy: str
    policy: str  # the checkpoint after the round (= start_policy when nothing passed)
    seconds: float


def round_prompts(examples: list, n: int, round_: int) -> list:
    """Round ``round_``'s (1-based) slice of ``n`` examples, wrapping around ``examples``."""
    if not examples:
        raise ValueError("self-training: the split has no examples; prepare more users (data.max_users) or set "
                         "task.self_train.split to another split")
    start = ((round_ - 1) * n) % len(examples)
    return [examples[(start + i) % len(examples)] for i in range(min(n, len(examples)))]


def run_round(config: Any, tasks: list, policy: str, judge: Scorer, round_: int, folder: Path) -> RoundResult:
    """One generate → judge-filter → SFT round on the task examples ``tasks`` into ``folder`` (module docstring)."""
    from transformers import set_seed

    from rlrec.assets import load_causal_lm
    from rlrec.generation import GenerationConfig, generate
    from rlrec.sft import train_sft

    cfg, start = config.task.self_train, time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    model, tokenizer = load_causal_lm(policy, dtype=config.model.dtype)
    gen = GenerationConfig(max_new_tokens=config.task.max_new_tokens, temperature=config.task.temperature,
                           top_p=config.model.top_p, num_return_sequences=cfg.samples_per_prompt,
                           batch_size=config.model.generation_batch_size)
    set_seed(config.seed * 1000 + round_)  # reproducible sampling per round
    samples = generate(model.eval(), tokenizer, [t.prompt for t in tasks], gen)
    del model
    records = [t.to_record() for t in tasks for _ in range(cfg.samples_per_prompt)]  # prompt-major, like samples
    completions = [c for group in samples for c in group]
    columns = {k: [r[k] for r in records] for k in records[0] if k != "prompt"} if records else {}
    scores = list(judge([r["prompt"] for r in records], completions, **columns))
    if len(scores) != len(completions):
        raise ValueError(f"self-training judge returned {len(scores)} scores for {len(completions)} candidates")
    passed = [s is not None and s >= cfg.pass_threshold for s in scores]
    with (folder / "candidates.jsonl").open("w", encoding="utf-8") as fh:
        for n, (r, c, s, ok) in enumerate(zip(records, completions, scores, passed)):
            fh.write(json.dumps({"example_id": r["example_id"], "sample": n % cfg.samples_per_prompt,
                                 "completion": c, "score": s, "passed": ok}) + "\n")
    kept = [{"prompt": r["prompt"], "completion": [{"role": "assistant", "content": c}]}
            for r, c, ok in zip(records, completions, passed) if ok]
    loss, new_policy = None, policy
    if kept:
        new_policy = str(train_sft(kept, policy, config.sft, folder / "sft", seed=config.seed,
                                   dtype=config.model.dtype))
        loss = json.loads((folder / "sft" / "sft_log.json").read_text())["train"].get("train_loss")
    judged = [s for s in scores if s is not None]
    result = RoundResult(round_, len(tasks), len(completions), len(judged), sum(passed),
                         sum(passed) / len(completions) if completions else 0.0,
                         sum(judged) / len(judged) if judged else None, len(kept), loss, policy, new_policy,
                         round(time.perf_counter() - start, 1))
    (folder / "round.json").write_text(json.dumps(asdict(result), indent=1))
    log.info("self-training round %d: %d/%d candidates passed (%.3f), SFT loss %s", round_, result.passed,
             result.candidates, result.pass_rate, "—" if loss is None else f"{loss:.4f}")
    return result


def _round_stage(round_: int, policy: str, judge: Scorer, judge_key: Hashable) -> Stage:
    def key(c: RunContext) -> tuple:
        task = c.config.task
        # the data stage's folder is keyed by the data config and the data files' content; the number of rounds is
        # not in the key, so raising it resumes after the last complete round
        return (str(c.folders["data"]), task.name, {k: v for k, v in asdict(task.self_train).items() if k != "rounds"}, task.history_len,
                task.prompt_token_budget, task.max_new_tokens, task.temperature, task.min_tags, task.max_tags,
                task.min_interests, task.max_interests, c.config.sft, c.config.model.dtype, c.config.model.top_p,
                c.config.seed, judge_key, round_, dir_key(policy))

    def run(c: RunContext, folder: Path) -> RoundResult:
        from rlrec.recgpt.tasks import task_examples

        cfg = c.config.task.self_train
        examples = round_prompts(c.product("data").splits[cfg.split], cfg.prompts_per_round, round_)
        return run_round(c.config, task_examples(c.product("data").log, examples, c.config.task), policy, judge,
                         round_, folder)

    return Stage("recgpt_self_train", key=key, run=run, requires=("data",),
                 load=lambda c, folder: RoundResult(**json.loads((folder / "round.json").read_text())),
                 info=lambda r: {"round": r.round, "passed": r.passed, "candidates": r.candidates},
                 doc="RecGPT §2.1.2 Stage 3: one generate → judge-filter → SFT round")


def self_train(ctx: RunContext, stages: dict[str, Stage], judge: Scorer, judge_key: Hashable) -> list[RoundResult]:
    """Every round of ``task.self_train`` (each a cached stage), then ``recgpt_self_train.{json,md}`` in the run dir.
    ``judge_key``: what identifies the judge (its config), so another judge keys other rounds."""
    if ctx.config.task.name == "next_item":
        raise ValueError("task.mode=self_train needs a RecGPT task: task=interests | item_tags | explanations")
    results, policy = [], ctx.config.model.policy
    for round_ in range(1, ctx.config.task.self_train.rounds + 1):
        result = run_stage(_round_stage(round_, policy, judge, judge_key), ctx, stages,
                           label=f"self_train round {round_}")
        results.append(result)
        policy = result.policy
    ctx.run_dir.mkdir(parents=True, exist_ok=True)
    (ctx.run_dir / "recgpt_self_train.json").write_text(json.dumps([asdict(r) for r in results], indent=1))
    (ctx.run_dir / "recgpt_self_train.md").write_text(self_train_markdown(results, ctx.config.task))
    return results


def self_train_markdown(results: list[RoundResult], task: Any) -> str:
    """The per-round table."""
    cfg = task.self_train
    lines = [f"# RecGPT self-training ({task.name}): generate → judge-filter → SFT", "",
             f"{cfg.prompts_per_round} prompts x {cfg.samples_per_prompt} samples per round from the {cfg.split} split; "
             f"judge `{cfg.judge_term}`, pass = score >= {cfg.pass_threshold:g}. A round's pass rate is the policy it "
             "starts from.", "",
             "| round | prompts | candidates | judged | passed | pass rate | mean score | SFT samples | SFT loss | "
             "seconds |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        mean = "—" if r.mean_score is None else f"{r.mean_score:.3f}"
        loss = "—" if r.sft_loss is None else f"{r.sft_loss:.4f}"
        lines.append(f"| {r.round} | {r.prompts} | {r.candidates} | {r.judged} | {r.passed} | {r.pass_rate:.3f} | "
                     f"{mean} | {r.sft_samples} | {loss} | {r.seconds} |")
    lines += ["", f"Final policy: `{results[-1].policy}`" if results else ""]
    return "\n".join(lines) + "\n"
