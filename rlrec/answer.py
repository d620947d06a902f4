"""The answer format and its one parser, used by rewards, metrics and the PPL filter.

Format (Taiji §2.2.2)::

    <think>reasoning</think><answer>Item title: …; Category L1: …; Category L2: …</answer>

The parser never raises on model output: it returns a :class:`ParsedAnswer` whose ``status`` says what
was wrong, so every caller counts unparseable completions the same way.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ParseStatus",
    "ParsedAnswer",
    "parse_answer",
    "format_answer",
    "format_completion",
    "completion_text",
]

_THINK_OPEN = re.compile(r"<\s*think\s*>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"<\s*/\s*think\s*>", re.IGNORECASE)
_ANSWER_OPEN = re.compile(r"<\s*answer\s*>", re.IGNORECASE)
_ANSWER_CLOSE = re.compile(r"<\s*/\s*answer\s*>", re.IGNORECASE)
# "Item title:" or "Title:" or "Category L2:" (also full-width colon, any case / spacing).
_FIELD = re.compile(r"(?:(?<=^)|(?<=[\s;,]))(item\s*title|title|category\s*l\s*(\d+))\s*[:：]", re.IGNORECASE)


class ParseStatus(str, enum.Enum):
    """Outcome of parsing one completion, from best to worst."""

    OK = "ok"  # think + answer tags closed, a title was found
    NO_THINK = "no_think"  # answer fine, but no <think> block
    UNCLOSED_ANSWER = "unclosed_answer"  # <answer> opened, never closed (e.g. truncated generation)
    UNTAGGED_ANSWER = "untagged_answer"  # no <answer> tag; fields found in the raw text
    NO_TITLE = "no_title"  # an answer block exists but has no "Item title:" field
    EMPTY_ANSWER = "empty_answer"  # <answer></answer> with nothing inside
    NO_ANSWER = "no_answer"  # nothing that looks like an answer

    @property
    def has_title(self) -> bool:
        return self in (ParseStatus.OK, ParseStatus.NO_THINK, ParseStatus.UNCLOSED_ANSWER, ParseStatus.UNTAGGED_ANSWER)


@dataclass(frozen=True)
class ParsedAnswer:
    """Structured view of one completion.

    ``answer_text`` is the raw text inside ``<answer>`` (or the best fallback span) and is what the
    semantic reward embeds; ``title`` / ``categories`` are the parsed fields (categories coarse → fine,
    ``categories[0]`` is L1; a missing level is ``""``).
    """

    status: ParseStatus
    think: str | None
    answer_text: str
    title: str
    categories: tuple[str, ...] = field(default_factory=tuple)
    # Taiji Table 3 format checks.
    think_tag_present: bool = False
    think_non_empty: bool = False
    answer_non_empty: bool = False

    @property
    def ok(self) -> bool:
        return self.status is ParseStatus.OK

    def category(self, level: int) -> str:
        """Category at 1-based ``level`` (L1 = 1), ``""`` when absent."""
        return self.categories[level - 1] if 0 < level <= len(self.categories) else ""

    def item_text(self) -> str:
        """Canonical text of the predicted item (title + categories), or the raw answer text."""
        if self.title:
            return format_answer(self.title, self.categories)
        return self.answer_text


def _clean(value: str) -> str:
    # Trailing separators belong to the format, not the value ("Item title: Milk; Category L1: …").
    return re.sub(r"[\s;,]+$", "", re.sub(r"\s+", " ", value).strip())


def _parse_fields(text: str) -> tuple[str, tuple[str, ...]]:
    matches = list(_FIELD.finditer(text))
    title = ""
    levels: dict[int, str] = {}
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        value = _clean(text[m.end() : end])
        if m.group(2) is not None:
            levels.setdefault(int(m.group(2)), value)
        elif not title:
            title = value
    depth = max(levels) if levels else 0
    return title, tuple(levels.get(level, "") for level in range(1, depth + 1))


def parse_answer(completion: Any) -> ParsedAnswer:
    """Parse one completion (a string, or a TRL conversational completion) into a :class:`ParsedAnswer`.

    Robust to case, whitespace, extra text around the tags, unclosed tags and missing fields.
    """
    text = completion_text(completion)
    think: str | None = None
    rest = text
    t_open = _THINK_OPEN.search(text)
    if t_open:
        t_close = _THINK_CLOSE.search(text, t_open.end())
        if t_close:
            think = text[t_open.end() : t_close.start()].strip()
            rest = text[t_close.end() :]
        else:
            # Unclosed think: the reasoning runs until an <answer> tag, if any.
            a = _ANSWER_OPEN.search(text, t_open.end())
            think = text[t_open.end() : a.start() if a else len(text)].strip()
            rest = text[a.start() :] if a else ""
    else:
        t_close = _THINK_CLOSE.search(text)  # "reasoning</think><answer>" with the opening tag eaten
        if t_close:
            rest = text[t_close.end() :]

    a_open = _ANSWER_OPEN.search(rest)
    closed = False
    if a_open:
        a_close = _ANSWER_CLOSE.search(rest, a_open.end())
        closed = a_close is not None
        answer_text = rest[a_open.end() : a_close.start() if a_close else len(rest)].strip()
    else:
        answer_text = ""

    title, categories = _parse_fields(answer_text)
    if a_open is None:
        title, categories = _parse_fields(rest)
        if title:
            answer_text = rest.strip()
            status = ParseStatus.UNTAGGED_ANSWER
        else:
            status = ParseStatus.NO_ANSWER
    elif not answer_text:
        status = ParseStatus.EMPTY_ANSWER
    elif not title:
        status = ParseStatus.NO_TITLE
    elif not closed:
        status = ParseStatus.UNCLOSED_ANSWER
    elif think is None:
        status = ParseStatus.NO_THINK
    else:
        status = ParseStatus.OK

    return ParsedAnswer(
        status=status,
        think=think,
        answer_text=answer_text,
        title=title,
        categories=categories,
        think_tag_present=t_open is not None,
        think_non_empty=bool(think),
        answer_non_empty=a_open is not None and bool(answer_text),
    )


def format_answer(title: str, categories: Sequence[str]) -> str:
    """``Item title: …; Category L1: …; Category L2: …`` (the serialization of one item)."""
    parts = [f"Item title: {title}"]
    parts += [f"Category L{level}: {cat}" for level, cat in enumerate(categories, start=1) if cat]
    return "; ".join(parts)


def format_completion(think: str, title: str, categories: Sequence[str]) -> str:
    """A full target completion: ``<think>…</think><answer>…</answer>``."""
    return f"<think>{think.strip()}</think><answer>{format_answer(title, categories)}</answer>"


def completion_text(completion: Any) -> str:
    """Text of a completion as TRL passes it: a string, or a list of chat messages."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        return str(completion.get("content", ""))
    if isinstance(completion, (list, tuple)):
        return "".join(completion_text(m) for m in completion)
    if completion is None:
        return ""
    raise TypeError(f"cannot read a completion of type {type(completion).__name__}: expected str or chat messages")
