"""The method's stages, declared once for the pipeline and every single-stage entry point
(:mod:`rlrec.stages` runs them: artifact folder keyed by ``key``, complete marker, reuse, timing).

    data ─► simulator ─► [alignment_models, when a reward requires them] ─► rl ─► eval (base / sft / rl)
      └──► distill ─► sft ──────────────────────────────────────────────────┘

Each stage's key covers its own config group and what it reads from upstream (a product folder is keyed by
its path and file stamps, :func:`rlrec.stages.dir_key`). What a stage produced travels in the
:class:`~rlrec.stages.RunContext` (``context.products``), never in the config.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from pathlib import Path
from typing import Any

import rewards
from rlrec.artifacts import MARKER
from rlrec.config import Config
from rlrec.logging import RunLoggerCallback
from rlrec.logging.base import MultiLogger, NullLogger
from rlrec.stages import RunContext, Stage, dir_key, run_stage

log = logging.getLogger("rlrec")

SPLITS = ("sft", "rl", "test")


def context(config: Config, run_dir: Path, logger: Any = None) -> RunContext:
    return RunContext(config, Path(run_dir), logger if logger is not None else NullLogger())


def run(name: str, ctx: RunContext, **kwargs: Any) -> Any:
    """The product of stage ``name`` in this run: already produced, or run / reused (upstream stages first)."""
    if name in ctx.products and not kwargs:
        return ctx.products[name]
    return run_stage(STAGES[name], ctx, STAGES, **kwargs)


def export(ctx: RunContext, name: str, run_dir: Path, names: tuple[str, ...] = ()) -> None:
    """Copy stage ``name``'s artifact files (``names``, or all but the marker) into ``run_dir``, so a single-stage
    entry point's run dir holds what it produced, whether the stage ran or was reused."""
    folder = ctx.folders[name]
    for src in (folder / n for n in names) if names else folder.iterdir():
        if src.name == MARKER or not src.exists():
            continue
        if src.is_dir():
            shutil.copytree(src, run_dir / src.name, dirs_exist_ok=True)
        else:
            shutil.copy2(src, run_dir / src.name)


def reward_set(ctx: RunContext) -> Any:
    """The run's reward set, built once per context after the stages its rewards require have run."""
    # what the rewards require, and the data and simulator every reward set may read (the run's own)
    for need in (*rewards.requirements(ctx.config), "data", "simulator"):
        run(need, ctx)
    return ctx.shared("reward_set", lambda: rewards.build_reward_set(ctx.config, resources(ctx)))


def resources(ctx: RunContext) -> Any:
    """What rewards read from the run: its stage products, and the context's embedder and simulator (so each heavy
    model is loaded once per process, whoever asks)."""
    from rewards.core.resources import embedder_key

    res = rewards.Resources(ctx.config, products=ctx.products)
    res.provide(embedder_key(ctx.config.model.embedder), ctx.embedder())
    if "simulator" in ctx.products and "data" in ctx.products:
        res.provide("simulator", ctx.simulator())
    return res


# ------------------------------------------------------------------------------------------------ data


def _data_run(ctx: RunContext, folder: Path) -> Any:
    from rlrec.assets import load_tokenizer
    from rlrec.data import prepare_data

    return prepare_data(ctx.config.data, folder, load_tokenizer(ctx.config.model.policy))


def _data_load(ctx: RunContext, folder: Path) -> Any:
    from rlrec.data import PreparedData, load_log, load_split

    splits = {name: load_split(folder / "splits" / f"{name}.jsonl") for name in SPLITS}
    return PreparedData(load_log(ctx.config.data), splits, json.loads((folder / "data_card.json").read_text()))


def _data_fingerprint(ctx: RunContext) -> dict[str, str] | None:
    """sha256 of each data file (cached by path, size and mtime): an edited file keys new data/simulator folders."""
    from rlrec.data.fingerprint import data_fingerprint

    return ctx.shared(("data_fingerprint", ctx.config.data.name, ctx.config.data.path),
                      lambda: data_fingerprint(ctx.config.data))


def _data_verify(ctx: RunContext, folder: Path, info: dict) -> None:
    """A reused data folder must hold its data card and, per split, the complete lines its marker counted."""
    from rlrec.stages import StaleArtifact

    if not (folder / "data_card.json").is_file():
        raise StaleArtifact("data_card.json is missing")
    for name in SPLITS:
        path, expected = folder / "splits" / f"{name}.jsonl", info.get(f"{name}_examples")
        if expected is None:
            continue
        lines = _complete_lines(path) if path.is_file() else None
        if lines != expected:
            raise StaleArtifact(f"splits/{name}.jsonl has {'no file' if lines is None else f'{lines} complete lines'}, "
                                f"the marker recorded {expected} examples")


