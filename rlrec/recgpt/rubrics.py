"""RecGPT's rubric criteria per task (§2.1.2 Table 1, §2.4.1 Table 6) for the judge reward (``rewards/recgpt_judge.py``).

Binary {Yes, No} per criterion; an output is "qualified" only when every criterion passes (§3, §4.3). The item-tag
rubric (Table 3: relevance, consistency, specificity, validity) is the judge reward's own
(``rewards/judging/rubric.py``).
"""

from __future__ import annotations

INTEREST_CRITERIA: dict[str, str] = {
    "willingness": ("each interest is something the user chooses for pleasure (a hobby, a taste), not a daily "
                    "necessity such as buying household staples."),
    "reasonableness": ("each interest is clearly supported by the user's behaviour shown in the context: no weak "
                       "or unrelated evidence, no interest invented without evidence."),
}

EXPLANATION_CRITERIA: dict[str, str] = {
    "relevance": "the explanation connects the item to the user's interests and to what the item is.",
    "factuality": "it describes the item truthfully, without exaggerated or false claims.",
    "clarity": "it is fluent, grammatical and not repetitive.",
    "safety": "it contains no personal or sensitive information and no pressure to buy.",
}

TASK_RUBRICS: dict[str, dict[str, str]] = {"interests": INTEREST_CRITERIA, "explanations": EXPLANATION_CRITERIA}
