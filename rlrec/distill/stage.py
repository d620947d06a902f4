"""The distillation stage end to end: generate (resumable) → screen → PPL filter → SFT data + report.

Outputs in ``out_dir``: ``sft_data.jsonl`` (kept samples, TRL prompt-completion records), ``candidates.jsonl``
(every candidate with status, PPL and kept flag), ``distill_stats.json``, ``distill_report.md`` and
``ppl_hist.png``. The raw candidates live in the resumable store (``distill.store`` or a folder under
``artifacts_dir`` keyed by the data config and the teacher's sampling settings), shared by reruns.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rlrec.artifacts import stage_dir
from rlrec.config import Config
from rlrec.distill.candidates import generate_candidates, open_store, screen_candidates
from rlrec.distill.filter import keep_mask, plot_histogram, ppl_threshold, retention, validation_indices
from rlrec.distill.ppl import PPL_KEY_FIELDS, ScoreStats, score_ppl_cached
from rlrec.distill.prompts import ExampleLike, ppl_answer, ppl_context, sft_record
from rlrec.distill.store import JsonlStore
from rlrec.distill.teachers import Teacher, build_teacher

log = logging.getLogger(__name__)


@dataclass
class DistillResult:
    train_file: Path  # sft_data.jsonl: what the SFT stage trains on
    candidates_file: Path
    stats: dict[str, Any]
    report: Path
    histogram: Path | None


def store_path(config: Config) -> Path:
    """``distill.store``, or ``<artifacts_dir>/distill/<hash>/candidates.jsonl`` where the hash covers what
    changes the candidates: the data config and the teacher's backend, model and sampling settings."""
    if config.distill.store:
        return Path(config.distill.store)
    t = config.distill.teacher
    sampling = {"backend": t.backend, "model": t.model, "max_new_tokens": t.max_new_tokens,
                "temperature": t.temperature, "top_p": t.top_p}
    return stage_dir(config.artifacts_dir, "distill", config.data, sampling).path / "candidates.jsonl"


