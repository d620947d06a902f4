"""The three RecGPT prompt templates (seed 001 Prompts 2.1.2, 2.2.1, 2.4.1), written in our own words.

Each follows the seed's structure: role, input (attributes, compressed reliable behaviour from
:func:`rlrec.data.compress.compress_window`, interests, item information), mandatory requirements and
prohibitions, output format. Outputs are read by :mod:`rlrec.recgpt.parsing` (one entry per line inside
``<answer>``). They are short on purpose: the embedded policy (SmolLM2-135M) and the 512-token CPU budget.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["interest_prompt", "tag_prompt", "explanation_prompt"]

_BEHAVIOUR_NOTE = "(each line: when (behaviour) | category: items; most recent first)"


def interest_prompt(profile: str, behaviour: Sequence[str], min_interests: int, max_interests: int) -> str:
    """LLM_UI (§2.1.2, Eq. 1): interests from the user's attributes and compressed reliable behaviour."""
    lines = "\n".join(behaviour) or "(no earlier behaviour)"
    return (
        "# Role\nYou are a shopping guide. From a user's behaviour, find what they genuinely enjoy.\n\n"
        f"# Input\nUser attributes: {profile}\nUser behaviour {_BEHAVIOUR_NOTE}:\n{lines}\n\n"
        "# Requirements\n"
        f"- List {min_interests} to {max_interests} distinct interests, each a short phrase (e.g. home baking).\n"
        "- Willingness: an interest is something the user chooses for pleasure, not a daily necessity.\n"
        "- Reasonableness: every interest must be supported by the behaviour above; name the evidence.\n"
        "- No invented interests without evidence, no duplicates.\n\n"
        "# Output format\nThink inside <think>…</think>, then inside <answer>…</answer> one line per interest:\n"
        "Interest: <interest>; Reason: <evidence from the behaviour>"
    )


def tag_prompt(profile: str, interests: Sequence[str], behaviour: Sequence[str], min_tags: int, max_tags: int,
               when: str = "") -> str:
    """LLM_IT (§2.2.1, Eq. 2): item tags ("Modifier + Core-Word") from attributes, interests and behaviour."""
    lines = "\n".join(behaviour) or "(no earlier behaviour)"
    listed = "; ".join(interests) or "(none mined)"
    time_line = f"Current time: {when}\n" if when else ""
    return (
        "# Role\nYou are a product recommendation specialist.\n\n"
        f"# Input\nUser attributes: {profile}\nUser interests: {listed}\n{time_line}"
        f"User behaviour {_BEHAVIOUR_NOTE}:\n{lines}\n\n"
        "# Requirements\n"
        f"- Predict {min_tags} to {max_tags} item tags for products the user is likely to want next.\n"
        "- Each tag is a modifier plus a core word describing one concrete product (e.g. organic whole milk), "
        "not a broad category (not 'dairy' or 'snacks').\n"
        "- Each tag serves one of the user's interests and fits their attributes and behaviour.\n"
        "- Prefer products the user has not just bought; every tag different.\n\n"
        "# Output format\nThink inside <think>…</think>, then inside <answer>…</answer> one line per tag:\n"
        "Tag: <modifier + core word>; Interest: <interest it serves>; Reason: <why>"
    )


def explanation_prompt(interests: Sequence[str], item: str, when: str = "") -> str:
    """LLM_RE (§2.4.1, Eq. 3): a short personal explanation of one recommended item."""
    listed = "; ".join(interests) or "(none mined)"
    time_line = f"Current time: {when}\n" if when else ""
    return (
        "# Role\nWrite a personal recommendation explanation for one product.\n\n"
        f"# Input\nUser interests: {listed}\n{time_line}Item: {item}\n\n"
        "# Steps\n1. Understand the user's interests and what the item is.\n"
        "2. If the item fits an interest, say how in a friendly tone; otherwise praise the item's own qualities.\n\n"
        "# Requirements\n- One sentence, at most 20 words, true to the item.\n"
        "- Prohibited: exaggerated or false claims, personal data, pressure to buy, repeated words.\n\n"
        "# Output format\nThink inside <think>…</think>, then write the sentence inside <answer>…</answer>."
    )
