"""LLM_RE (RecGPT §2.4, Eq. 3): a personal explanation for each (user interests, retrieved item) pair.

For the first ``task.explain_users`` examples of a split: the user's interests (the most frequent finest categories of
their past, :func:`rlrec.recgpt.tasks.history_interests`, as in the item-tag prompts), the top-1 item the tri-tower
retrieves for them (history tags of :func:`rlrec.recgpt.workflow.history_tags`, fused at ``task.beta``), the
explanation prompt (:func:`rlrec.recgpt.prompts.explanation_prompt` with ``Item.text()``), ``model.policy``'s
completion through :func:`rlrec.generation.generate`, and its parse (:func:`rlrec.recgpt.parsing.parse_explanation`).
An optional ``judge`` (a reward callable, e.g. ``recgpt_judge`` with ``task: explanations``) scores each one.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rlrec.recgpt.parsing import parse_explanation
from rlrec.recgpt.prompts import explanation_prompt

__all__ = ["ExplanationInput", "explanation_inputs", "explain", "explanations_markdown"]

log = logging.getLogger("rlrec")

Scorer = Callable[..., list]  # a reward: (prompts, completions, **columns) -> list[float | None]


@dataclass
class ExplanationInput:
    """One LLM_RE prompt: who, their interests, the retrieved item, and whether it is their true next item."""

    example_id: str
    user_id: str
    interests: list[str]
    item_id: str  # the top-1 tri-tower item
    item_text: str
    target_item_id: str
    prompt: str

    @property
    def hit(self) -> bool:
        return self.item_id == self.target_item_id


def explanation_inputs(prepared: Any, towers: Path, task: Any, split: str = "test",
                       n: int | None = None) -> list[ExplanationInput]:
    """The LLM_RE prompts of the first ``n`` (default ``task.explain_users``) examples of ``split``."""
    from rlrec.recgpt.retrieval import TowerRetriever
    from rlrec.recgpt.tasks import history_interests, past_events
    from rlrec.recgpt.towers import history_before, load_towers
    from rlrec.recgpt.workflow import history_tags

    log_ = prepared.log
    examples = prepared.splits[split][: task.explain_users if n is None else n]
    if not examples:
        raise ValueError(f"split {split!r} has no examples to explain; prepare more users (data.max_users)")
    retriever = TowerRetriever(*load_towers(Path(towers) / "tri", log_.catalog), log_.catalog)
    index = [int(e.example_id.rsplit("#", 1)[1]) for e in examples]
    users = [e.user_id for e in examples]
    histories = [history_before(log_.histories[e.user_id], i, task.towers.history_len) for e, i in zip(examples, index)]
    tags = [history_tags(log_, e.user_id, i, task.history_len) for e, i in zip(examples, index)]
    top, _ = retriever.rank(users, histories, tags, task.beta, 1)
    out = []
    for example, row in zip(examples, top[:, 0]):
        item = log_.catalog[log_.catalog.ids[int(row)]]
        interests = history_interests(log_, past_events(log_, example), task.max_interests)
        out.append(ExplanationInput(example.example_id, example.user_id, interests, item.item_id, item.text(),
                                    example.target_item_id, explanation_prompt(interests, item.text())))
    return out


def explain(inputs: Sequence[ExplanationInput], model: Any, tokenizer: Any, generation: Any, out: Path,
            judge: Scorer | None = None, pass_threshold: float = 1.0) -> dict[str, Any]:
    """Generate, parse (and judge) one explanation per input; rows to ``out/recgpt_explanations.jsonl``, the
    summary (returned) to ``out/recgpt_explanations.json``. ``generation``: a
    :class:`rlrec.generation.GenerationConfig` (one sample per prompt is kept)."""
    from rlrec.generation import generate

    completions = [c[0] for c in generate(model, tokenizer, [i.prompt for i in inputs], generation)]
    parsed = [parse_explanation(c) for c in completions]
    scores: list[float | None] = [None] * len(inputs)
    if judge is not None:
        scores = list(judge([[{"role": "user", "content": i.prompt}] for i in inputs], completions))
    rows = []
    for inp, text, p, score in zip(inputs, completions, parsed, scores):
        rows.append({**asdict(inp), "hit": inp.hit, "completion": text, "status": p.status.value,
                     "explanation": p.values[0] if p.values else "", "words": len(p.values[0].split()) if p.values else 0,
                     "judge_score": score,
                     "judge_passed": None if judge is None else score is not None and score >= pass_threshold})
    out.mkdir(parents=True, exist_ok=True)
    (out / "recgpt_explanations.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    n = len(rows)
    summary: dict[str, Any] = {
        "explanations": n, "status": dict(Counter(r["status"] for r in rows)),
        "with_explanation": sum(bool(r["explanation"]) for r in rows),
        "mean_words": sum(r["words"] for r in rows) / n if n else 0.0,
        "retrieved_is_next_item": sum(r["hit"] for r in rows)}
    if judge is not None:
        passed = sum(bool(r["judge_passed"]) for r in rows)
        summary.update(judged=sum(s is not None for s in scores), passed=passed, pass_rate=passed / n if n else 0.0,
                       pass_threshold=pass_threshold)
    (out / "recgpt_explanations.json").write_text(json.dumps(summary, indent=1))
    log.info("LLM_RE: %d explanations, %d parsed%s", n, summary["with_explanation"],
             f", judge pass rate {summary['pass_rate']:.3f}" if judge is not None else "")
    return summary


def explanations_markdown(summary: dict[str, Any], rows_path: Path, shown: int = 8) -> str:
    """The summary and the first ``shown`` explanations as Markdown."""
    lines = ["# RecGPT LLM_RE explanations", "", "| figure | value |", "|---|---|"]
    lines += [f"| {k} | {v:.3f} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in summary.items()]
    lines += ["", "| user | interests | item | explanation | judge |", "|---|---|---|---|---|"]
    for line in rows_path.read_text().splitlines()[:shown]:
        r = json.loads(line)
        cell = lambda s: str(s).replace("|", "/").replace("\n", " ")  # noqa: E731
        lines.append(f"| {r['user_id']} | {cell('; '.join(r['interests']))} | {cell(r['item_text'])} | "
                     f"{cell(r['explanation']) or '(' + r['status'] + ')'} | "
                     f"{'—' if r['judge_score'] is None else r['judge_score']} |")
    return "\n".join(lines) + "\n"