def run_distillation(
    config: Config,
    examples: Sequence[ExampleLike],
    out_dir: str | Path,
    teacher: Teacher | None = None,
    scorer: tuple[Any, Any] | None = None,
    progress: bool = True,
) -> DistillResult:
    """Distil ``distill.num_candidates`` CoTs per example (RUPR or direct), screen them, keep PPL < R.

    ``teacher`` / ``scorer`` (model, tokenizer) override the ones the config names (tests, the pipeline).
    """
    cfg = config.distill
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    examples = list(examples)[: cfg.max_examples] if cfg.max_examples is not None else list(examples)
    if not examples:
        raise ValueError("distill: no examples to distil (is the SFT split empty? check data.split.sft / data.max_users)")

    own_teacher = teacher is None
    teacher = teacher or build_teacher(cfg.teacher)
    with open_store(store_path(config)) as store:
        try:
            gen = generate_candidates(examples, teacher, store, cfg, progress=progress)
        finally:
            if own_teacher:
                teacher.close()
        candidates, screened = screen_candidates(examples, teacher.name, store, cfg)
        store_info = {"path": str(store.path), "records": len(store), "torn_bytes": store.torn_bytes,
                      "duplicates": store.duplicates, "bad_lines": store.bad_lines}
    ok = [c for c in candidates if c.screened.ok]

    ppl_info: dict[str, Any] = {"enabled": cfg.ppl.enabled}
    threshold = None
    if cfg.ppl.enabled and ok:
        from rlrec.generation import render_prompts

        if scorer is None:
            from rlrec.assets import load_causal_lm

            scorer = load_causal_lm(cfg.ppl.scorer or config.model.policy, dtype=config.model.dtype)
        model, tokenizer = scorer
        rendered = render_prompts(tokenizer, [c.example.prompt for c in ok])
        contexts = [ppl_context(r, c.screened.cot) for r, c in zip(rendered, ok)]
        # Eq. 1 scores the ground-truth item in both modes; w/o RUPR it measures how well the CoT points at it.
        answers = [ppl_answer(c.example.target_title, c.example.target_categories) for c in ok]
        stats = ScoreStats()
        # scores are stored beside the candidates: another screen, seed or threshold re-scores nothing it has seen
        with JsonlStore(store_path(config).with_suffix(".ppl.jsonl"), PPL_KEY_FIELDS) as ppl_store:
            values = score_ppl_cached(ppl_store, model.eval(), tokenizer, contexts, answers, cfg.ppl.batch_size,
                                      cfg.ppl.max_length, progress, stats)
        val_idx = validation_indices(len(values), cfg.ppl.validation_size, config.seed)
        threshold = ppl_threshold([values[i] for i in val_idx], cfg.ppl.percentile, cfg.ppl.threshold)
        kept = keep_mask(values, threshold)
        for c, v, k in zip(ok, values, kept):
            c.ppl, c.kept = v, bool(k)
        finite = np.asarray([v for v in values if math.isfinite(v)])
        ppl_info.update({
            "scorer": cfg.ppl.scorer or config.model.policy,
            "percentile": None if cfg.ppl.threshold is not None else cfg.ppl.percentile,
            "fixed_threshold": cfg.ppl.threshold,
            "validation_size": int(len(val_idx)),
            "quantiles": {q: float(np.percentile(finite, q)) for q in (0, 10, 25, 50, 75, 90, 100)} if finite.size else {},
            **dataclasses.asdict(stats),
        })
    else:
        for c in ok:
            c.kept = True
    kept_list = [c for c in ok if c.kept]
    ret = retention([c.example.example_id for c in ok], [c.kept for c in ok], [e.example_id for e in examples],
                    [c.ppl if c.ppl is not None else math.nan for c in ok] if cfg.ppl.enabled else [], threshold)
    ppl_info.update(ret.to_dict())

    train_file = _write_jsonl(out_dir / "sft_data.jsonl", [
        sft_record(c.example, c.screened, candidate_index=c.candidate_index, ppl=c.ppl, teacher=teacher.name)
        for c in kept_list
    ])
    candidates_file = _write_jsonl(out_dir / "candidates.jsonl", [
        {"example_id": c.example.example_id, "candidate_index": c.candidate_index, "status": c.screened.status.value,
         "leak_pattern": c.screened.leak_pattern, "ppl": c.ppl, "kept": c.kept, "cot": c.screened.cot,
         "title": c.screened.title, "categories": list(c.screened.categories), "raw": c.record["raw"]}
        for c in candidates
    ])
    histogram = None
    if cfg.ppl.enabled and ok:
        histogram = plot_histogram([c.ppl for c in ok], threshold, out_dir / "ppl_hist.png",
                                   title=f"PPL of the true answer ({'RUPR' if cfg.rupr else 'w/o RUPR'}, {teacher.name})")
    stats = {
        "mode": "rupr" if cfg.rupr else "direct",
        "teacher": teacher.name,
        "examples": len(examples),
        "k": cfg.num_candidates,
        "generation": dataclasses.asdict(gen),
        "store": store_info,
        "screen": {"total": screened.total, "missing": screened.missing, "status": dict(screened.status),
                   "leak_patterns": dict(screened.leak_patterns)},
        "ppl": ppl_info,
        "sft_samples": len(kept_list),
        "examples_with_samples": len({c.example.example_id for c in kept_list}),
    }
    (out_dir / "distill_stats.json").write_text(json.dumps(stats, indent=1, default=str))
    report = out_dir / "distill_report.md"
    report.write_text(render_report(stats, histogram))
    log.info("distill: %d SFT samples from %d examples (%d candidates; R=%s)", len(kept_list), len(examples),
             len(candidates), threshold)
    return DistillResult(train_file, candidates_file, stats, report, histogram)


def render_report(stats: dict[str, Any], histogram: Path | None) -> str:
    g, s, p = stats["generation"], stats["screen"], stats["ppl"]
    lines = [
        f"# Distillation ({'RUPR' if stats['mode'] == 'rupr' else 'w/o RUPR'})",
        "",
        f"Teacher `{stats['teacher']}`, {stats['examples']} examples × k={stats['k']}.",
        "",
        "| step | count |",
        "|---|---|",
        f"| candidates requested | {g['requested']} |",
        f"| reused from the store | {g['reused']} |",
        f"| generated now ({g['seconds']:.1f} s) | {g['generated']} |",
        f"| missing (interrupted) | {s['missing']} |",
    ]
    lines += [f"| screened: {status} | {count} |" for status, count in sorted(s["status"].items())]
    lines += [f"| leak pattern `{pat}` | {count} |" for pat, count in sorted(s["leak_patterns"].items())]
    if p["enabled"] and p.get("threshold") is not None:
        how = "fixed" if p.get("fixed_threshold") is not None else f"p{p['percentile']:g} of {p['validation_size']} candidates"
        lines += [f"| PPL scored | {p['scored']} |", f"| PPL threshold R ({how}) | {p['threshold']:.4g} |",
                  f"| PPL non-finite | {p['non_finite']} |"]
        if p.get("reused"):
            lines += [f"| PPL read from the score store | {p['reused']} |"]
    lines += [f"| kept (SFT samples) | {stats['sft_samples']} |",
              f"| examples with ≥ 1 sample | {stats['examples_with_samples']} |", ""]
    if p.get("prompts_by_kept_count"):
        lines += ["Prompts by number of kept candidates: "
                  + ", ".join(f"{k} kept: {v}" for k, v in p["prompts_by_kept_count"].items()), ""]
    if histogram is not None:
        lines += [f"![PPL histogram]({histogram.name})", ""]
    return "\n".join(lines)


def _write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path
