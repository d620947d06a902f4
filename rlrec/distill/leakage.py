"""Leakage check: a RUPR CoT must not refer to having been given the answer.

RUPR shows the teacher the true next item (Taiji §2.1.2), but the SFT sample shows the student only the
history. A CoT that says "the ground truth is …" or "given that the user bought …" teaches the student to
cite information it never has, so such CoTs are rejected and counted per pattern.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence


class LeakageCheck:
    """Case-insensitive regexes; :meth:`find` returns the first pattern that matches a text, else None."""

    def __init__(self, patterns: Sequence[str]) -> None:
        self.patterns = list(patterns)
        self._compiled = []
        for i, pattern in enumerate(self.patterns):
            try:
                self._compiled.append(re.compile(pattern, re.IGNORECASE))
            except re.error as err:
                raise ValueError(f"distill.leakage_patterns[{i}] = {pattern!r} is not a valid regex: {err}") from None
        self.hits: Counter[str] = Counter()

    def find(self, text: str) -> str | None:
        """The first matching pattern (also counted in :attr:`hits`), or None for a clean text."""
        for pattern, regex in zip(self.patterns, self._compiled):
            if regex.search(text):
                self.hits[pattern] += 1
                return pattern
        return None
