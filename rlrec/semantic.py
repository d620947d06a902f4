"""Taiji Eq. 3, the one definition of semantic cosine: the ``semantic_cosine`` reward
(``rewards/semantic_cosine.py``) and the ``Semantic_Cosine`` evaluation metric (``rlrec.eval``) both call
:func:`semantic_cosine`, so training and test measure the same thing under one name.

    r_s = CosineSim(e_pred, e_gt),  e_pred = Emb(text inside <answer>…</answer>),  e_gt = Emb(target item text)

Pure numpy (no model imports): the caller passes the embedding function.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rlrec.answer import ParsedAnswer

__all__ = ["semantic_cosine", "semantic_cosine_text", "target_text", "rowwise_cosine", "encodable_texts"]

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def encodable_texts(texts: Sequence[str]) -> tuple[list[str], int]:
    """``texts`` as an embedder's tokenizer accepts them, and how many had to be changed.

    A lone surrogate (U+D800–U+DFFF: half of a UTF-16 pair, e.g. from text decoded with ``surrogateescape`` or cut
    mid-pair) cannot be encoded as UTF-8, and the tokenizer raises ``TypeError: TextEncodeInput must be …``.
    Each is replaced by U+FFFD (the replacement character) so the rest of the text still embeds.
    """
    out, changed = [], 0
    for text in texts:
        clean = _LONE_SURROGATE.sub("\ufffd", text)
        changed += clean != text
        out.append(clean)
    return out, changed


def semantic_cosine_text(parsed: ParsedAnswer) -> str:
    """What Taiji Eq. 3 embeds for a completion (``e_pred``): the answer as generated, "extracted from the
    <answer>…</answer> tags" (``parsed.answer_text``; an untagged answer's best span); "" when there is none."""
    return parsed.answer_text.strip()


def target_text(value: Any) -> str:
    """The target item text Eq. 3 embeds (``e_gt``), or "" when there is none: None, a float NaN (what a dataframe
    or ``datasets`` column holds for a missing value) and blank strings are missing, never the text "None" / "nan"."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = str(value)
    return text if text.strip() else ""


def rowwise_cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """cos(a_i, b_i) ``[N]`` for rows ``a [N, D]``, ``b [N, D]`` (re-normalised here), clipped to [-1, 1]."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return np.clip(np.einsum("nd,nd->n", a, b), -1.0, 1.0)


def semantic_cosine(
    embed: Callable[[list[str]], np.ndarray], parsed: Sequence[ParsedAnswer], targets: Sequence[str]
) -> np.ndarray:
    """Taiji Eq. 3, the one definition behind the ``semantic_cosine`` reward and the ``Semantic_Cosine``
    metric: ``r_s = CosineSim(Emb(answer), Emb(target item text))`` per completion, ``[M]``.

    ``embed(texts [2A]) -> [2A, D]`` gets the A answered completions' :func:`semantic_cosine_text` followed by
    their targets, in one call (the reward passes its embedding cache, the evaluation an encoder that encodes
    each distinct string once). NaN where there is no answer text or no target text (:func:`target_text`;
    nothing to compare): the reward reports None there, the evaluation 0 (an unanswered completion recommends
    nothing).
    """
    if len(parsed) != len(targets):
        raise ValueError(f"semantic_cosine: {len(parsed)} completions but {len(targets)} targets")
    answers = [semantic_cosine_text(p) for p in parsed]
    gold = [target_text(t) for t in targets]
    answered = [i for i, a in enumerate(answers) if a and gold[i]]
    out = np.full(len(parsed), np.nan)
    if answered:
        vectors = np.asarray(embed([answers[i] for i in answered] + [gold[i] for i in answered]))  # [2A, D]
        out[answered] = rowwise_cosine(vectors[: len(answered)], vectors[len(answered) :])
    return out
