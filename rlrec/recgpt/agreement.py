"""Judge-human agreement (RecGPT §4.3, Table 9): ACC / precision / recall / F1 of the judge's verdict against a
human one, from a labelled JSONL file.

File format (one JSON object per line; ``docs/results/recgpt/README.md``)::

    {"id": "u1#3", "task": "item_tags", "human": {"relevance": "Yes", "specificity": "No"},
     "judge": {"relevance": "Yes", "specificity": "Yes"}}
    {"id": "u2#7", "task": "explanations", "human": "Good", "judge": "Bad"}

``human`` / ``judge`` is one label or a mapping criterion → label. Labels: binary ``Yes`` / ``No`` (also true /
false, 1 / 0, pass / fail), where only Yes passes, or multi-level ``Excellent`` / ``Good`` / ``Bad``, where
Excellent and Good pass (§4.3). A mapping passes only when every criterion passes ("qualified"); when the two
mappings name different criteria, the criteria both name are compared. The positive class is "qualified".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["Agreement", "passes", "agreement", "agreement_file", "AgreementFileError"]



class AgreementFileError(ValueError):
    """A labelled file line that cannot be read (the message names the file, line and fix)."""


def _label(value: Any) -> bool:
    """One label, read with the judge reward's own vocabulary (``rewards.judging.rubric.verdict``)."""
    from rewards.judging.rubric import verdict

    label = verdict(value)
    if label is not None:
        return label
    raise ValueError(f"unknown label {value!r} (use Yes / No, or Excellent / Good / Bad)")


def passes(labels: Any, criteria: Iterable[str] | None = None) -> bool:
    """Whether one label, or every label of a criterion mapping (restricted to ``criteria``), passes."""
    if isinstance(labels, Mapping):
        keys = [k for k in labels if criteria is None or k in set(criteria)]
        if not keys:
            raise ValueError(f"no criterion to compare in {dict(labels)}")
        return all(_label(labels[k]) for k in keys)
    return _label(labels)


@dataclass(frozen=True)
class Agreement:
    n: int
    tp: int  # judge and human: qualified
    fp: int  # judge qualified, human not
    fn: int  # human qualified, judge not
    tn: int

    @property
    def accuracy(self) -> float:
        return (self.tp + self.tn) / self.n if self.n else float("nan")

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r > 0 else float("nan")

    def to_dict(self) -> dict[str, float]:
        return {**asdict(self), "ACC": self.accuracy, "Precision": self.precision, "Recall": self.recall,
                "F1": self.f1}


def agreement(pairs: Iterable[tuple[bool, bool]]) -> Agreement:
    """Confusion counts of ``(judge passed, human passed)`` pairs."""
    tp = fp = fn = tn = 0
    for judge, human in pairs:
        tp += judge and human
        fp += judge and not human
        fn += human and not judge
        tn += not judge and not human
    return Agreement(tp + fp + fn + tn, tp, fp, fn, tn)


def agreement_file(path: str | Path) -> dict[str, dict[str, float]]:
    """Agreement per task (and ``all``) for a labelled JSONL file (module docstring)."""
    path = Path(path)
    by_task: dict[str, list[tuple[bool, bool]]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            human, judge = row["human"], row["judge"]
            shared = set(human) & set(judge) if isinstance(human, Mapping) and isinstance(judge, Mapping) else None
            pair = (passes(judge, shared), passes(human, shared))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            raise AgreementFileError(f"{path}, line {number}: {type(err).__name__}: {err}. Each line needs 'human' "
                                     "and 'judge' labels (Yes/No or Excellent/Good/Bad, or a mapping criterion -> "
                                     "label); see rlrec/recgpt/agreement.py") from None
        by_task.setdefault(str(row.get("task", "all")), []).append(pair)
    out = {task: agreement(pairs).to_dict() for task, pairs in by_task.items()}
    out["all"] = agreement(p for pairs in by_task.values() for p in pairs).to_dict()
    return out
