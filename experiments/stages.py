"""Pipeline stages: each runs one library call, or loads its artifact when the same config already ran.

A stage's artifact lives in ``<artifacts_dir>/<stage>/<hash of the config that shapes it>/`` and is reused
when its ``_COMPLETE`` marker exists (see :mod:`rlrec.artifacts`), so ``make run`` twice resumes.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from rlrec.answer import parse_answer
from rlrec.artifacts import stage_dir
from rlrec.assets import load_causal_lm, load_tokenizer
from rlrec.config import Config
from rlrec.data import Example, PreparedData, load_log, load_split, prepare_data
from rlrec.generation import GenerationConfig, generate

log = logging.getLogger("rlrec")


def data(config: Config) -> PreparedData:
    """Stage 1: splits + data card (keyed by the data config and the tokenizer that counts prompt tokens)."""
    stage = stage_dir(config.artifacts_dir, "data", config.data, config.model.policy)
    if stage.done:
        log.info("data: reusing %s", stage.path)
        splits = {name: load_split(stage.path / "splits" / f"{name}.jsonl") for name in ("sft", "rl", "test")}
        card = json.loads((stage.path / "data_card.json").read_text())
        return PreparedData(load_log(config.data), splits, card)
    prepared = prepare_data(config.data, stage.path, load_tokenizer(config.model.policy))
    stage.mark_done(**{f"{k}_examples": len(v) for k, v in prepared.splits.items()})
    return prepared


@dataclass
class DemoAnswer:
    example_id: str
    target: str
    completion: str
    status: str
    title: str


def demo(config: Config, examples: list[Example], run_dir: Path) -> list[DemoAnswer]:
    """Smoke check: the base policy answers a few test prompts; the answers are parsed and saved."""
    model, tokenizer = load_causal_lm(config.model.policy, config.model.dtype)
    picked = examples[: config.demo_prompts]
    gen = GenerationConfig(max_new_tokens=config.model.max_new_tokens, temperature=0.0,
                           batch_size=config.model.generation_batch_size)
    outputs = generate(model, tokenizer, [e.prompt for e in picked], gen)
    answers = []
    for example, (completion,) in zip(picked, outputs):
        parsed = parse_answer(completion)
        answers.append(DemoAnswer(example.example_id, example.target_text, completion, parsed.status.value, parsed.title))
    with (run_dir / "demo_answers.jsonl").open("w") as handle:
        for a in answers:
            handle.write(json.dumps(a.__dict__) + "\n")
    return answers