def _complete_lines(path: Path) -> int:
    """Non-blank lines that end with a newline (a torn last line does not count)."""
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.endswith(b"\n") and line.strip())


DATA = Stage("data", key=lambda c: (c.config.data, c.config.model.policy, _data_fingerprint(c)), run=_data_run,
             load=_data_load, verify=_data_verify,
             info=lambda p: {f"{k}_examples": len(v) for k, v in p.splits.items()},
             doc="logs → catalogue + histories → Taiji prompts → user-disjoint SFT / RL / test splits + data card")


# ------------------------------------------------------------------------------------------- simulator


def _simulator_key(ctx: RunContext) -> tuple:
    c = ctx.config
    return (c.data.name, c.data.path, c.data.catalogue, c.data.duplicates,
            dataclasses.replace(c.simulator, rebuild=False), c.model.embedder, _data_fingerprint(ctx))


def _simulator_run(ctx: RunContext, folder: Path) -> Path:
    from rlrec.simulator import build_simulator

    return build_simulator(dataclasses.replace(ctx.config.simulator, rebuild=False), ctx.product("data").log, folder,
                           ctx.embedder(), ctx.config.model.embedder)


def _simulator_info(folder: Path) -> dict:
    from rlrec.simulator.artifact import META_FILE

    meta = json.loads((folder / META_FILE).read_text())
    return {"dataset": meta["dataset"], "catalog_hash": meta["catalog_hash"],
            "ctcvr_auc": meta["metrics"]["simulator"]["ctcvr"]["auc"]}


SIMULATOR = Stage("simulator", key=_simulator_key, run=_simulator_run, load=lambda c, folder: folder,
                  requires=("data",), info=_simulator_info, force=lambda c: c.config.simulator.rebuild,
                  doc="ESMM CTCVR model, grounding index, interest clusters, collective feedback")


# ------------------------------------------------------------------------------------- alignment models


def _alignment_run(ctx: RunContext, folder: Path) -> dict[str, Path]:
    from rlrec.alignment.stages import train_alignment

    metrics = train_alignment(ctx.config, folder, ctx.logger, novelty=False, simulator_dir=ctx.product("simulator"))
    return {mode: Path(r["checkpoint"]) for mode, r in metrics["reward_model"].items()}


def _alignment_load(ctx: RunContext, folder: Path) -> dict[str, Path]:
    metrics = json.loads((folder / "alignment_metrics.json").read_text())
    return {mode: Path(r["checkpoint"]) for mode, r in metrics["reward_model"].items()}


ALIGNMENT = Stage("alignment_models", run=_alignment_run, load=_alignment_load, requires=("simulator",),
                  key=lambda c: (c.config.data, _data_fingerprint(c), c.config.alignment, c.config.model.policy, c.config.seed,
                                 dir_key(c.product("simulator"))),
                  info=lambda p: {"modes": sorted(p)},
                  doc="seed-003 alignment reward models (mode → best checkpoint) on the simulator's collective feedback")


# ------------------------------------------------------------------------------------- distill and SFT


def _distill_run(ctx: RunContext, folder: Path) -> Path:
    from rlrec.distill import run_distillation

    run_distillation(ctx.config, ctx.product("data").splits["sft"], folder)  # writes distill_stats.json
    return folder


DISTILL = Stage("distill", run=_distill_run, load=lambda c, folder: folder, requires=("data",),
                key=lambda c: (c.config.data, _data_fingerprint(c), c.config.distill, c.config.model.policy, c.config.seed),
                info=lambda folder: {k: v for k, v in json.loads((folder / "distill_stats.json").read_text()).items()
                                     if k in ("examples", "kept", "mode")},
                doc="RUPR candidates → leakage screen → PPL filter (folder with sft_data.jsonl)")


def _student(config: Config) -> str:
    return config.sft.model or config.model.policy


def _sft_run(ctx: RunContext, folder: Path) -> Path:
    from rlrec.sft import load_sft_records, train_sft

    c = ctx.config
    train_file = Path(c.sft.train_file) if c.sft.train_file else run("distill", ctx) / "sft_data.jsonl"
    return train_sft(load_sft_records(train_file), _student(c), c.sft, folder, c.seed, c.model.dtype,
                     callbacks=[RunLoggerCallback(ctx.logger, prefix="sft/")])


def _sft_key(ctx: RunContext) -> tuple:
    c = ctx.config
    # ``eval_examples`` only sizes the format check ``experiments.sft`` runs after training: not part of the product
    sft = dataclasses.replace(c.sft, eval_examples=None)
    return c.data, _data_fingerprint(ctx), c.distill, sft, _student(c), c.seed


SFT = Stage("sft", run=_sft_run, load=lambda c, folder: folder / "checkpoint", key=_sft_key,
            doc="ORFT (Taiji Eq. 2) with TRL's SFTTrainer on the kept samples (the RL stage's start)")


