"""The Taiji §2.1.1 prompt: query (+ answer-format instruction), user profile, behavioural history.

Layout (one block per paragraph)::

    Query: <DataConfig.query> <instruction to answer as <think>…</think><answer>Item title: …; …</answer>>

    User profile: age: 24; gender: male; occupation: technician

    Behavioral history (50 most recent interactions, most recent first):
    1. Item title: Banana; Category L1: produce; Category L2: fresh fruits
    2. [rated 4] Item title: …            ← a tag only when the event has a rating or the log mixes behaviours

A token budget drops the OLDEST history lines first: a binary search finds the largest number of most
recent lines whose full prompt fits. Tokens are counted with the policy tokenizer when one is given
(prompt text only, no chat template), otherwise approximated as ``ceil(len(text) / 4)`` characters.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rlrec.answer import format_answer
from rlrec.data.schema import Catalog, Interaction

CHARS_PER_TOKEN = 4  # approximation used when no tokenizer is given (English text, BPE vocabularies)


class TokenCounter:
    """Counts prompt tokens: the tokenizer's count (no special tokens), or ``ceil(chars / 4)`` without one."""

    def __init__(self, tokenizer=None) -> None:
        self.tokenizer = tokenizer
        self.name = f"tokenizer:{Path(str(getattr(tokenizer, 'name_or_path', type(tokenizer).__name__))).name}" if tokenizer else "chars/4"

    def __call__(self, text: str) -> int:
        if self.tokenizer is None:
            return math.ceil(len(text) / CHARS_PER_TOKEN)
        return len(self.tokenizer.encode(text, add_special_tokens=False))


def answer_instruction(levels: int) -> str:
    """The format instruction appended to the query, e.g. for 2 levels ``… Category L1: …; Category L2: …``."""
    template = format_answer("…", ["…"] * levels)
    return (f"Think step by step inside <think>…</think>, then name exactly one item inside <answer>…</answer> "
            f"written as: {template}")


def event_tag(event: Interaction, show_behavior: bool) -> str:
    """``[rated 4] `` / ``[click] `` / ``[click, rated 4] `` or ``""`` (pure purchases in a one-behaviour log)."""
    parts = [event.behavior] if show_behavior else []
    if event.rating is not None:
        parts.append(f"rated {event.rating:g}")
    return f"[{', '.join(parts)}] " if parts else ""


def history_lines(window: Sequence[Interaction], catalog: Catalog, levels: int, show_behavior: bool) -> list[str]:
    """One ``N. [tag] Item title: …; Category L1: …`` line per event, in the given (most recent first) order."""
    return [f"{n}. {event_tag(e, show_behavior)}{catalog[e.item_id].text(levels=levels)}"
            for n, e in enumerate(window, start=1)]


def render_prompt(query: str, profile_text: str, lines: Sequence[str], available: int, levels: int,
                  compressed: bool = False, timed: bool = True) -> str:
    """The full prompt text with the first ``len(lines)`` history lines; ``available`` = lines before truncation.

    ``timed=False`` (data without timestamps) says so in the header: the history is an order, not a timeline.
    """
    what = "compressed behaviour groups" if compressed else "interactions"
    if len(lines) == available:
        header = f"Behavioral history ({available} most recent {what}, most recent first):"
    else:
        header = (f"Behavioral history ({len(lines)} most recent of {available} {what}, most recent first; "
                  "older ones omitted to fit the prompt budget):")
    if not timed:
        header += " the data has no timestamps, only the order of events."
    if compressed:
        when = "time" if timed else "positions counted back from the most recent"
        header += f" each line is `{when} (behaviour), … | {'category: ' if levels else ''}items`."
    body = "\n".join(lines) if lines else "(no earlier interactions)"
    return f"Query: {query.strip()} {answer_instruction(levels)}\n\nUser profile: {profile_text}\n\n{header}\n{body}"


@dataclass(frozen=True)
class FittedPrompt:
    text: str
    lines_kept: int  # history lines in the prompt (the most recent ones)
    lines_dropped: int  # oldest lines removed to fit the budget
    tokens: int
    over_budget: bool  # even with no history line the prompt exceeds the budget


def fit_prompt(render: Callable[[int], str], n_lines: int, budget: int | None,
               count_tokens: Callable[[str], int]) -> FittedPrompt:
    """Largest ``k <= n_lines`` such that ``count_tokens(render(k)) <= budget`` (binary search; ``render(k)``
    must grow with ``k``). ``budget=None`` keeps every line."""
    full = render(n_lines)
    tokens = count_tokens(full)
    if budget is None or tokens <= budget:
        return FittedPrompt(full, n_lines, 0, tokens, False)
    lo, hi = 0, n_lines - 1  # invariant: the answer is in [lo, hi]; render(hi + 1) is over budget
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count_tokens(render(mid)) <= budget:
            lo = mid
        else:
            hi = mid - 1
    text = render(lo)
    tokens = count_tokens(text)
    return FittedPrompt(text, lo, n_lines - lo, tokens, tokens > budget)
