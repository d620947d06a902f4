"""The LLM-as-judge rubric (RecGPT §2.2.2 Table 3 and §3.1): criteria, judge prompt, verdict parsing.

RecGPT judges a predicted item tag with binary {Yes, No} criteria and calls it correct only when every
criterion passes ("All ✓ → ✓, any ✗ → ✗"): Relevance, Consistency, Specificity, Validity.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

CRITERIA: dict[str, str] = {
    "relevance": "the recommended item is directly aligned with the user's interests shown in the context.",
    "consistency": (
        "the recommendation is grounded in the user's actual profile and behaviour history, not contradicting "
        "them or ignoring them (e.g. not an item the user's profile makes implausible)."
    ),
    "specificity": (
        "the item is specific enough to retrieve a concrete product (not a generic phrase such as "
        "'sports equipment' or 'food')."
    ),
    "validity": "the item is a real, existing kind of product (not an invented or impossible one).",
}

SYSTEM_PROMPT = (
    "You are a strict quality judge for a recommender system. You evaluate one recommended item for one user "
    "against fixed criteria and answer only with JSON."
)

USER_TEMPLATE = """User context (profile and recent behaviour):
{context}

Recommended next item:
{answer}

Judge the recommendation on each criterion with "Yes" or "No":
{criteria}

Answer with one JSON object and nothing else, e.g. {example}"""

_YES = {"yes", "y", "true", "pass", "passed", "1", "✓", "excellent", "good"}  # + RecGPT §3 grades
_NO = {"no", "n", "false", "fail", "failed", "0", "✗", "bad"}


def judge_messages(context: str, answer: str, criteria: Sequence[str],
                   definitions: Mapping[str, str] = CRITERIA) -> list[dict[str, str]]:
    """Chat messages asking the judge for a Yes/No verdict per criterion (RecGPT item-tag rubric)."""
    lines = "\n".join(f"- {name.capitalize()}: {definitions[name]}" for name in criteria)
    example = json.dumps({name: "Yes" for name in criteria})
    user = USER_TEMPLATE.format(context=context.strip(), answer=answer.strip(), criteria=lines, example=example)
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def parse_verdicts(text: str, criteria: Sequence[str]) -> dict[str, bool] | None:
    """{criterion: passed} from the judge's reply, or None when any criterion has no readable verdict.

    Reads the first JSON object in the reply; falls back to ``Criterion: Yes`` lines. Case-insensitive.
    """
    verdicts: dict[str, bool] = {}
    match = re.search(r"\{.*?\}", text, re.DOTALL)
    if match:
        try:
            obj = json.loads(match.group(0))
        except json.JSONDecodeError:
            obj = None
        if isinstance(obj, dict):
            for key, value in obj.items():
                passed = verdict(value)
                if passed is not None:
                    verdicts[str(key).strip().lower()] = passed
    for name in criteria:
        if name in verdicts:
            continue
        line = re.search(rf"\b{re.escape(name)}\b\W{{0,4}}\s*([A-Za-z01✓✗]+)", text, re.IGNORECASE)
        if line:
            passed = verdict(line.group(1))
            if passed is not None:
                verdicts[name] = passed
    if any(name not in verdicts for name in criteria):
        return None
    return {name: verdicts[name] for name in criteria}


def aggregate(verdicts: Mapping[str, bool], how: str) -> float:
    """``mean``: fraction of criteria passed (a denser RL signal); ``all``: 1 only if every one passes
    (RecGPT's "qualified")."""
    values = list(verdicts.values())
    if how == "all":
        return float(all(values))
    return sum(values) / len(values)


def verdict(value: object) -> bool | None:
    """A judge's (or a labeller's) pass / fail word: Yes / No, Pass / Fail, 1 / 0, Excellent / Good / Bad; None
    for anything else."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().strip(".,!\"'").lower()
    if word in _YES:
        return True
    if word in _NO:
        return False
    return None