# ------------------------------------------------------------------------------------------------- RL


def start_policy(ctx: RunContext) -> str:
    """What RL starts from: this run's SFT checkpoint, else ``rl.init_from``, else ``model.policy``."""
    sft = ctx.products.get("sft")
    return str(sft) if sft is not None else ctx.config.rl.init_from or ctx.config.model.policy


def _rl_key(ctx: RunContext) -> tuple:
    c = ctx.config
    return (c.data, _data_fingerprint(ctx), c.simulator, c.reward, dataclasses.replace(c.rl, init_from=None), c.weighting,
            c.model, c.seed,
            dir_key(start_policy(ctx)), {k: dir_key(v) for k, v in (ctx.products.get("alignment_models") or {}).items()},
            *((c.task,) if c.task.name != "next_item" else ()))  # a RecGPT task: its prompts and settings


def _rl_run(ctx: RunContext, folder: Path) -> Path:
    from rlrec.logging.local import LocalRunLogger
    from rlrec.trainers.run import run_rl

    history = folder / "rl_log" / "metrics.jsonl"
    history.unlink(missing_ok=True)  # a killed earlier attempt left partial curves
    recorder = LocalRunLogger(history.parent)
    rs = reward_set(ctx)
    final = run_rl(ctx.config, rl_examples(ctx), rs.functions, rs.names, rs.initial_weights,
                   folder / "rl", reward_stats=rs.pop_stats, policy=start_policy(ctx),
                   callbacks=[RunLoggerCallback(MultiLogger([ctx.logger, recorder]))])
    recorder.close()
    return final


def rl_examples(ctx: RunContext) -> list:
    """The RL split's prompts: Taiji's, or those of the RecGPT task ``task.name`` (rlrec/recgpt/tasks.py)."""
    prepared = ctx.product("data")
    if ctx.config.task.name == "next_item":
        return prepared.splits["rl"]
    from rlrec.recgpt.tasks import task_examples

    examples = prepared.splits["rl"][: ctx.config.rl.max_prompts]
    return task_examples(prepared.log, examples, ctx.config.task)


def _rl_load(ctx: RunContext, folder: Path) -> Path:
    """The final policy; the stored curves are replayed into this run's logger, so reports and analysis look the
    same whether the stage ran or was reused."""
    for line in (folder / "rl_log" / "metrics.jsonl").read_text().splitlines():
        row = json.loads(line)
        ctx.logger.log({k: v for k, v in row.items() if k != "step"}, row["step"])
    return folder / "rl" / "final"


RL = Stage("rl", key=_rl_key, run=_rl_run, load=_rl_load, requires=("data", "simulator"),
           info=lambda final: {"final": str(final)},
           doc="GRPO under the configured weighting strategy from the SFT checkpoint")


# ------------------------------------------------------------------------------------------ evaluation


def evaluate(ctx: RunContext, models: dict[str, str]) -> dict[str, Any]:
    """Table 1/3 metrics with bootstrap CIs for each ``label → checkpoint`` on the test split; the last label is
    the run's final model (its scores become the run's objective vector). Each evaluation is a cached stage keyed
    by the checkpoint, the eval/data/model config, the seed and the simulator, so the runs of a sweep evaluate the
    shared base and SFT models once. Copies each ``eval/<label>/`` into the run dir."""
    results = {}
    labels = list(models)
    for label, checkpoint in models.items():
        stage = eval_stage(label, str(checkpoint), final=label == labels[-1])
        results[label] = run_stage(stage, ctx, STAGES, label=f"evaluate {label}")
        export(ctx, f"evaluate {label}", ctx.run_dir, ("eval",))
    return results


def eval_simulator_dir(ctx: RunContext) -> Path | None:
    """The simulator evaluations use (:func:`rlrec.eval.session.eval_simulator_path`: ``eval.simulator``, else the
    run's simulator stage, else the newest for the catalogue, else None: the simulator metrics are then skipped and
    counted; ``experiments.evaluate`` does not build a simulator). Resolved once per context."""
    from rlrec.eval.session import eval_simulator_path

    def find() -> Path | None:
        catalog_hash = ctx.product("data").log.catalog.content_hash()
        return eval_simulator_path(ctx.config, catalog_hash, ctx.products.get("simulator"), required=False)

    return ctx.shared("eval_simulator_dir", find)


def eval_simulator(ctx: RunContext) -> Any:
    folder = eval_simulator_dir(ctx)
    return ctx.simulator_at(folder) if folder is not None else None


