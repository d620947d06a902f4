"""Evaluate completions (or a model, by generating them) on test examples: every metric with a bootstrap CI.

Conventions, so numbers are comparable across models:

* All rates are over all test examples. A completion from which neither a title nor any answer text can
  be parsed is *unanswered*: it scores 0 on category accuracy, title hit-rate, CTCVR and semantic cosine
  (it recommends nothing) and is counted in ``Unanswered_Rate`` — never dropped.
* ``Category_L<l>_ACC`` is defined only on examples whose target has level ``l`` (Taiji reports L3 "where
  the data has it"); comparison is case- and whitespace-insensitive.
* ``Title_Hit-Rate@K``: the parsed answer (title + categories) is grounded to the top-K catalogue items
  by the simulator's embedding index; a hit when the target item is among them.
* ``CTCVR``: raw simulated pCTCVR(user, grounded top-1 item) — not min-max normalised, as in Table 1 —
  with the user in the state the prompt showed (its history), so the score never sees the target.
* With ``S > 1`` completions per prompt, each example's value is the mean over its completions, and the
  bootstrap resamples examples (all completions of a drawn example come with it).
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from rlrec.answer import ParsedAnswer, parse_answer
from rlrec.config import EvalConfig, ModelConfig
from rlrec.eval.bootstrap import MetricValue, bootstrap_indices, mean_with_ci
from rlrec.eval.generate import generate_completions
from rlrec.eval.health import CATEGORY_METRICS, Recommendations, health_metrics
from rlrec.eval.metrics import (
    CtcvrScorer,
    Grounder,
    TextEncoder,
    category_accuracy,
    distinct_encode,
    format_flags,
    per_example_mean,
    semantic_cosine,
    title_hits,
)
from rlrec.eval.objectives import RewardObjective, reward_values
from rlrec.eval.results import EvalResult
from rlrec.generation import GenerationConfig
from rlrec.semantic import target_text

__all__ = ["EvalExample", "compute_metrics", "generation_config", "evaluate"]

log = logging.getLogger(__name__)

NO_SIMULATOR = "no simulator (build it: python -m experiments.build_simulator, or set eval.simulator=<artifact dir>)"


class EvalExample(Protocol):
    """The fields of ``rlrec.data.Example`` that evaluation reads."""

    example_id: str
    user_id: str
    prompt: Any
    target_item_id: str
    target_categories: Sequence[str]
    target_text: str
    history_item_ids: Sequence[str]


class CatalogLike(Protocol):
    """The part of ``rlrec.data.schema.Catalog`` that evaluation reads."""

    @property
    def ids(self) -> list[str]: ...

    def __getitem__(self, item_id: str) -> Any: ...


def _flatten(completions: Sequence[Sequence[str]], n: int) -> tuple[list[str], np.ndarray]:
    if len(completions) != n:
        raise ValueError(f"got completions for {len(completions)} prompts but {n} examples: one list per example")
    texts = [str(c) for per in completions for c in per]
    owner = np.array([i for i, per in enumerate(completions) for _ in per], dtype=np.int64)  # [M]
    if any(len(per) == 0 for per in completions):
        raise ValueError("an example has no completions: generate at least one per prompt")
    return texts, owner


def compute_metrics(
    examples: Sequence[EvalExample],
    completions: Sequence[Sequence[str]],
    config: EvalConfig,
    *,
    catalog: CatalogLike | None = None,
    grounder: Grounder | None = None,
    scorer: CtcvrScorer | None = None,
    encoder: TextEncoder | None = None,
    popularity: Mapping[str, float] | None = None,
    label: str | None = None,
    rewards: Sequence[RewardObjective] = (),
) -> EvalResult:
    """All metrics for ``completions [N][S]`` of ``examples [N]``; metrics whose model is missing are skipped.

    ``grounder`` enables Title_Hit-Rate@K (and, with ``catalog``, the health metrics); ``scorer`` with
    ``grounder`` enables CTCVR; ``encoder`` enables Semantic_Cosine; ``popularity`` (item id → count)
    enables Head_Item_Share; each of ``rewards`` adds a metric of its name (:mod:`rlrec.eval.objectives`).
    Each skip is recorded in ``result.skipped`` with the reason.
    """
    n = len(examples)
    texts, owner = _flatten(completions, n)
    parsed: list[ParsedAnswer] = [parse_answer(t) for t in texts]  # [M]
    ex = [examples[i] for i in owner]  # [M] the example of each completion
    indices = bootstrap_indices(n, config.bootstrap_samples, config.seed)  # [R, N], shared by all metrics
    answer_text = [p.item_text().strip() for p in parsed]  # what gets grounded
    answered = np.array([bool(a) for a in answer_text])  # [M]

    values: dict[str, np.ndarray] = dict(format_flags(parsed))  # name → [M]
    values["Unanswered_Rate"] = (~answered).astype(np.float64)
    depth = max((len(e.target_categories) for e in examples), default=0)
    for level in range(1, depth + 1):
        values[f"Category_L{level}_ACC"] = category_accuracy(parsed, [e.target_categories for e in ex], level)

    skipped: dict[str, str] = {}
    if examples and depth == 0:
        skipped["Category_L<n>_ACC"] = "no target has a category (data.category_levels 0 or a catalogue without any)"
    ks = sorted(set(config.hit_ks))
    top1: list[str | None] = [None] * len(texts)
    rows_extra: list[dict[str, Any]] = [{} for _ in texts]
    if grounder is not None:
        where = np.flatnonzero(answered)
        ids, sims = grounder.ground([answer_text[m] for m in where], max(ks)) if where.size else ([], np.zeros((0, 0)))
        grounded: list[list[str]] = [[] for _ in texts]
        for j, m in enumerate(where):
            grounded[m] = [str(i) for i in ids[j]]
            top1[m] = grounded[m][0] if grounded[m] else None
            rows_extra[m] = {"grounded_item": top1[m], "grounded_sim": float(np.asarray(sims)[j, 0]) if top1[m] else None}
        for k in ks:
            values[f"Title_Hit-Rate@{k}"] = title_hits(grounded, [e.target_item_id for e in ex], k)
    else:
        for k in ks:
            skipped[f"Title_Hit-Rate@{k}"] = NO_SIMULATOR
    if grounder is not None and scorer is not None:
        ctcvr = np.zeros(len(texts))  # unanswered: no recommendation, no conversion
        scored = [m for m in range(len(texts)) if top1[m] is not None]
        if scored:
            raw = scorer.ctcvr(
                [ex[m].user_id for m in scored], [top1[m] for m in scored], [list(ex[m].history_item_ids) for m in scored]
            )
            ctcvr[scored] = np.asarray(raw, dtype=np.float64)
        values["CTCVR"] = ctcvr
    else:
        skipped["CTCVR"] = NO_SIMULATOR
    if encoder is not None:
        # Taiji Eq. 3 exactly as the reward computes it. Unanswered (no answer text) scores 0: it recommends nothing.
        # An example without a target text has nothing to compare with: undefined (NaN, left out of the mean,
        # counted in ``counts["missing_target_text"]``, examples), never an embedding of the text "None" / "nan".
        cosine = semantic_cosine(distinct_encode(encoder), parsed, [e.target_text for e in ex])
        no_target = np.array([not target_text(e.target_text) for e in ex], dtype=bool)
        values["Semantic_Cosine"] = np.where(no_target, np.nan, np.nan_to_num(cosine, nan=0.0))
        missing_targets = sum(1 for e in examples if not target_text(e.target_text))
    else:
        skipped["Semantic_Cosine"] = "no embedder given"
    values.update(reward_values(rewards, ex, texts))  # registered rewards, scored as in training

    metrics: dict[str, MetricValue] = {
        name: mean_with_ci(per_example_mean(v, owner, n), indices, config.confidence) for name, v in values.items()
    }
    if grounder is not None and catalog is not None:
        recs = Recommendations.build(
            top1,
            owner,
            [e.user_id for e in examples],
            catalog.ids,
            [(catalog[i].categories or ("",))[0] for i in catalog.ids],
            [e.history_item_ids for e in examples],
        )
        metrics.update(health_metrics(recs, catalog.ids, popularity, config.head_fraction, indices, config.confidence))
        if popularity is None:
            skipped["Head_Item_Share"] = "no item popularity given"
        if not (recs.category >= 0).any():
            for name in CATEGORY_METRICS:
                skipped[name] = "n/a: the catalogue has no categories"
    else:
        skipped["health metrics"] = NO_SIMULATOR if grounder is None else "no catalogue given"

    statuses = Counter(p.status.value for p in parsed)
    counts = {"examples": n, "completions": len(texts), "unanswered": int((~answered).sum())}
    if encoder is not None and missing_targets:
        counts["missing_target_text"] = missing_targets
    counts.update({f"status/{s}": c for s, c in sorted(statuses.items())})
    rows = [
        {
            "example_id": ex[m].example_id,
            "user_id": ex[m].user_id,
            "target_item_id": ex[m].target_item_id,
            "completion": texts[m],
            "status": parsed[m].status.value,
            "title": parsed[m].title,
            "categories": list(parsed[m].categories),
            **{name: float(v[m]) for name, v in values.items()},
            **rows_extra[m],
        }
        for m in range(len(texts))
    ]
    settings = {k: v for k, v in dataclasses.asdict(config).items() if k not in ("checkpoint",)}
    return EvalResult(label or config.label, metrics, counts, skipped, settings, rows, {o.name: o.info for o in rewards})


def generation_config(config: EvalConfig, model: ModelConfig) -> GenerationConfig:
    """Decoding settings for evaluation: eval.* where set, else the model defaults."""
    return GenerationConfig(
        max_new_tokens=config.max_new_tokens or model.max_new_tokens,
        temperature=config.temperature,
        top_p=config.top_p,
        num_return_sequences=config.num_samples,
        batch_size=config.batch_size or model.generation_batch_size,
    )


def evaluate(
    examples: Sequence[EvalExample],
    config: EvalConfig,
    model_config: ModelConfig,
    *,
    model: Any = None,
    tokenizer: Any = None,
    checkpoint: str | None = None,
    **metric_inputs: Any,
) -> EvalResult:
    """Generate completions for ``examples`` and compute every metric.

    The model is the in-memory ``model`` + ``tokenizer`` when given, else ``checkpoint``, ``config.checkpoint`` (or
    ``model_config.policy``) loaded by the ``config.backend`` backend. ``metric_inputs`` are
    :func:`compute_metrics`'s keyword arguments (``catalog``, ``grounder``, ``scorer``, ``encoder``,
    ``popularity``, ``label``, ``rewards``), passed on as they are.
    """
    if config.max_examples is not None:
        examples = list(examples)[: config.max_examples]
    gen = generation_config(config, model_config)
    name = checkpoint or config.checkpoint or model_config.policy
    completions = generate_completions(
        [e.prompt for e in examples],
        gen,
        backend=config.backend,
        name_or_path=name,
        dtype=model_config.dtype,
        model=model,
        tokenizer=tokenizer,
    )
    result = compute_metrics(examples, completions, config, **metric_inputs)
    result.settings.update(model=name if model is None else "<in-memory>", generation=dataclasses.asdict(gen))
    log.info("eval %s: %s", result.label, {k: round(v.value, 4) for k, v in result.metrics.items()})
    return result
