"""``recgpt_judge``: the judge reward (rewards/judge.py) with the rubric of one RecGPT task (§3.1).

``task: item_tags`` uses the item-tag rubric (Table 3: relevance, consistency, specificity, validity), ``interests``
willingness and reasonableness (Table 1), ``explanations`` relevance, factuality, clarity and safety (Table 6)
(rlrec/recgpt/rubrics.py). The judged output is the parsed list, one entry per line; backends, caching, retries and
the ``mean`` / ``all`` aggregation are the judge reward's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rewards.core.base import prompt_text, register_reward
from rewards.judge import Judge
from rewards.judging.rubric import CRITERIA, judge_messages
from rlrec.recgpt.parsing import ParsedList, parse_explanation, parse_list
from rlrec.recgpt.rubrics import TASK_RUBRICS

RUBRICS: dict[str, dict[str, str]] = {"item_tags": CRITERIA, **TASK_RUBRICS}


@register_reward("recgpt_judge", description="RecGPT LLM-as-judge with the rubric of one task (interests, item "
                                              "tags, explanations): share of criteria passed")
class RecGPTJudge(Judge):
    @dataclass
    class Params(Judge.Params):
        task: str = "item_tags"  # interests | item_tags | explanations
        criteria: list[str] = field(default_factory=list)  # empty = every criterion of the task's rubric

        def __post_init__(self) -> None:
            if self.task not in RUBRICS:
                raise ValueError(f"recgpt_judge.task must be one of {', '.join(RUBRICS)}, got {self.task!r}")
            rubric = RUBRICS[self.task]
            self.criteria = list(self.criteria) or list(rubric)
            unknown = [c for c in self.criteria if c not in rubric]
            if unknown:
                raise ValueError(f"recgpt_judge.criteria for task {self.task!r} must be a subset of {list(rubric)}, "
                                 f"got {unknown}")
            if self.aggregate not in ("mean", "all"):
                raise ValueError(f"recgpt_judge.aggregate must be 'mean' or 'all', got {self.aggregate!r}")

    def parse(self, completion: Any) -> ParsedList:
        return parse_explanation(completion) if self.params.task == "explanations" else parse_list(completion)

    def scorable(self, parsed: ParsedList) -> bool:  # type: ignore[override]
        return parsed.status.has_entries

    def score(self, prompts: list[Any], parsed: list[ParsedList], columns: dict[str, list[Any]]) -> Sequence[float | None]:
        keys = [(prompt_text(p), "\n".join(a.values)) for p, a in zip(prompts, parsed)]
        rubric = RUBRICS[self.params.task]
        todo = [k for k in dict.fromkeys(keys) if k not in self._cache]
        found = {k: self._cache[k] for k in dict.fromkeys(keys) if k in self._cache}
        if todo:
            replies = self.backend.complete([judge_messages(c, a, self.params.criteria, rubric) for c, a in todo])
            for key, reply in zip(todo, replies):
                found[key] = self._value(reply)
                if found[key] is not None:
                    self._remember(key, found[key])
        return [found[k] for k in keys]
