"""prepare_data: load → (subsample users) → build examples → user-disjoint split → write splits + data card."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rlrec.artifacts import damaged_file_fix
from rlrec.config import DataConfig, SplitConfig
from rlrec.data.card import make_card, write_card
from rlrec.data.examples import BuildReport, Example, build_examples
from rlrec.data.loaders import DataFormatError, load_log
from rlrec.data.prompt import TokenCounter
from rlrec.data.schema import InteractionLog
from rlrec.textio import utf8_lines

log = logging.getLogger(__name__)

SPLITS = ("sft", "rl", "test")


@dataclass
class PreparedData:
    log: InteractionLog
    splits: dict[str, list[Example]]  # "sft" / "rl" / "test", user-disjoint
    card: dict[str, Any]


def sample_users(users: Sequence[str], max_users: int | None, seed: int) -> list[str]:
    """All ``users`` (sorted), or a seeded random subset of ``max_users`` of them (sorted)."""
    ordered = sorted(users)
    if max_users is None or max_users >= len(ordered):
        return ordered
    if max_users < 1:
        raise ValueError(f"data.max_users must be >= 1 or null, got {max_users}")
    rng = np.random.default_rng([seed, 0])
    return sorted(rng.choice(ordered, size=max_users, replace=False).tolist())


def split_users(users: Sequence[str], split: SplitConfig, seed: int) -> dict[str, list[str]]:
    """Seeded user-disjoint split: a permutation cut at round(n*sft) and round(n*(sft+rl)); test takes the rest."""
    order = np.random.default_rng([seed, 1]).permutation(sorted(users)).tolist()
    n = len(order)
    cut_sft = round(n * split.sft)
    cut_rl = round(n * (split.sft + split.rl))
    return {"sft": order[:cut_sft], "rl": order[cut_sft:cut_rl], "test": order[cut_rl:]}


def write_split(path: Path, examples: Sequence[Example]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for example in examples:
            handle.write(json.dumps(example.to_record(), ensure_ascii=False) + "\n")


def load_split(path: str | Path) -> list[Example]:
    """Read a ``splits/<name>.jsonl`` written by :func:`prepare_data` back into examples. A damaged line (torn,
    not UTF-8, not an example) is a :class:`DataFormatError` naming the file and line, and the stage folder to delete."""
    path = Path(path)
    examples = []
    for number, line in utf8_lines(path, error=DataFormatError):
        if not line.strip():
            continue
        try:
            examples.append(Example.from_record(json.loads(line)))
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as err:
            fix = damaged_file_fix(path, "rerun data preparation (it rewrites the splits)")
            raise DataFormatError(f"{path}, line {number}: the cached split is damaged ({type(err).__name__}: {err}); "
                                  f"{fix}") from None
    return examples


def check_splits(splits: dict[str, list[Example]], cfg: DataConfig, report: BuildReport, n_users: int) -> None:
    """Fail when no example was built, or a split with a positive ``data.split`` fraction is empty."""
    total = sum(len(v) for v in splits.values())
    reasons = "; ".join(f"{r}: {n:,}" for r, n in report.rejected_targets.most_common()) or "none rejected"
    if total == 0:
        raise DataFormatError(
            f"data {cfg.name!r}: 0 examples from {n_users:,} users ({report.users_without_target:,} without an "
            f"eligible target; rejected candidate targets: {reasons}). Fix: lower data.min_history "
            f"(now {cfg.min_history}) or data.min_target_rating (now {cfg.min_target_rating}), or bring more "
            "interactions per user.")
    empty = [name for name in SPLITS if not splits[name] and getattr(cfg.split, name) > 0]
    if empty:
        sizes = ", ".join(f"{name} {len(splits[name])}" for name in SPLITS)
        raise DataFormatError(
            f"data {cfg.name!r}: split(s) {', '.join(empty)} got no example ({sizes}; {total} examples from "
            f"{len({e.user_id for v in splits.values() for e in v})} users). Fix: more users with an eligible "
            f"target (lower data.min_history, now {cfg.min_history}), or set data.split so each fraction gets a user.")


def prepare_data(cfg: DataConfig, out_dir: Path, tokenizer=None) -> PreparedData:
    """Load ``cfg.name``, build examples, split users, write ``splits/{sft,rl,test}.jsonl`` and the data card.

    ``tokenizer`` (the policy's) counts prompt tokens for ``cfg.prompt_token_budget``; without one the
    budget counts ``ceil(chars / 4)``.
    """
    out_dir = Path(out_dir)
    start = time.perf_counter()
    interaction_log = load_log(cfg)
    load_seconds = time.perf_counter() - start

    start = time.perf_counter()
    counter = TokenCounter(tokenizer)
    users = sample_users(interaction_log.users, cfg.max_users, cfg.seed)
    examples, report = build_examples(interaction_log, cfg, users, counter)
    by_user: dict[str, list[Example]] = {}
    for example in examples:
        by_user.setdefault(example.user_id, []).append(example)
    assignment = split_users(list(by_user), cfg.split, cfg.seed)
    splits = {name: [e for user in assignment[name] for e in by_user[user]] for name in SPLITS}
    build_seconds = time.perf_counter() - start
    check_splits(splits, cfg, report, len(users))

    for name, split_examples in splits.items():
        write_split(out_dir / "splits" / f"{name}.jsonl", split_examples)
    card = make_card(interaction_log, cfg, splits, report, counter.name, load_seconds, build_seconds)
    write_card(card, examples, out_dir, cfg.history_len)
    log.info("prepared %s: %s examples (sft/rl/test) → %s", interaction_log.name,
             "/".join(str(len(splits[s])) for s in SPLITS), out_dir)
    return PreparedData(interaction_log, splits, card)
