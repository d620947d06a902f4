"""RecGPT's workflow end to end (issue #19), one ``task.mode`` per run:

``retrieval`` (default): data → tri-tower / two-tower → tags → retrieval report (HR@K with CIs)::

    python -m experiments.recgpt                                   # Instacart, history tags, no LLM
    python -m experiments.recgpt task.report_llm_users=8          # also LLM_IT tags from model.policy for 8 users
    python -m experiments.recgpt data=movielens100k task.towers.epochs=5

``explanations``: LLM_RE (§2.4) explains each test user's top-1 tri-tower item from their interests; with
``task.explain_judge=true`` the ``task.self_train.judge_term`` reward (the explanation rubric judge) scores them::

    python -m experiments.recgpt task=explanations task.mode=explanations task.explain_users=8

``self_train``: §2.1.2 Stage 3 generate → judge-filter → SFT rounds (rlrec/recgpt/self_train.py) for ``task``, judged
by its reward set's ``task.self_train.judge_term`` term; a local judge model::

    python -m experiments.recgpt task=explanations task.mode=self_train \\
        reward.terms.recgpt_judge.params.backend=hf reward.terms.recgpt_judge.params.model=embedded:smollm2

Each round's SFT follows the ``sft`` group; its default learning rate (1e-7, the paper's 7B full fine-tune) barely
moves SmolLM2: e.g. ``sft.learning_rate=1e-5 sft.batch_size=4``. A judge whose replies hold no readable verdict
scores None, and such candidates never pass (the per-round table counts them: judged < candidates).

Shares the pipeline's stage cache (experiments/stages.py): data, ``tri_tower`` and each self-training round are
reused when present. Writes ``recgpt_retrieval.{json,md}`` (``recgpt_llm_tags.jsonl``), ``recgpt_explanations.
{jsonl,json,md}`` or ``recgpt_self_train.{json,md}`` into the run dir.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from experiments import stages
from experiments.common import entry_point
from rlrec.config import Config, ConfigError

log = logging.getLogger("rlrec")


def judge_reward(ctx: Any) -> tuple[Any, tuple]:
    """The reward term ``task.self_train.judge_term`` of the run's reward set, built alone (its required stages
    run first), and what identifies it (reward name and params) for the stage keys."""
    from rewards import Resources, make_reward

    config = ctx.config
    name = config.task.self_train.judge_term
    terms = config.reward.terms
    if name not in terms:
        raise ConfigError(f"task.self_train.judge_term={name!r} is not a term of reward={config.reward.name!r} "
                          f"(its terms: {', '.join(terms) or 'none'}). Use task=interests or task=explanations (their "
                          "reward sets hold recgpt_judge), reward=[recgpt_tags,recgpt_judge] for item tags, or name "
                          "one of its terms")
    term = terms[name]
    reward = make_reward(term.reward or name, term.params, Resources(config, products=ctx.products), term=name)
    task = getattr(reward.params, "task", config.task.name)
    if task != config.task.name:
        raise ConfigError(f"reward.terms.{name}.params.task={task!r} judges another task than task={config.task.name}"
                          f"; set reward.terms.{name}.params.task={config.task.name}")
    for need in type(reward).requires(reward.params):
        stages.run(need, ctx)
    return reward, (term.reward or name, repr(reward.params))


def retrieval(config: Config, run_dir: Path) -> None:
    from rlrec.recgpt.workflow import report_markdown, retrieval_workflow

    ctx = stages.context(config, run_dir)
    prepared = stages.run("data", ctx)
    towers = stages.run("tri_tower", ctx)
    report = retrieval_workflow(config, prepared, towers, run_dir, ctx.embedder(), llm_users=config.task.report_llm_users)
    (run_dir / "recgpt_retrieval.md").write_text(report_markdown(report))
    log.info("RecGPT retrieval report: %s", run_dir / "recgpt_retrieval.md")


def explanations(config: Config, run_dir: Path) -> None:
    from rlrec.assets import load_causal_lm
    from rlrec.generation import GenerationConfig
    from rlrec.recgpt.explain import explain, explanation_inputs, explanations_markdown

    ctx = stages.context(config, run_dir)
    prepared = stages.run("data", ctx)
    towers = stages.run("tri_tower", ctx)
    judge = judge_reward(ctx)[0] if config.task.explain_judge else None
    inputs = explanation_inputs(prepared, towers, config.task)
    model, tokenizer = load_causal_lm(config.model.policy, dtype=config.model.dtype)
    gen = GenerationConfig(max_new_tokens=config.task.max_new_tokens, temperature=config.task.temperature,
                           top_p=config.model.top_p, batch_size=config.model.generation_batch_size)
    summary = explain(inputs, model.eval(), tokenizer, gen, run_dir, judge, config.task.self_train.pass_threshold)
    (run_dir / "recgpt_explanations.md").write_text(explanations_markdown(summary, run_dir / "recgpt_explanations.jsonl"))
    log.info("RecGPT explanations: %s", run_dir / "recgpt_explanations.md")


def self_training(config: Config, run_dir: Path) -> None:
    from rlrec.recgpt.self_train import self_train

    ctx = stages.context(config, run_dir)
    stages.run("data", ctx)
    judge, key = judge_reward(ctx)
    self_train(ctx, stages.STAGES, judge, key)
    log.info("RecGPT self-training: %s", run_dir / "recgpt_self_train.md")


MODES = {"retrieval": retrieval, "explanations": explanations, "self_train": self_training}


@entry_point
def main(config: Config, run_dir: Path) -> None:
    MODES[config.task.mode](config, run_dir)


if __name__ == "__main__":
    main()
