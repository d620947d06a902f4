"""Distillation prompts (RUPR and direct), candidate screening and the SFT sample they become.

RUPR (Taiji §2.1.2): the teacher sees the example prompt AND the true next item and writes the reasoning
that leads from the user's behaviour to that item. The SFT sample (§2.2.2) then pairs the prompt WITHOUT
the item with ``<think>CoT</think><answer>true item</answer>``. "w/o RUPR" (Table 3): the teacher sees only
the prompt and writes the CoT and its own answer, which becomes the SFT answer.
"""

from __future__ import annotations

import enum
import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from rlrec.answer import ParseStatus, format_answer, format_completion, parse_answer
from rlrec.distill.leakage import LeakageCheck

_TAG = re.compile(r"<\s*/?\s*(?:think|answer)\s*>", re.IGNORECASE)
_ANSWER_OPEN = re.compile(r"<\s*answer\s*>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"<\s*/\s*think\s*>", re.IGNORECASE)
_TITLE_FIELD = re.compile(r"(?:item\s*)?title\s*[:：]", re.IGNORECASE)  # where rlrec.answer finds a title field


class ExampleLike(Protocol):
    """The fields of ``rlrec.data.Example`` that distillation reads."""

    example_id: str
    prompt: str
    target_title: str
    target_categories: tuple[str, ...]
    target_text: str


def answer_template(levels: int) -> str:
    """``Item title: …; Category L1: …`` with ``levels`` category slots (shows the format, not the item)."""
    return format_answer("…", ["…"] * levels)


def distillation_prompt(example: ExampleLike, rupr: bool, rupr_template: str, direct_template: str) -> str:
    """The teacher's prompt: the RUPR template (with the true item) or the direct one (without)."""
    template = rupr_template if rupr else direct_template
    try:
        return template.format(
            prompt=example.prompt,
            target_text=example.target_text,
            answer_format=answer_template(len(example.target_categories)),
        )
    except (KeyError, IndexError) as err:
        which = "rupr_template" if rupr else "direct_template"
        raise ValueError(
            f"distill.{which} uses an unknown placeholder {err}; allowed: {{prompt}}, {{target_text}}, {{answer_format}}"
        ) from None


def prompt_hash(text: str) -> str:
    """16 hex chars of sha256: part of the candidate key, so an edited template never reuses old candidates."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def extract_cot(raw: str) -> str:
    """The reasoning in a teacher output: the ``<think>`` block when there is one, else the text before any
    ``<answer>``. Stray think/answer tags are removed, since the CoT is re-wrapped in ``<think>…</think>``."""
    parsed = parse_answer(raw)
    close_think = _THINK_CLOSE.search(raw)
    if parsed.think is not None:
        text = parsed.think
    elif close_think:  # "reasoning</think>…": the opening tag was part of the prompt (reasoning models)
        text = raw[: close_think.start()]
    else:
        open_answer = _ANSWER_OPEN.search(raw)
        text = raw[: open_answer.start()] if open_answer else raw
    return _TAG.sub(" ", text).strip()


class CandidateStatus(str, enum.Enum):
    OK = "ok"
    EMPTY = "empty_cot"  # no reasoning, or shorter than distill.min_cot_chars
    LEAK = "leak"  # RUPR CoT refers to having been given the answer
    UNPARSEABLE = "unparseable"  # w/o RUPR: no item title in the teacher's answer
    REPETITIVE = "repetitive"  # the CoT repeats a word n-gram more than distill.max_ngram_repeats times (a loop)
    TRUNCATED = "truncated"  # distill.cut_truncated_cot: an unclosed CoT with no complete sentence to cut back to


@dataclass(frozen=True)
class Screened:
    """One teacher output after screening; ``title`` / ``categories`` are the answer the SFT sample trains on."""

    status: CandidateStatus
    cot: str
    title: str
    categories: tuple[str, ...]
    leak_pattern: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is CandidateStatus.OK

    def completion(self) -> str:
        """``<think>CoT</think><answer>Item title: …</answer>`` — the SFT target."""
        return format_completion(self.cot, self.title, self.categories)


def max_ngram_count(text: str, n: int) -> int:
    """How often the most frequent word ``n``-gram of ``text`` occurs (case-folded, whitespace-split); 0 if none."""
    words = text.lower().split()
    counts = Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    return max(counts.values(), default=0)


# a sentence ends at . ! ? after a word (not "1." of a list or "4.99") and before whitespace or the end
_SENTENCE_END = re.compile(r"(?<=[^\W\d_]|[)\]\"'%])[.!?]+(?=\s|$)")


def cut_to_last_sentence(text: str) -> str:
    """``text`` up to the end of its last complete sentence; "" when it has none."""
    ends = list(_SENTENCE_END.finditer(text))
    return text[: ends[-1].end()] if ends else ""


def screen(
    raw: str, example: ExampleLike, rupr: bool, leakage: LeakageCheck, min_cot_chars: int,
    max_ngram_repeats: int | None = None, ngram: int = 4, cut_truncated: bool = False,
) -> Screened:
    """Classify one teacher output. RUPR answers are always the true item; w/o RUPR the teacher's own answer
    (parsed with :func:`rlrec.answer.parse_answer`). The leakage check applies to RUPR only: a direct teacher
    was never given the answer, so "the answer is …" is just its conclusion. With ``max_ngram_repeats`` a CoT
    in which some word ``ngram``-gram occurs more often than that is rejected as a loop (a student trained on
    looping CoTs loops under greedy decoding: docs/results/study). With ``cut_truncated`` a CoT the teacher
    never closed (RUPR: no ``</think>``, no ``<answer>``; its token limit cut it off) is cut back to its last complete
    sentence, so the SFT target closes its think block where a thought ends, not mid-word."""
    cot = extract_cot(raw)
    if rupr:
        title, categories = example.target_title, tuple(example.target_categories)
        if cut_truncated and not _THINK_CLOSE.search(raw) and not _ANSWER_OPEN.search(raw):
            cut = cut_to_last_sentence(cot)
            if not cut:
                return Screened(CandidateStatus.TRUNCATED, cot, title, categories)
            cot = cut
    else:
        parsed = parse_answer(raw)
        if not parsed.title:
            return Screened(CandidateStatus.UNPARSEABLE, cot, "", ())
        if parsed.status is ParseStatus.UNTAGGED_ANSWER and parsed.think is None and not _THINK_CLOSE.search(raw):
            # "reasoning … Item title: X; …" with no tags: the reasoning ends where the answer fields start,
            # else the SFT target would state the answer twice.
            start = _TITLE_FIELD.search(raw)
            cot = _TAG.sub(" ", raw[: start.start()]).strip() if start else cot
        title, categories = parsed.title, tuple(parsed.categories)
    if len(cot) < min_cot_chars:
        return Screened(CandidateStatus.EMPTY, cot, title, categories)
    if rupr:
        pattern = leakage.find(cot)
        if pattern is not None:
            return Screened(CandidateStatus.LEAK, cot, title, categories, leak_pattern=pattern)
    if max_ngram_repeats is not None and max_ngram_count(cot, ngram) > max_ngram_repeats:
        return Screened(CandidateStatus.REPETITIVE, cot, title, categories)
    return Screened(CandidateStatus.OK, cot, title, categories)


def sft_record(example: ExampleLike, screened: Screened, **extra: Any) -> dict[str, Any]:
    """A TRL conversational prompt-completion record: the prompt WITHOUT the true item → CoT + answer."""
    return {
        "prompt": [{"role": "user", "content": example.prompt}],
        "completion": [{"role": "assistant", "content": screened.completion()}],
        "example_id": example.example_id,
        **extra,
    }


def ppl_context(rendered_prompt: str, cot: str) -> str:
    """Everything before the scored answer span: the chat-rendered prompt, the CoT and ``<answer>``.

    ``ppl_context(p, cot) + ppl_answer(t, c) + "</answer>" == p + format_completion(cot, t, c)`` (tested), so
    the scored text is byte-identical to the SFT target.
    """
    return f"{rendered_prompt}<think>{cot.strip()}</think><answer>"


def ppl_answer(title: str, categories: Sequence[str]) -> str:
    """The scored span y of Eq. 1: the answer inside ``<answer>…</answer>``."""
    return format_answer(title, categories)
