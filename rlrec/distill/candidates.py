"""Generate k candidate CoTs per example into the resumable store, then screen them.

Store key: (example_id, candidate_index, teacher, prompt_hash). A rerun computes the same keys, skips the
stored ones and asks the teacher only for the rest; screening (leakage, empty CoT, unparseable answer)
runs on the stored raw text, so changing the patterns never needs a new generation.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tqdm.auto import tqdm

from rlrec.config import DistillConfig
from rlrec.distill.leakage import LeakageCheck
from rlrec.distill.prompts import ExampleLike, Screened, distillation_prompt, prompt_hash, screen
from rlrec.distill.store import JsonlStore
from rlrec.distill.teachers import Teacher

log = logging.getLogger(__name__)

KEY_FIELDS = ("example_id", "candidate_index", "teacher", "prompt_hash")


@dataclass(frozen=True)
class WorkUnit:
    example: ExampleLike
    candidate_index: int
    prompt: str
    prompt_hash: str

    def key(self, teacher: str) -> tuple[str, int, str, str]:
        return (self.example.example_id, self.candidate_index, teacher, self.prompt_hash)


def work_units(examples: Sequence[ExampleLike], config: DistillConfig) -> list[WorkUnit]:
    """``len(examples) * k`` units; the k units of one example share a prompt."""
    units = []
    for example in examples:
        prompt = distillation_prompt(example, config.rupr, config.rupr_template, config.direct_template)
        digest = prompt_hash(prompt)
        units += [WorkUnit(example, i, prompt, digest) for i in range(config.num_candidates)]
    return units


def open_store(path) -> JsonlStore:
    return JsonlStore(path, KEY_FIELDS)


@dataclass
class GenerationReport:
    requested: int  # units for these examples
    reused: int  # already in the store (finished by an earlier run)
    generated: int  # produced by this run
    seconds: float


def generate_candidates(
    examples: Sequence[ExampleLike], teacher: Teacher, store: JsonlStore, config: DistillConfig, progress: bool = True
) -> GenerationReport:
    """Ask ``teacher`` for every unit not yet in ``store``; each finished candidate is appended at once."""
    units = work_units(examples, config)
    pending = [u for u in units if u.key(teacher.name) not in store]
    log.info("distill: %d candidates, %d already stored, %d to generate with %s",
             len(units), len(units) - len(pending), len(pending), teacher.name)
    start = time.perf_counter()
    generated = 0
    with tqdm(total=len(pending), desc=f"distill ({teacher.name})", disable=not progress) as bar:
        for index, text in teacher.complete([u.prompt for u in pending]):
            unit = pending[index]
            store.append({
                "example_id": unit.example.example_id,
                "candidate_index": unit.candidate_index,
                "teacher": teacher.name,
                "prompt_hash": unit.prompt_hash,
                "rupr": config.rupr,
                "raw": text,
                "time": time.time(),
            })
            generated += 1
            bar.update(1)
    return GenerationReport(len(units), len(units) - len(pending), generated, time.perf_counter() - start)


@dataclass
class Candidate:
    """One stored candidate of one example, screened."""

    example: ExampleLike
    candidate_index: int
    screened: Screened
    record: dict[str, Any]
    ppl: float | None = None
    kept: bool = False


@dataclass
class ScreenReport:
    total: int = 0
    missing: int = 0  # units with no stored candidate (generation interrupted)
    status: Counter = field(default_factory=Counter)  # CandidateStatus value -> count
    leak_patterns: Counter = field(default_factory=Counter)


def screen_candidates(
    examples: Sequence[ExampleLike], teacher_name: str, store: JsonlStore, config: DistillConfig
) -> tuple[list[Candidate], ScreenReport]:
    """Every stored candidate of ``examples`` from ``teacher_name``, screened; rejections are counted by kind."""
    leakage = LeakageCheck(config.leakage_patterns)
    report = ScreenReport()
    out: list[Candidate] = []
    for unit in work_units(examples, config):
        record = store.get(unit.key(teacher_name))
        report.total += 1
        if record is None:
            report.missing += 1
            continue
        screened = screen(record["raw"], unit.example, config.rupr, leakage, config.min_cot_chars,
                          config.max_ngram_repeats, cut_truncated=config.cut_truncated_cot)
        report.status[screened.status.value] += 1
        out.append(Candidate(unit.example, unit.candidate_index, screened, record))
    report.leak_patterns = Counter(leakage.hits)
    return out, report