def eval_stage(label: str, checkpoint: str, final: bool, split: str = "test") -> Stage:
    """The evaluation of one model on ``split`` as a stage (``label`` names its output folder and summary keys)."""

    def key(ctx: RunContext) -> tuple:
        c, sim = ctx.config, eval_simulator_dir(ctx)
        # greedy decoding of one sample per prompt does not depend on the seed: the seeds of a sweep share the
        # base model's evaluation (a sampled one, temperature > 0 or several samples, is keyed by the seed)
        sampled = c.eval.temperature > 0 or c.eval.num_samples > 1
        return (c.data, _data_fingerprint(ctx), dataclasses.replace(c.eval, checkpoint=None, label=label, split=split),
                c.model, c.reward,
                c.seed if sampled else None, dir_key(checkpoint), dir_key(sim) if sim is not None else None)

    def run_(ctx: RunContext, folder: Path) -> Any:
        from rewards.core.objectives import build_eval_objectives
        from rlrec.eval.session import run_evaluation

        prepared = ctx.product("data")
        objectives = build_eval_objectives(ctx.config, resources(ctx))
        return run_evaluation(ctx.config, prepared.splits[split], prepared.log.catalog, prepared.log.interactions(),
                              folder, ctx.logger, label=label, checkpoint=checkpoint, final=final,
                              embedder=ctx.embedder(), simulator=eval_simulator(ctx), rewards=objectives)

    def load(ctx: RunContext, folder: Path) -> Any:
        from rlrec.eval.results import read_result
        from rlrec.eval.session import summary_values

        result = read_result(folder / "eval" / label)
        ctx.logger.summary(summary_values(result, ctx.config.eval.objectives, final))
        return result

    return Stage("eval", key=key, run=run_, load=load, requires=("data",),
                 info=lambda result: {"checkpoint": checkpoint}, doc="Taiji Table 1/3 metrics of one model")


STAGES: dict[str, Stage] = {s.name: s for s in (DATA, SIMULATOR, ALIGNMENT, DISTILL, SFT, RL)}


def _recgpt_stages() -> dict[str, Stage]:
    from rlrec.recgpt.stages import recgpt_stages  # RecGPT's task family (tri_tower, …)

    return recgpt_stages(_data_fingerprint)


STAGES.update(_recgpt_stages())


# ------------------------------------------------------------------------------- enhancer (opt-in, Taiji Stage 4)


def enhance_models(ctx: RunContext) -> dict[str, str]:
    """``enhance.policies`` as label → checkpoint: base = ``model.policy``, sft / rl = those stages' products (reused
    when the pipeline built them for this config, else run now)."""
    found = {"base": lambda: ctx.config.model.policy, "sft": lambda: str(run("sft", ctx)), "rl": lambda: str(run("rl", ctx))}
    return {label: found[label]() for label in ctx.config.enhance.policies}


def enhance_outputs_stage(label: str, checkpoint: str) -> Stage:
    """One policy's output for every enhancer user, generated and embedded (the costly part, cached per checkpoint)."""

    def key(ctx: RunContext) -> tuple:
        c, s = ctx.config, ctx.config.simulator
        e = c.enhance
        cohort = (e.users, e.train_fraction, e.min_history, e.holdout_fraction, e.seed)  # what picks users and cut-offs
        return (c.data, _data_fingerprint(ctx), s.labels, s.conversion_horizon, s.conversion_min_rating,
                s.holdout_fraction, s.history_len, cohort, dataclasses.replace(c.eval, checkpoint=None, label=label),
                c.model, dir_key(checkpoint))

    def run_(ctx: RunContext, folder: Path) -> Any:
        from rlrec.enhance.stage import generate_outputs

        return generate_outputs(ctx.config, ctx.product("data"), enhance_cohort(ctx), checkpoint, folder, ctx.embedder())

    def load(ctx: RunContext, folder: Path) -> Any:
        from rlrec.enhance.stage import read_outputs

        return read_outputs(folder)

    return Stage("enhance_outputs", key=key, run=run_, load=load, requires=("data",),
                 info=lambda out: {"checkpoint": checkpoint, "users": len(out.users)},
                 doc="one policy's outputs for the enhancer users (Taiji Stage 4)")


def enhance_cohort(ctx: RunContext) -> Any:
    from rlrec.enhance.stage import enhancer_cohort

    return ctx.shared("enhance_cohort", lambda: enhancer_cohort(ctx.config, ctx.product("data")))


def enhance(ctx: RunContext, models: dict[str, str]) -> Any:
    """Taiji Stage 4 for each ``label → checkpoint`` (the last is the run's final policy): outputs per policy
    (cached stages), then PQ / cross-user features and the ranker comparison into ``<run_dir>/enhance/``."""
    from rlrec.enhance.stage import run_enhancer

    outputs = {label: run_stage(enhance_outputs_stage(label, str(ckpt)), ctx, STAGES, label=f"enhance outputs {label}")
               for label, ckpt in models.items()}
    seconds = {row["stage"]: row["seconds"] for row in ctx.timings}
    return run_enhancer(ctx.config, ctx.product("data"), enhance_cohort(ctx), outputs, ctx.run_dir, seconds)
