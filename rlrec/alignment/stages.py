"""The two seed-003 stages the entry points run: ``train_alignment`` (reward model in every configured mode,
plus the novelty model) and ``run_best_of_n`` (transition tables for plain / random-of-n / best-of-n serving,
judged by the simulator). Trained models live in artifact folders keyed by the config that produced them, so
``best_of_n`` finds what ``train_alignment`` trained for the same config, and reruns resume.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rlrec.alignment.feedback import cluster_prior_scores, split_feedback
from rlrec.alignment.novelty import (
    ClusterMatcher,
    TransitionTable,
    mine_novel_transitions,
    sample_candidates,
    sample_transitions,
    sft_records,
    train_novelty_model,
    user_context,
)
from rlrec.alignment.ranking import evaluate_ranking
from rlrec.alignment.sources import AlignmentSources, load_sources
from rlrec.artifacts import StageDir, stage_dir
from rlrec.config import Config
from rlrec.logging.base import NullLogger, RunLogger

log = logging.getLogger(__name__)


def reward_model_dir(config: Config, sources: AlignmentSources) -> StageDir:
    a = config.alignment
    return stage_dir(config.artifacts_dir, "alignment_rm", sources.fingerprint, a.context_len, a.served_k,
                     a.reward_model, config.seed)


def trained_reward_model(config: Config, mode: str = "pointwise", sources: AlignmentSources | None = None) -> Path:
    """The best checkpoint ``train_alignment`` saved in ``mode`` for this config (data, simulator, alignment, seed).

    Raises a FileNotFoundError naming the command that trains it when it does not exist yet.
    """
    from rlrec.alignment.training import RM_MODES

    RM_MODES.entry(mode)
    sources = sources or load_sources(config)
    path = reward_model_dir(config, sources).path / mode / "best"
    if not (path / "config.json").exists():
        raise FileNotFoundError(
            f"no {mode} alignment reward model for this config at {path}: train it first with `python -m "
            f"experiments.train_alignment` (same data / alignment / seed overrides), or point to a folder "
            "explicitly (reward.terms.alignment_score.params.path=<folder>)"
        )
    return path


def novelty_model_dir(config: Config, sources: AlignmentSources) -> StageDir:
    a = config.alignment
    return stage_dir(config.artifacts_dir, "alignment_novelty", sources.fingerprint, a.context_len, a.novelty,
                     a.novelty.model or config.model.policy, config.seed)


# ------------------------------------------------------------------------------------------ training


def train_alignment(
    config: Config, run_dir: Path, logger: RunLogger | None = None, callbacks: Sequence[Any] = (), novelty: bool = True,
    simulator_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Train the reward model in each of ``alignment.reward_model.modes`` and (``novelty``) the novelty model;
    write ``alignment_report.md``, ``alignment_metrics.json`` and ``reward_model_curves.png`` to ``run_dir``.
    ``logger`` gets every offline evaluation row; ``callbacks`` go to every trainer; ``simulator_dir``: the run's
    simulator (see :func:`rlrec.alignment.sources.resolve_simulator_dir`)."""
    from rlrec.alignment.plots import plot_learning_curves
    from rlrec.alignment.training import RM_MODES, RewardModelResult, load_result, train_reward_model

    logger = logger or NullLogger()

    a = config.alignment
    for mode in a.reward_model.modes:
        RM_MODES.entry(mode)  # unknown names fail before anything trains
    sources = load_sources(config, simulator_dir)
    split = split_feedback(sources.points, sources.pairs, a.served_k, a.reward_model.eval_fraction, config.seed,
                           a.reward_model.max_eval_groups)
    log.info("feedback split: %s", split.summary())

    rm_stage = reward_model_dir(config, sources)
    results: list[RewardModelResult] = []
    for mode in a.reward_model.modes:
        out = rm_stage.path / mode
        if rm_stage.done and (out / "eval_history.json").exists():
            log.info("reward model (%s) already trained for this config: %s", mode, out / "best")
            results.append(load_result(out))
            continue

        def log_eval(row: dict[str, Any], mode: str = mode) -> None:
            logger.log({f"alignment/{mode}/{k}": v for k, v in row.items() if k != "step" and v is not None}, row["step"])

        results.append(train_reward_model(mode, split, a.reward_model, a.served_k, out, config.model.dtype,
                                          config.seed, callbacks, log_eval))
    rm_stage.mark_done(modes=list(a.reward_model.modes), feedback=split.summary())
    prior = evaluate_ranking(split.groups, cluster_prior_scores(split.train_points, split.groups), a.served_k,
                             a.reward_model.random_draws, config.seed)
    curves = plot_learning_curves(results, run_dir / "reward_model_curves.png",
                                  {"cluster prior": {"f1": prior.f1, "ndcg": prior.ndcg}})

    novelty_info = _train_novelty(config, sources) if novelty else {"skipped": "not needed by this run"}
    metrics = {
        "feedback": split.summary(),
        "reward_model": {r.mode: {"checkpoint": str(r.best_dir), "selected": r.best, "final": r.final,
                                  "train_seconds": r.train_seconds} for r in results},
        "cluster_prior_baseline": prior.as_dict(),
        "novelty": novelty_info,
        "simulator": str(sources.simulator_dir),
    }
    (run_dir / "alignment_metrics.json").write_text(json.dumps(metrics, indent=1, default=str))
    (run_dir / "alignment_report.md").write_text(_training_report(metrics, a.served_k, curves.name))
    return metrics


