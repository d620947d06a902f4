"""``judge`` (RecGPT §3.1): an LLM-as-judge rubric reward — relevance, consistency, specificity, validity."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rewards.core.base import Reward, prompt_text, register_reward
from rewards.core.params import RewardParams
from rewards.judging.backends import JUDGE_BACKENDS
from rewards.judging.rubric import CRITERIA, aggregate, judge_messages, parse_verdicts
from rlrec.answer import ParsedAnswer


@register_reward("judge",  # higher_is_better=True, range=(0, 1): the defaults
                 description="RecGPT LLM-as-judge rubric: share of criteria (relevance, consistency, specificity, validity) passed")
class Judge(Reward):
    """An LLM judges (user context = the prompt, recommended item = the parsed answer) against RecGPT's
    item-tag rubric with a Yes/No verdict per criterion; the reward is the share of criteria passed
    (``aggregate: mean``) or 1 only when all pass (``all``, RecGPT's "qualified"). The target item is not
    shown: the judge rates the recommendation as RecGPT's judge does, without the ground truth.

    Backends (``backend``): ``openai`` — any OpenAI-compatible chat endpoint at ``base_url`` (timeouts,
    retries with exponential backoff, bounded concurrency, an error naming the URL when it stays down);
    ``hf`` — a local causal LM (``model``: ``embedded:smollm2``, a folder or an id). Identical (context,
    answer) pairs are judged once (LRU of ``cache_size``).

    Unparseable answer: 0 (it fails Validity). Unreadable verdict, or a request given up on with
    ``on_error: none``: None; both counted (``judge_unreadable``, ``judge_failures``).
    """

    @dataclass
    class Params(RewardParams):
        unparseable_value: float | None = 0.0
        backend: str = "openai"  # openai | hf
        model: str = "Qwen/Qwen3-8B"  # endpoint model name (openai) or model path / id (hf)
        base_url: str = "http://127.0.0.1:8000/v1"  # openai: server root, e.g. a local `vllm serve`
        api_key_env: str | None = "OPENAI_API_KEY"  # NAME of the env var holding the key (never the key)
        timeout_s: float = 60.0
        max_retries: int = 4
        backoff_s: float = 1.0  # first retry delay; doubles per retry (with jitter)
        backoff_max_s: float = 30.0
        concurrency: int = 8  # requests in flight at most
        on_error: str = "raise"  # raise | none (score None and count it)
        temperature: float = 0.0
        max_tokens: int = 128
        dtype: str = "float32"  # hf backend
        batch_size: int = 8  # hf backend: prompts per generate() call
        criteria: list[str] = field(default_factory=lambda: list(CRITERIA))
        aggregate: str = "mean"  # mean | all
        cache_size: int = 10_000

        def __post_init__(self) -> None:
            unknown = [c for c in self.criteria if c not in CRITERIA]
            if unknown or not self.criteria:
                raise ValueError(f"judge.criteria must be a non-empty subset of {list(CRITERIA)}, got {self.criteria}")
            if self.aggregate not in ("mean", "all"):
                raise ValueError(f"judge.aggregate must be 'mean' or 'all', got {self.aggregate!r}")

    def __init__(self, params: Params | None = None, resources: Any = None, *, term: str | None = None) -> None:
        super().__init__(params, resources, term=term)
        self.backend = JUDGE_BACKENDS.get(self.params.backend)(self.params, resources)
        self._cache: OrderedDict[tuple[str, str], float] = OrderedDict()  # LRU of readable verdicts
        self._unreadable = 0

    def score(self, prompts: list[Any], parsed: list[ParsedAnswer], columns: dict[str, list[Any]]) -> Sequence[float | None]:
        keys = [(prompt_text(p), a.item_text()) for p, a in zip(prompts, parsed)]
        found = {}
        for key in dict.fromkeys(keys):
            if key in self._cache:
                self._cache.move_to_end(key)
                found[key] = self._cache[key]
        todo = [k for k in dict.fromkeys(keys) if k not in found]
        if todo:
            replies = self.backend.complete([judge_messages(c, a, self.params.criteria) for c, a in todo])
            for key, reply in zip(todo, replies):
                found[key] = self._value(reply)
                if found[key] is not None:  # failures are not cached: the next step asks again
                    self._remember(key, found[key])
        return [found[k] for k in keys]

    def _value(self, reply: str | None) -> float | None:
        if reply is None:  # request given up on (on_error=none); counted by the backend
            return None
        verdicts = parse_verdicts(reply, self.params.criteria)
        if verdicts is None:
            self._unreadable += 1
            return None
        return aggregate(verdicts, self.params.aggregate)

    def _remember(self, key: tuple[str, str], value: float) -> None:
        self._cache[key] = value
        self._cache.move_to_end(key)
        while len(self._cache) > self.params.cache_size:
            self._cache.popitem(last=False)

    def extra_stats(self) -> dict[str, float]:
        out = {
            "judge_unreadable": float(self._unreadable),
            "judge_failures": float(getattr(self.backend, "failures", 0)),
            "judge_retries": float(getattr(self.backend, "retries", 0)),
        }
        self._unreadable = 0
        if hasattr(self.backend, "failures"):
            self.backend.failures = 0
            self.backend.retries = 0
        return out
