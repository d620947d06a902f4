"""Pipeline stages: each runs one library call, or reuses its artifact when the same config already ran.

A stage's artifact lives in ``<artifacts_dir>/<stage>/<hash of the config that shapes it>/`` and is reused
when its ``_COMPLETE`` marker exists (see :mod:`rlrec.artifacts`), so ``make run`` twice resumes. The hash
of a stage covers its own config group and those of every stage upstream of it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from pathlib import Path
from typing import Any

from rlrec.artifacts import stage_dir
from rlrec.assets import load_tokenizer
from rlrec.config import Config
from rlrec.data import PreparedData, load_log, load_split, prepare_data
from rlrec.logging import RunLogger, RunLoggerCallback
from rlrec.logging.base import MultiLogger
from rlrec.logging.local import LocalRunLogger

log = logging.getLogger("rlrec")

SPLITS = ("sft", "rl", "test")


def data(config: Config) -> PreparedData:
    """Splits + data card (keyed by the data config and the tokenizer that counts prompt tokens)."""
    stage = stage_dir(config.artifacts_dir, "data", config.data, config.model.policy)
    if stage.done:
        log.info("data: reusing %s", stage.path)
        splits = {name: load_split(stage.path / "splits" / f"{name}.jsonl") for name in SPLITS}
        card = json.loads((stage.path / "data_card.json").read_text())
        return PreparedData(load_log(config.data), splits, card)
    prepared = prepare_data(config.data, stage.path, load_tokenizer(config.model.policy))
    stage.mark_done(**{f"{k}_examples": len(v) for k, v in prepared.splits.items()})
    return prepared


def data_dir(config: Config) -> Path:
    return stage_dir(config.artifacts_dir, "data", config.data, config.model.policy).path


def simulator(config: Config) -> Path:
    """The offline simulator artifact (ESMM CTCVR model, grounding index, clusters, feedback)."""
    from rlrec.simulator import simulator_stage

    return simulator_stage(config)


def distill(config: Config, prepared: PreparedData) -> Path:
    """RUPR (or w/o-RUPR) candidates → leakage screen → PPL filter; returns the folder with sft_data.jsonl."""
    from rlrec.distill import run_distillation

    stage = stage_dir(config.artifacts_dir, "distill_run", config.data, config.distill, config.model.policy, config.seed)
    if not stage.done:
        result = run_distillation(config, prepared.splits["sft"], stage.path)
        stage.mark_done(kept=result.stats.get("kept"), examples=result.stats.get("examples"))
    else:
        log.info("distill: reusing %s", stage.path)
    return stage.path


def sft(config: Config, distill_dir: Path, logger: RunLogger) -> Path:
    """ORFT on the kept samples; returns the checkpoint folder the RL stage starts from."""
    from rlrec.sft import load_sft_records, train_sft

    student = config.sft.model or config.model.policy
    stage = stage_dir(config.artifacts_dir, "sft", config.data, config.distill, config.sft, student, config.seed)
    checkpoint = stage.path / "checkpoint"
    if not stage.done:
        records = load_sft_records(distill_dir / "sft_data.jsonl")
        checkpoint = train_sft(records, student, config.sft, stage.path, config.seed, config.model.dtype,
                               callbacks=[RunLoggerCallback(logger, prefix="sft/")])
        stage.mark_done(samples=len(records))
    else:
        log.info("sft: reusing %s", stage.path)
    return checkpoint


def rl(config: Config, prepared: PreparedData, start_from: str, logger: RunLogger, reward_set: Any) -> Path:
    """GRPO under ``config.weighting`` from ``start_from``; returns the final policy folder.

    The artifact keeps ``metrics.jsonl`` of the training run so a reused stage replays its curves into
    this run's logger (reports and analysis then look the same whether the stage ran or was reused).
    """
    from rlrec.trainers.run import run_rl

    config = dataclasses.replace(config, rl=dataclasses.replace(config.rl, init_from=start_from))
    stage = stage_dir(config.artifacts_dir, "rl", config.data, config.simulator, config.reward, config.rl,
                      config.weighting, config.model, config.seed, _dir_hash_key(start_from))
    final = stage.path / "rl" / "final"
    history = stage.path / "rl_log" / "metrics.jsonl"
    if stage.done:
        log.info("rl: reusing %s", stage.path)
        for line in history.read_text().splitlines():
            row = json.loads(line)
            logger.log({k: v for k, v in row.items() if k != "step"}, row["step"])
        return final
    history.unlink(missing_ok=True)  # a killed earlier attempt left partial curves
    recorder = LocalRunLogger(history.parent)
    final = run_rl(config, prepared.splits["rl"], reward_set.functions, reward_set.names, reward_set.initial_weights,
                   stage.path / "rl", reward_stats=reward_set.pop_stats,
                   callbacks=[RunLoggerCallback(MultiLogger([logger, recorder]))])
    recorder.close()
    stage.mark_done(final=str(final))
    return final


def _param(params: Any, name: str, default: Any = None) -> Any:
    """A reward parameter, whether ``params`` is a plain dict or the reward's composed ``Params`` object."""
    return params.get(name, default) if isinstance(params, dict) else getattr(params, name, default)