def _train_novelty(config: Config, sources: AlignmentSources) -> dict[str, Any]:
    a = config.alignment
    stage = novelty_model_dir(config, sources)
    checkpoint = stage.path / "checkpoint"
    if stage.done:
        log.info("novelty model already trained for this config: %s", checkpoint)
        return {"checkpoint": str(checkpoint), **stage.info()}
    transitions, counts = mine_novel_transitions(sources.sequences, a.context_len, sources.ordered_context)
    if not transitions:
        raise ValueError(
            f"no novel cluster transitions with a context of {a.context_len} clusters in {config.data.name}: lower "
            "alignment.context_len or use a dataset with longer histories"
        )
    chosen = sample_transitions(transitions, a.novelty.examples, config.seed)
    started = time.time()
    train_novelty_model(sft_records(chosen, sources.names), a.novelty.model or config.model.policy, a.novelty,
                        stage.path, config.seed, config.model.dtype)
    info = {"examples": len(chosen), "mined": dict(counts), "users": len({t.user_id for t in chosen}),
            "train_seconds": time.time() - started}
    stage.mark_done(**info)
    return {"checkpoint": str(checkpoint), **info}


def _training_report(metrics: dict[str, Any], k: int, curves: str) -> str:
    lines = ["# Alignment reward model and novelty model (seed 003)", "",
             f"Held-out cluster sequences: {metrics['feedback']['eval_groups']} (feedback split: "
             f"{json.dumps(metrics['feedback'])}).", "",
             f"| mode | selected step | F1@{k} | random F1@{k} | NDCG@{k} | random NDCG@{k} | pair acc. | final F1@{k} "
             "| train s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for mode, r in metrics["reward_model"].items():
        s, f = r["selected"], r["final"]
        lines.append(f"| {mode} | {int(s['step'])} | {s['f1']:.4f} | {s['random_f1']:.4f} | {s['ndcg']:.4f} | "
                     f"{s['random_ndcg']:.4f} | {s['pair_accuracy']:.3f} | {f['f1']:.4f} | {r['train_seconds']:.0f} |")
    c = metrics["cluster_prior_baseline"]
    lines.append(f"| cluster prior (context-blind baseline) | - | {c['f1']:.4f} | {c['random_f1']:.4f} | {c['ndcg']:.4f} | "
                 f"{c['random_ndcg']:.4f} | {c['pair_accuracy']:.3f} | - | - |")
    n = metrics["novelty"]
    lines += ["", f"Checkpoints selected by F1@{k}; random = mean over random rankings of the same sequences; pair acc. = "
              "share of differently-scored candidate pairs ordered right (random 0.5); cluster prior = each candidate "
              "scored by its mean training feedback over all contexts. Learning curves: "
              f"`{curves}`.", ""]
    if "checkpoint" in n:
        lines += [f"Novelty model: {n.get('examples')} novel transitions from {n.get('users')} users "
                  f"(mined: {n.get('mined')}), checkpoint `{n['checkpoint']}`.", ""]
    else:
        lines += [f"Novelty model: {n.get('skipped')}.", ""]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------- best-of-n


def run_best_of_n(config: Config, run_dir: Path) -> dict[str, Any]:
    """Serve ``served_k`` clusters per evaluation user with each arm (plain, random-of-n, best-of-n) from
    n = m x k novelty-model samples per cluster sequence; write the transition tables, ``best_of_n.json`` and
    ``best_of_n_report.md`` to ``run_dir``."""
    from rlrec.alignment.best_of_n import bootstrap_difference, per_user_engagement, serve_arms, serving_metrics
    from rlrec.alignment.reward_model import load_reward_model, score
    from rlrec.assets import load_causal_lm
    from rlrec.generation import GenerationConfig

    a, b = config.alignment, config.alignment.best_of_n
    sources = load_sources(config)
    novelty_path = b.novelty_model or str(novelty_model_dir(config, sources).path / "checkpoint")
    rm_path = b.reward_model or str(reward_model_dir(config, sources).path / b.mode / "best")  # checked below
    for what, path, key in (("novelty model", novelty_path, "novelty_model"), ("reward model", rm_path, "reward_model")):
        if not (Path(path) / "config.json").exists():
            raise FileNotFoundError(
                f"{what} checkpoint {path} does not exist: run `python -m experiments.train_alignment` with the same "
                f"config first, or set alignment.best_of_n.{key}=<folder>"
            )

    users = _evaluation_users(sources, a.context_len, b.users, config.seed)
    context_of = {u: user_context(sources.sequences[u], a.context_len, sources.ordered_context) for u in users}
    contexts = sorted(set(context_of.values()))
    n = b.oversample * a.served_k
    log.info("best-of-n: %d users, %d distinct cluster sequences, n = %d x %d samples each", len(users),
             len(contexts), b.oversample, a.served_k)

    model, tokenizer = load_causal_lm(novelty_path, config.model.dtype)
    matcher = ClusterMatcher(sources.names)
    gen = GenerationConfig(max_new_tokens=b.max_new_tokens, temperature=b.temperature, top_p=b.top_p,
                           batch_size=b.batch_size)
    started = time.time()
    candidates = sample_candidates(model, tokenizer, contexts, sources.names, n, gen, matcher)
    sample_seconds = time.time() - started
    del model

    rm, rm_tokenizer = load_reward_model(rm_path, dtype=config.model.dtype)
    flat = [(ctx, c) for ctx in contexts for c in candidates[ctx]]
    valid = [(ctx, c) for ctx, c in flat if c is not None]
    raw = score(rm, rm_tokenizer, [[sources.names[x] for x in ctx] for ctx, _ in valid],
                [sources.names[c] for _, c in valid]) if valid else np.zeros(0)
    by_pair = {pair: s for pair, s in zip(valid, raw)}
    scores = {ctx: [by_pair.get((ctx, c), -np.inf) if c is not None else -np.inf for c in candidates[ctx]]
              for ctx in contexts}

    arms = serve_arms(candidates, scores, a.served_k, config.seed)
    engaged_before = {u: set(sources.sequences[u]) for u in users}
    results, per_user = {}, {}
    for arm, served_by_context in arms.items():
        table = TransitionTable(a.context_len, served_by_context)
        table.save(run_dir / f"transition_table_{arm}.json")
        served = {u: table.lookup(context_of[u]) for u in users}
        metrics = serving_metrics(served, engaged_before, sources.engagement).as_dict()
        metrics["mean_rm_score"] = _mean_score(served_by_context, by_pair)
        results[arm] = metrics
        per_user[arm] = per_user_engagement(served, sources.engagement)
    differences = {f"best_of_n - {arm}": bootstrap_difference(per_user["best_of_n"], per_user[arm], seed=config.seed)
                   for arm in arms if arm != "best_of_n"}
    out = {
        "arms": results,
        "engagement_difference": differences,
        "users": len(users),
        "contexts": len(contexts),
        "n": n,
        "k": a.served_k,
        "matcher": dict(matcher.counts),
        "sample_seconds": sample_seconds,
        "novelty_model": novelty_path,
        "reward_model": rm_path,
        "engagement": sources.engagement_description,
    }
    (run_dir / "best_of_n.json").write_text(json.dumps(out, indent=1, default=str))
    (run_dir / "best_of_n_report.md").write_text(_best_of_n_report(out))
    return out


def _evaluation_users(sources: AlignmentSources, k: int, count: int, seed: int) -> list[str]:
    eligible = sorted(u for u, seq in sources.sequences.items() if user_context(seq, k) is not None)
    if not eligible:
        raise ValueError(f"no user has {k} distinct consecutive clusters: lower alignment.context_len")
    rng = np.random.default_rng([seed, 7])
    return sorted(rng.choice(eligible, size=min(count, len(eligible)), replace=False).tolist())


def _mean_score(served: dict[tuple[str, ...], list[str]], by_pair: dict) -> float:
    values = [by_pair[(ctx, c)] for ctx, cs in served.items() for c in cs if (ctx, c) in by_pair]
    return float(np.mean(values)) if values else float("nan")


def _best_of_n_report(out: dict[str, Any]) -> str:
    plain, bon = out["arms"]["plain"], out["arms"]["best_of_n"]
    lines = [f"# Best-of-n (n = {out['n']}, k = {out['k']}) vs plain sampling of k (seed 003 §4.2)", "",
             f"{out['users']} users, {out['contexts']} distinct cluster sequences. Engagement: {out['engagement']}.",
             f"Samples mapped to clusters: {out['matcher']}.", "",
             "| arm | served/user | novelty rate | engagement | engagement (novel) | UEUC/user | UEUC novel/user | RM score |",
             "|---|---|---|---|---|---|---|---|"]
    for arm, m in out["arms"].items():
        lines.append(f"| {arm} | {m['served_per_user']:.2f} | {m['novelty_rate']:.3f} | {m['engagement']:.5f} | "
                     f"{m['engagement_novel']:.5f} | {m['ueuc']:.5f} | {m['ueuc_novel']:.5f} | {m['mean_rm_score']:.3f} |")
    ratio = bon["engagement"] / plain["engagement"] if plain["engagement"] else float("nan")
    lines += ["", f"Best-of-n vs plain: engagement x{ratio:.3f}, novelty rate {bon['novelty_rate'] - plain['novelty_rate']:+.3f}, "
              f"UEUC/user x{bon['ueuc'] / plain['ueuc'] if plain['ueuc'] else float('nan'):.3f}.", "",
              "Per-user mean engagement difference (users served by both arms; 95% user-level bootstrap interval):", ""]
    for name, d in out["engagement_difference"].items():
        lines.append(f"- {name}: {d['mean']:+.5f} [{d['lo']:+.5f}, {d['hi']:+.5f}] over {d['users']} users")
    lines += ["", "plain = distinct valid clusters among the first k samples; random_of_n = k distinct valid clusters "
              "drawn at random from the n samples (oversampling without the reward model); best_of_n = the reward "
              "model's top k of the n samples.", ""]
    return "\n".join(lines)
