"""``alignment_score`` (seed 003 §4.1): a trained alignment reward model's sigmoid score of an answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rewards.core.base import Reward, RewardError, register_reward
from rewards.core.grounding import make_grounder
from rewards.core.params import RewardParams
from rlrec.answer import ParsedAnswer
from rlrec.registry import RegistryError


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Elementwise logistic function [N] → (0, 1), stable for large |x|."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=np.float64)))


def finest_category(categories: Sequence[str]) -> str:
    """The deepest non-empty category ("" when none)."""
    return next((c for c in reversed(list(categories)) if c), "")


def recent_distinct(labels: Sequence[str], k: int) -> list[str]:
    """The last ``k`` distinct labels of a most-recent-first sequence, returned oldest first."""
    out: list[str] = []
    for label in labels:
        if label and label not in out:
            out.append(label)
            if len(out) == k:
                break
    return out[::-1]


@register_reward("alignment_score",  # higher_is_better=True, range=(0, 1): the defaults
                 description="seed 003: sigmoid of the alignment reward model's score of (user's recent clusters, answer)")
class AlignmentScore(Reward):
    """sigmoid(RM(context, candidate)) with RM any saved ``AutoModelForSequenceClassification`` (num_labels=1),
    e.g. the checkpoint ``experiments/train_alignment.py`` writes.

    Inputs are rendered by :func:`rlrec.alignment.text.alignment_input`, the one rendering the model is trained
    on. ``context``: the names of the user's last ``context_len`` distinct interest clusters (``clusters``,
    from the simulator) or finest categories (``categories``, from the catalogue), oldest first.
    ``candidate``: the answer's cluster name (``cluster``: answer grounded by the simulator), its finest
    category (``category``) or its item text (``item``; outside the RM's training distribution).
    Unparseable: None (no answer to score).
    """

    columns = ("history_item_ids",)

    @dataclass
    class Params(RewardParams):
        unparseable_value: float | None = None
        path: str | None = None  # the reward-model folder; None = the one train_alignment saved for this config
        mode: str = "pointwise"  # with path=None: which trained reward model (pointwise | pairwise)
        context: str = "clusters"  # clusters | categories
        candidate: str = "cluster"  # cluster | category | item
        context_len: int | None = None  # K; None = alignment.context_len
        batch_size: int = 32
        max_length: int | None = 128  # tokens per input, truncated from the left (the candidate survives)
        simulator: str | None = None  # cluster modes: simulator folder; None = the newest one built for this catalogue

        def __post_init__(self) -> None:
            if self.context not in ("clusters", "categories"):
                raise ValueError(f"alignment_score.context must be 'clusters' or 'categories', got {self.context!r}")
            if self.candidate not in ("cluster", "category", "item"):
                raise ValueError(
                    f"alignment_score.candidate must be 'cluster', 'category' or 'item', got {self.candidate!r}"
                )

    @classmethod
    def requires(cls, params: Params) -> tuple[str, ...]:
        """A term without ``path`` needs the run's trained alignment reward models (the ``alignment_models``
        stage: mode → checkpoint)."""
        return () if getattr(params, "path", None) else ("alignment_models",)

    def __init__(self, params: Params | None = None, resources: Any = None, *, term: str | None = None) -> None:
        super().__init__(params, resources, term=term)
        p = self.params
        path = p.path or self._trained_path(resources, p.mode)
        self.model, self.tokenizer = resources.sequence_classifier(path)
        self.context_len = p.context_len or resources.config.alignment.context_len
        uses_simulator = p.context == "clusters" or p.candidate == "cluster"
        self.simulator = resources.simulator(p.simulator) if uses_simulator else None
        self.grounder = make_grounder(resources, self.simulator) if p.candidate == "cluster" else None
        self.catalog = resources.catalog() if p.context == "categories" else None

    @staticmethod
    def _trained_path(resources: Any, mode: str) -> str:
        """The run's ``alignment_models`` product for ``mode``, else the reward model ``experiments.train_alignment``
        trained for the run's config."""
        from rlrec.alignment.stages import trained_reward_model

        trained = resources.product("alignment_models")
        if trained is not None:
            if mode not in trained:
                raise RewardError(f"reward 'alignment_score': params.mode={mode!r} but alignment.reward_model.modes "
                                  f"trains only {sorted(trained)}: add {mode!r} to alignment.reward_model.modes or "
                                  "change the term's mode")
            return str(trained[mode])
        try:
            return str(trained_reward_model(resources.config, mode))
        except (FileNotFoundError, RegistryError) as err:
            raise RewardError(f"reward 'alignment_score': {err}") from err

    def scorable(self, parsed: ParsedAnswer) -> bool:
        if self.params.candidate == "category":
            return bool(finest_category(parsed.categories))
        return bool(parsed.item_text().strip())

    def score(self, prompts: list[Any], parsed: list[ParsedAnswer], columns: dict[str, list[Any]]) -> Sequence[float]:
        from rlrec.alignment.reward_model import score_texts
        from rlrec.alignment.text import alignment_input

        contexts = [self._context(list(h or [])) for h in columns["history_item_ids"]]
        candidates = self._candidates(parsed)
        texts = [alignment_input(c, x) for c, x in zip(contexts, candidates)]
        raw = score_texts(self.model, self.tokenizer, texts, self.params.batch_size, self.params.max_length)  # [N]
        return sigmoid(raw).tolist()

    def _context(self, history: list[str]) -> list[str]:
        if self.params.context == "categories":
            labels = [finest_category(self.catalog[h].categories) if h in self.catalog else "" for h in history]
            return recent_distinct(labels, self.context_len)
        return self._cluster_context(history)

    def _candidates(self, parsed: list[ParsedAnswer]) -> list[str]:
        if self.params.candidate == "category":
            return [finest_category(p.categories) for p in parsed]
        if self.params.candidate == "item":
            return [p.item_text() for p in parsed]
        return self._cluster_candidates(parsed)

    def _cluster_context(self, history: list[str]) -> list[str]:
        """Names of the user's last K distinct clusters, as the simulator builds feedback contexts (oldest first,
        or sorted by id when the simulator uses unordered contexts); fewer than K when the history has fewer."""
        clusters = self.simulator.clusters
        picked = recent_distinct([str(c) for c in clusters.sequence(history)[::-1]], self.context_len)  # oldest first
        ids = [int(c) for c in picked]
        if not self.simulator.meta.get("config", {}).get("ordered_context", True):
            ids = sorted(ids)
        return [clusters.names[c] for c in ids]

    def _cluster_candidates(self, parsed: list[ParsedAnswer]) -> list[str]:
        item_ids, _, _ = self.grounder.ground_top1([p.item_text() for p in parsed])
        return [self.simulator.clusters.names[c] if c >= 0 else "" for c in self.simulator.clusters.of(item_ids).tolist()]
