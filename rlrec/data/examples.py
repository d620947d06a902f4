"""Training / evaluation examples: (Taiji prompt, true next item) pairs built from an InteractionLog.

Target choice (documented in docs/data_format.md):

* Events are grouped into *moments*: a basket (a maximal run of consecutive events sharing a ``group``,
  e.g. one Instacart order) or, for ungrouped events, all events with the same ``time``. Nothing from
  the target's own moment is ever history — no partial-basket leakage, and tied timestamps (MovieLens
  users rate many films in the same second) are not "before" each other.
* Basket moment: one candidate target, its first item (lowest ``seq`` = add-to-cart position). With
  ``exclude_repurchase`` it is the first item the user never bought in an earlier moment; a basket with
  no such item is skipped (counted).
* Ungrouped moment: every event is a candidate (filtered by ``min_target_rating`` and
  ``exclude_repurchase`` when set).
* A candidate needs ``min_history`` earlier interactions; the latest ``max_targets_per_user`` eligible
  candidates of each user become examples.
* History = the ``history_len`` most recent earlier events, most recent first. The profile is
  ``log.profile_at(user, earlier events)`` — only data from before the target.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from tqdm.auto import tqdm

from rlrec.config import DataConfig
from rlrec.data.compress import compact_lines, compress_window
from rlrec.data.prompt import FittedPrompt, fit_prompt, history_lines, render_prompt
from rlrec.data.schema import Catalog, Interaction, InteractionLog


@dataclass
class Example:
    """One (prompt, target) pair. ``to_record`` flattens it for ``datasets.Dataset`` / jsonl."""

    example_id: str  # "<user_id>#<index of the target in the user's sorted events>"
    user_id: str
    prompt: str  # the serialized Taiji prompt (plain text; records wrap it as chat messages)
    target_item_id: str
    target_title: str
    target_categories: tuple[str, ...]  # coarse → fine, the first ``category_levels`` levels
    target_text: str  # Item.text(levels=category_levels), i.e. the <answer> content of a perfect completion
    history_item_ids: list[str]  # items of the history lines in the prompt, most recent first
    target_time: float  # in the log's time units
    history_available: int = 0  # earlier events in the history_len window, before the token budget
    history_dropped: int = 0  # oldest history lines removed by the token budget
    prompt_tokens: int = 0  # per the TokenCounter used (tokenizer, or chars/4)
    repeat_target: bool = False  # the target item occurs among the user's earlier events

    def to_record(self) -> dict[str, Any]:
        record = asdict(self)
        record["prompt"] = [{"role": "user", "content": self.prompt}]
        record["target_categories"] = list(self.target_categories)
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Example:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in record.items() if k in known}
        prompt = values["prompt"]
        values["prompt"] = prompt if isinstance(prompt, str) else "".join(m["content"] for m in prompt)
        values["target_categories"] = tuple(values["target_categories"])
        return cls(**values)


def category_levels(cfg: DataConfig, catalog: Catalog) -> int:
    """Category levels in prompts and answers: ``cfg.category_levels``, or the catalogue's depth when it is None."""
    return catalog.depth if cfg.category_levels is None else cfg.category_levels


@dataclass(frozen=True)
class Target:
    index: int  # position of the target event in the user's sorted events
    n_before: int  # events[:n_before] are the earlier events (history candidates)


def moments(events: Sequence[Interaction]) -> Iterator[tuple[int, int]]:
    """``(start, end)`` index ranges of the moments of a sorted event list (see the module docstring)."""
    def key(e: Interaction) -> tuple:
        return ("group", e.group) if e.group is not None else ("time", e.time)

    start = 0
    for i in range(1, len(events) + 1):
        if i == len(events) or key(events[i]) != key(events[start]):
            yield start, i
            start = i


def select_targets(events: Sequence[Interaction], cfg: DataConfig, rejected: Counter) -> list[Target]:
    """The latest ``cfg.max_targets_per_user`` eligible targets of one user, chronological.

    Rejected candidates are counted in ``rejected`` by reason.
    """
    if cfg.max_targets_per_user < 1:
        raise ValueError(f"data.max_targets_per_user must be >= 1, got {cfg.max_targets_per_user}")
    eligible: list[Target] = []
    seen: set[str] = set()  # items of earlier moments
    for start, end in moments(events):
        basket = events[start].group is not None
        candidates = range(start, end)
        if basket and cfg.exclude_repurchase:
            new = [i for i in candidates if events[i].item_id not in seen]
            if not new:
                rejected["basket has no never-bought item (exclude_repurchase)"] += 1
            candidates = new[:1]
        elif basket:
            candidates = range(start, start + 1)
        for i in candidates:
            event = events[i]
            if cfg.exclude_repurchase and not basket and event.item_id in seen:
                rejected["item interacted with before (exclude_repurchase)"] += 1
            elif cfg.min_target_rating is not None and (event.rating is None or event.rating < cfg.min_target_rating):
                rejected[f"rating missing or below min_target_rating={cfg.min_target_rating:g}"] += 1
            elif start < cfg.min_history:
                rejected[f"fewer than min_history={cfg.min_history} earlier interactions"] += 1
            else:
                eligible.append(Target(i, start))
        seen.update(e.item_id for e in events[start:end])
    return eligible[-cfg.max_targets_per_user:]


