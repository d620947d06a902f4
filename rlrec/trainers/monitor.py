"""Reward-hacking monitor (seed 003 §3): the failure mode of RL on a reward model is format collapse and a
few high-reward words taking over the answers. These metrics are logged every trainer step, whatever rewards
are used.

All functions take one batch of completions (strings or TRL chat messages) and return plain floats.
"Answer tokens" are the lower-cased word tokens (``\\w+``) of what each completion answers, as parsed by
:func:`rlrec.answer.parse_answer`: the title followed by the category values when a title parses (the fixed
field names "Item title" / "Category L1" would otherwise dominate every count), else the raw answer text; a
completion with no answer contributes no tokens. A batch with no answer tokens gives 0.0 for the
concentration/diversity metrics (nothing to measure; never NaN in a log).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from rlrec.answer import parse_answer

_TOKEN = re.compile(r"\w+", re.UNICODE)

METRIC_NAMES = (
    "monitor/format_valid_rate",
    "monitor/top10_token_share",
    "monitor/distinct_1",
    "monitor/distinct_2",
)


def answer_tokens(completion: Any) -> list[str]:
    """Lower-cased word tokens of one completion's answer (title + category values, else the raw answer text)."""
    parsed = parse_answer(completion)
    text = " ".join((parsed.title, *parsed.categories)) if parsed.title else parsed.answer_text
    return _TOKEN.findall(text.lower())


def format_valid_rate(completions: Sequence[Any]) -> float:
    """Fraction of completions in the full ``<think>…</think><answer>Item title: …</answer>`` format."""
    if not completions:
        return 0.0
    return sum(parse_answer(c).ok for c in completions) / len(completions)


def top_token_share(completions: Sequence[Any], k: int = 10) -> float:
    """Share of all answer tokens in the batch taken by the ``k`` most frequent ones (1.0 = total collapse)."""
    counts = Counter(t for c in completions for t in answer_tokens(c))
    total = sum(counts.values())
    if total == 0:
        return 0.0
    return sum(n for _, n in counts.most_common(k)) / total


def distinct_n(completions: Sequence[Any], n: int) -> float:
    """Corpus distinct-n: unique answer n-grams / all answer n-grams in the batch (n-grams never cross answers)."""
    grams: list[tuple[str, ...]] = []
    for c in completions:
        tokens = answer_tokens(c)
        grams += [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def monitor_metrics(completions: Sequence[Any]) -> dict[str, float]:
    """Every monitor metric for one batch, under the fixed names in :data:`METRIC_NAMES`."""
    return dict(
        zip(
            METRIC_NAMES,
            (
                format_valid_rate(completions),
                top_token_share(completions, k=10),
                distinct_n(completions, 1),
                distinct_n(completions, 2),
            ),
        )
    )