def _alignment_terms(config: Config) -> list[Any]:
    """``alignment_score`` terms of the reward set that name no reward-model folder (they need a trained one)."""
    return [t for key, t in config.reward.terms.items()
            if (t.reward or key) == "alignment_score" and not _param(t.params, "path")]


def needs_alignment_model(config: Config) -> bool:
    return bool(_alignment_terms(config))


def alignment_models(config: Config, run_dir: Path) -> dict[str, Path]:
    """The seed-003 alignment reward models (mode → best checkpoint) for the reward set's ``alignment_score``
    terms: trained by :func:`rlrec.alignment.stages.train_alignment` (cached by config; the novelty model is
    skipped), report in ``<run_dir>/alignment``."""
    from rlrec.alignment.stages import train_alignment

    out = run_dir / "alignment"
    out.mkdir(parents=True, exist_ok=True)
    metrics = train_alignment(config, out, novelty=False)
    return {mode: Path(r["checkpoint"]) for mode, r in metrics["reward_model"].items()}


def with_alignment_models(config: Config, checkpoints: dict[str, Path]) -> Config:
    """``config`` whose path-less ``alignment_score`` terms load the checkpoint of their ``mode`` (so the reward
    does not look the model up again, and the run's config.yaml names the model it used)."""
    needing = {id(t) for t in _alignment_terms(config)}
    terms = {}
    for key, term in config.reward.terms.items():
        if id(term) in needing:
            mode = _param(term.params, "mode", "pointwise")
            if mode not in checkpoints:
                raise ValueError(
                    f"reward.terms.{key}.params.mode={mode!r} but alignment.reward_model.modes trains only "
                    f"{sorted(checkpoints)}: add {mode!r} to alignment.reward_model.modes or change the term's mode"
                )
            path = str(checkpoints[mode])
            params = ({**term.params, "path": path} if isinstance(term.params, dict)
                      else dataclasses.replace(term.params, path=path))
            term = dataclasses.replace(term, params=params)
        terms[key] = term
    return dataclasses.replace(config, reward=dataclasses.replace(config.reward, terms=terms))


def evaluate(config: Config, prepared: PreparedData, models: dict[str, str], simulator_dir: Path, run_dir: Path,
             logger: RunLogger) -> dict:
    """Table 1/3 metrics with bootstrap CIs for each ``label → checkpoint`` on the test split.

    The last label is the run's final model: its scores become the run's objective vector. Each model's
    evaluation is an artifact keyed by the checkpoint (path + file sizes/mtimes), the eval/data/model config and
    the seed, so the runs of a sweep evaluate the shared base and SFT models once.
    """
    from rlrec.assets import load_embedder
    from rlrec.eval.results import read_result
    from rlrec.eval.session import open_simulator, run_evaluation, summary_values

    config = dataclasses.replace(config, eval=dataclasses.replace(config.eval, simulator=str(simulator_dir)))
    embedder = sim = None
    results = {}
    labels = list(models)
    for label, checkpoint in models.items():
        cfg = dataclasses.replace(config, eval=dataclasses.replace(config.eval, checkpoint=str(checkpoint), label=label))
        final = label == labels[-1]
        stage = stage_dir(config.artifacts_dir, "eval", config.data, dataclasses.replace(cfg.eval, checkpoint=None),
                          config.model, config.seed, _dir_hash_key(str(checkpoint)), _dir_hash_key(str(simulator_dir)))
        if stage.done:
            log.info("evaluate %s: reusing %s", label, stage.path)
            results[label] = read_result(stage.path / "eval" / label)
            logger.summary(summary_values(results[label], config.eval.objectives, final))
        else:
            if embedder is None:
                embedder = load_embedder(config.model.embedder)
                sim = open_simulator(config, prepared.log.catalog, embedder)
            results[label] = run_evaluation(cfg, prepared.splits["test"], prepared.log.catalog,
                                            prepared.log.interactions(), stage.path, logger, label=label, final=final,
                                            embedder=embedder, simulator=sim)
            stage.mark_done(checkpoint=str(checkpoint))
        shutil.copytree(stage.path / "eval" / label, run_dir / "eval" / label, dirs_exist_ok=True)
    return results


def copy_into(run_dir: Path, files: dict[str, Path]) -> None:
    """Copy stage outputs (cards, plots) into the run dir so the report links stay inside it."""
    for name, src in files.items():
        if src.exists():
            shutil.copy2(src, run_dir / name)


def _dir_hash_key(path: str) -> str:
    """A model folder is identified by its path plus its config/weights sizes+mtimes (cheap, changes on rewrite)."""
    p = Path(path)
    if not p.exists():
        return path
    parts = [path] + [f"{f.name}:{f.stat().st_size}:{int(f.stat().st_mtime)}" for f in sorted(p.glob("*")) if f.is_file()]
    return "|".join(parts)