@dataclass
class BuildReport:
    """Counts from one :func:`build_examples` call (they go into the data card)."""

    rejected_targets: Counter = field(default_factory=Counter)
    users_without_target: int = 0
    examples_truncated: int = 0
    lines_dropped: int = 0
    over_budget_without_history: int = 0
    # RecGPT compression measured on the same windows: history-block tokens, full prompt tokens.
    history_tokens: list[int] = field(default_factory=list)
    history_tokens_compressed: list[int] = field(default_factory=list)
    history_tokens_compact: list[int] = field(default_factory=list)  # per-event baseline, no aggregation
    prompt_tokens_full: list[int] = field(default_factory=list)
    prompt_tokens_full_compressed: list[int] = field(default_factory=list)


def build_example(log: InteractionLog, events: Sequence[Interaction], target: Target, cfg: DataConfig,
                  count_tokens: Callable[[str], int], report: BuildReport, show_behavior: bool = False) -> Example:
    """Serialize one target (see the module docstring); records truncation and compression in ``report``.

    ``show_behavior`` tags each history line with its behaviour (set when the log mixes behaviour types).
    """
    event = events[target.index]
    past = events[: target.n_before]
    window = list(reversed(past[-cfg.history_len:])) if cfg.history_len > 0 else []
    levels = category_levels(cfg, log.catalog)
    profile = log.profile_at(event.user_id, past).text()
    count_tokens = _memoised(count_tokens)  # the full prompts are counted for the report and by fit_prompt

    plain = history_lines(window, log.catalog, levels, show_behavior)
    packed = compress_window(window, log.catalog, event.time, log.time_unit_s if log.timed else None, levels)
    packed_text = [line.text for line in packed]
    # Measure the reduction on every example, whichever form the prompt uses.
    report.history_tokens.append(count_tokens("\n".join(plain)))
    report.history_tokens_compressed.append(count_tokens("\n".join(packed_text)))
    report.history_tokens_compact.append(count_tokens("\n".join(compact_lines(window, log.catalog, levels))))

    def render_plain(k: int) -> str:
        return render_prompt(cfg.query, profile, plain[:k], len(plain), levels, timed=log.timed)

    def render_packed(k: int) -> str:
        return render_prompt(cfg.query, profile, packed_text[:k], len(packed), levels, compressed=True,
                             timed=log.timed)

    report.prompt_tokens_full.append(count_tokens(render_plain(len(plain))))
    report.prompt_tokens_full_compressed.append(count_tokens(render_packed(len(packed))))
    if cfg.compress_history:
        fitted: FittedPrompt = fit_prompt(render_packed, len(packed), cfg.prompt_token_budget, count_tokens)
        kept = set().union(*(line.item_ids for line in packed[: fitted.lines_kept]))
        history_ids = [e.item_id for e in window if e.item_id in kept]
    else:
        fitted = fit_prompt(render_plain, len(plain), cfg.prompt_token_budget, count_tokens)
        history_ids = [e.item_id for e in window[: fitted.lines_kept]]
    report.examples_truncated += fitted.lines_dropped > 0
    report.lines_dropped += fitted.lines_dropped
    report.over_budget_without_history += fitted.over_budget

    item = log.catalog[event.item_id]
    return Example(
        example_id=f"{event.user_id}#{target.index}",
        user_id=event.user_id,
        prompt=fitted.text,
        target_item_id=item.item_id,
        target_title=item.title,
        target_categories=tuple(item.categories[:levels]),
        target_text=item.text(levels=levels),
        history_item_ids=history_ids,
        target_time=event.time,
        history_available=len(window),
        history_dropped=fitted.lines_dropped,
        prompt_tokens=fitted.tokens,
        repeat_target=any(e.item_id == event.item_id for e in past),
    )


def _memoised(count_tokens: Callable[[str], int]) -> Callable[[str], int]:
    cache: dict[str, int] = {}

    def count(text: str) -> int:
        if text not in cache:
            cache[text] = count_tokens(text)
        return cache[text]

    return count


def build_examples(log: InteractionLog, cfg: DataConfig, users: Sequence[str],
                   count_tokens: Callable[[str], int]) -> tuple[list[Example], BuildReport]:
    """Examples for ``users`` (in that order; each user's targets chronological) and the build report."""
    report = BuildReport()
    examples: list[Example] = []
    show_behavior = len({e.behavior for e in log.interactions()}) > 1
    for user in tqdm(users, desc=f"examples ({log.name})", unit="user", leave=False, mininterval=2.0):
        events = log.histories[user]
        targets = select_targets(events, cfg, report.rejected_targets)
        report.users_without_target += not targets
        examples += [build_example(log, events, t, cfg, count_tokens, report, show_behavior) for t in targets]
    return examples, report
