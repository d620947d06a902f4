"""The novelty model (seed 003 §3): given the names of a user's last K interest clusters, name one cluster the
user has not engaged with. Light SFT of the policy LM on novel transitions mined from histories, then a
precomputed transition table over the observed K-cluster sequences (how the paper serves it: no LLM online).

Cluster sequences are lists of cluster ids per user, chronological (the simulator's
``clusters.sequence(history_item_ids)``); consecutive repeats are collapsed first, so "bought three dairy
items in a row" is one visit to the dairy cluster. A user's context is the simulator's: the last K *distinct*
clusters, in order of their last visit, oldest first (or sorted, when the simulator's contexts are sets) —
the same contexts the collective feedback is aggregated over.
"""

from __future__ import annotations

import difflib
import json
import logging
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rlrec.alignment.text import novelty_prompt
from rlrec.config import NoveltyConfig, SFTConfig

log = logging.getLogger(__name__)


def collapse(sequence: Sequence[str]) -> list[str]:
    """Drop consecutive repeats: ``[a, a, b, a] → [a, b, a]``."""
    return [c for i, c in enumerate(sequence) if i == 0 or c != sequence[i - 1]]


def user_context(sequence: Sequence[str], k: int, ordered: bool = True) -> tuple[str, ...] | None:
    """The last ``k`` distinct clusters of a chronological sequence (oldest first, or sorted when not
    ``ordered``); None when it has fewer than ``k`` distinct clusters."""
    picked: list[str] = []
    for c in reversed(sequence):
        if c not in picked:
            picked.append(c)
            if len(picked) == k:
                return tuple(reversed(picked)) if ordered else tuple(sorted(picked))
    return None


@dataclass(frozen=True)
class NovelTransition:
    user_id: str
    context: tuple[str, ...]  # K cluster ids, oldest first
    next_id: str  # a cluster absent from everything the user did before it


def mine_novel_transitions(
    sequences: Mapping[str, Sequence[str]], k: int, ordered: bool = True
) -> tuple[list[NovelTransition], Counter]:
    """Every position t of every collapsed sequence whose cluster was never visited before t and that has a
    context (``k`` distinct clusters before t). The counter says how many positions were not novel."""
    found, counts = [], Counter()
    for user in sorted(sequences):
        seq = collapse(sequences[user])
        seen: set[str] = set()
        usable = False
        for t, cluster in enumerate(seq):
            context = user_context(seq[:t], k, ordered) if len(seen) >= k else None
            if context is not None:
                usable = True
                if cluster in seen:
                    counts["not_novel"] += 1
                else:
                    found.append(NovelTransition(user, context, cluster))
                    counts["novel"] += 1
            seen.add(cluster)
        if not usable:
            counts["user_too_short"] += 1
    return found, counts


def sample_transitions(transitions: Sequence[NovelTransition], n: int, seed: int = 0) -> list[NovelTransition]:
    """A seeded sample of at most ``n`` transitions, at most one per user first (breadth over users), then the
    rest at random — the paper keeps this set small and broad."""
    rng = np.random.default_rng(seed)
    order = [transitions[i] for i in rng.permutation(len(transitions))]
    firsts, rest, seen = [], [], set()
    for t in order:
        (rest if t.user_id in seen else firsts).append(t)
        seen.add(t.user_id)
    return (firsts + rest)[:n]


def sft_records(transitions: Sequence[NovelTransition], names: Mapping[str, str]) -> list[dict[str, Any]]:
    """TRL conversational prompt-completion records: last-K cluster names → the next novel cluster's name."""
    return [
        {
            "prompt": novelty_prompt([names[c] for c in t.context]),
            "completion": [{"role": "assistant", "content": names[t.next_id]}],
        }
        for t in transitions
    ]


def train_novelty_model(
    records: Sequence[dict[str, Any]], base_model: str, config: NoveltyConfig, out_dir: Path, seed: int, dtype: str
) -> Path:
    """Light SFT (TRL ``SFTTrainer`` through :func:`rlrec.sft.train_sft`, completion-only loss); returns the
    checkpoint folder."""
    from rlrec.sft import train_sft

    sft = SFTConfig(
        epochs=config.epochs,
        learning_rate=config.learning_rate,
        batch_size=config.batch_size,
        logging_steps=config.logging_steps,
        max_length=256,
        lr_scheduler="linear",
        bf16=dtype == "bfloat16",
    )
    return train_sft(records, base_model, sft, out_dir, seed=seed, dtype=dtype)


# ------------------------------------------------------------------------------------- parse + serve


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


class ClusterMatcher:
    """Maps generated text to a cluster id: the first line, case/punctuation-insensitive exact match on the
    name, else the closest name by ``difflib`` ratio >= ``cutoff``; None (counted) when nothing is close."""

    def __init__(self, names: Mapping[str, str], cutoff: float = 0.6) -> None:
        self.by_norm = {_norm(name): cid for cid, name in names.items()}
        self.cutoff = cutoff
        self.counts: Counter = Counter()

    def __call__(self, text: str) -> str | None:
        lines = [line for line in text.strip().splitlines() if line.strip()]
        key = _norm(lines[0]) if lines else ""
        if key in self.by_norm:
            self.counts["exact"] += 1
            return self.by_norm[key]
        close = difflib.get_close_matches(key, list(self.by_norm), n=1, cutoff=self.cutoff) if key else []
        self.counts["fuzzy" if close else "unmatched"] += 1
        return self.by_norm[close[0]] if close else None


def sample_candidates(
    model: Any,
    tokenizer: Any,
    contexts: Sequence[tuple[str, ...]],
    names: Mapping[str, str],
    n: int,
    generation: Any,
    matcher: ClusterMatcher,
) -> dict[tuple[str, ...], list[str | None]]:
    """``n`` independent samples per context from the novelty model, each mapped to a cluster id (None when the
    text names no cluster). ``generation`` is a :class:`rlrec.generation.GenerationConfig` (its
    ``num_return_sequences`` is overridden by ``n``)."""
    from dataclasses import replace

    from rlrec.generation import generate

    prompts = [novelty_prompt([names[c] for c in ctx]) for ctx in contexts]
    texts = generate(model, tokenizer, prompts, replace(generation, num_return_sequences=n))
    return {ctx: [matcher(t) for t in samples] for ctx, samples in zip(contexts, texts)}


@dataclass
class TransitionTable:
    """Precomputed served clusters per observed K-cluster sequence (seed 003 §3: looked up, never generated
    online). ``served[context]`` lists cluster ids, best first."""

    context_len: int  # K
    served: dict[tuple[str, ...], list[str]] = field(default_factory=dict)

    def lookup(self, context: tuple[str, ...]) -> list[str]:
        """Served clusters for a context; [] for a sequence that was not precomputed."""
        return self.served.get(tuple(context), [])

    def save(self, path: str | Path) -> None:
        rows = [{"context": list(c), "served": s} for c, s in sorted(self.served.items())]
        Path(path).write_text(json.dumps({"context_len": self.context_len, "rows": rows}, indent=1))

    @classmethod
    def load(cls, path: str | Path) -> TransitionTable:
        data = json.loads(Path(path).read_text())
        return cls(data["context_len"], {tuple(r["context"]): list(r["served"]) for r in data["rows"]})
