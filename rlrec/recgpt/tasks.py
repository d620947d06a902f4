"""RecGPT task examples built from the prepared data: one per (split example, task), the prompt in the task's template.

The user's reliable behaviour is the same window the Taiji prompt saw (the ``task.history_len`` most recent events
of moments before the target), compressed by :func:`rlrec.data.compress.compress_window` (RecGPT §2.1.1) and cut
to ``task.prompt_token_budget`` oldest line first (:func:`rlrec.data.prompt.fit_prompt`). Nothing from the
target's moment or after it is shown. The record keeps the target columns, so the tag rewards can check the
retrieved items against the true next item.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from rlrec.config.task import TaskConfig
from rlrec.data.compress import compress_window
from rlrec.data.examples import Example
from rlrec.data.prompt import fit_prompt
from rlrec.data.schema import Interaction, InteractionLog
from rlrec.recgpt.parsing import TagRules
from rlrec.recgpt.prompts import explanation_prompt, interest_prompt, tag_prompt
from rlrec.recgpt.towers import moment_start

__all__ = ["TaskExample", "past_events", "history_interests", "task_examples", "tag_rules"]


@dataclass
class TaskExample:
    """One RecGPT task prompt with the columns rewards read (``to_record`` gives a TRL dataset row)."""

    example_id: str
    user_id: str
    task: str
    prompt: str
    target_item_id: str
    target_title: str
    target_categories: list[str]
    target_text: str
    history_item_ids: list[str]  # the window's items, most recent first
    interests: list[str] = field(default_factory=list)  # the interests shown in an item-tag prompt
    prompt_tokens: int = 0

    def to_record(self) -> dict[str, Any]:
        record = asdict(self)
        record["prompt"] = [{"role": "user", "content": self.prompt}]
        return record


def past_events(log: InteractionLog, example: Example) -> list[Interaction]:
    """The user's events of moments strictly before the example's target (``example_id`` = ``user#index``)."""
    events = log.histories[example.user_id]
    index = int(example.example_id.rsplit("#", 1)[1])
    return list(events[: moment_start(events, index)])


def history_interests(log: InteractionLog, past: Sequence[Interaction], n: int) -> list[str]:
    """No-LLM interests: the user's ``n`` most frequent finest categories in ``past`` (titles without categories)."""
    counts = Counter(log.catalog[e.item_id].categories[-1] if log.catalog[e.item_id].categories
                     else log.catalog[e.item_id].title for e in past)
    return [name for name, _ in counts.most_common(n)]


def tag_rules(cfg: TaskConfig, log: InteractionLog) -> TagRules:
    """The §2.2.1 constraints of ``cfg``; the catalogue's top-level category names count as too broad."""
    return TagRules(cfg.min_tags, cfg.max_tags, cfg.min_tag_words, cfg.max_tag_words).with_broad(
        {item.categories[0] for item in log.catalog if item.categories})


def task_examples(log: InteractionLog, examples: Sequence[Example], cfg: TaskConfig, task: str | None = None,
                  interests: Mapping[str, Sequence[str]] | None = None,
                  count_tokens: Callable[[str], int] | None = None) -> list[TaskExample]:
    """Task prompts for ``examples`` (``task`` default ``cfg.task.name``). ``interests``: example id → mined
    interests for item-tag and explanation prompts; missing ones fall back to :func:`history_interests`."""
    from rlrec.data.prompt import TokenCounter

    task = task or cfg.name
    if task not in ("interests", "item_tags", "explanations"):
        raise ValueError(f"task {task!r} has no RecGPT prompt (interests | item_tags | explanations)")
    count = count_tokens or TokenCounter()
    levels = log.catalog.depth
    out = []
    for example in examples:
        past = past_events(log, example)
        window = past[::-1][: cfg.history_len]
        lines = [line.text for line in compress_window(window, log.catalog, example.target_time,
                                                       log.time_unit_s if log.timed else None, levels)]
        profile = log.profile_at(example.user_id, past).text()
        mined = list((interests or {}).get(example.example_id) or history_interests(log, past, cfg.max_interests))

        def render(k: int, lines=lines, profile=profile, mined=mined, example=example) -> str:
            if task == "interests":
                return interest_prompt(profile, lines[:k], cfg.min_interests, cfg.max_interests)
            if task == "item_tags":
                return tag_prompt(profile, mined, lines[:k], cfg.min_tags, cfg.max_tags)
            item = log.catalog[example.target_item_id]
            return explanation_prompt(mined, item.text())

        fitted = fit_prompt(render, len(lines), cfg.prompt_token_budget, count)
        out.append(TaskExample(example.example_id, example.user_id, task, fitted.text, example.target_item_id,
                               example.target_title, list(example.target_categories), example.target_text,
                               [e.item_id for e in window], mined if task != "interests" else [], fitted.tokens))
    return out
