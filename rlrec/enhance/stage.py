"""The enhancer's steps as the stages call them: cohort, one policy's outputs (the costly, cached part), the
comparison, its files and its run-summary values.

Files: ``<folder>/outputs.jsonl`` + ``embeddings.npy`` per policy (stage ``enhance_outputs``); the run dir gets
``enhance/enhance_metrics.json`` and ``enhance/enhance_report.md``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rlrec.config import Config
from rlrec.enhance.cohort import Cohort, build_cohort, cohort_prompts
from rlrec.enhance.features import embed_outputs
from rlrec.enhance.metrics import HIGHER_IS_BETTER
from rlrec.enhance.report import write_report
from rlrec.enhance.run import EnhanceResult, evaluate_policies

__all__ = ["PolicyOutputs", "enhancer_cohort", "generate_outputs", "read_outputs", "run_enhancer", "summary_values",
           "shared_clock", "future_titles", "OBJECTIVE"]

log = logging.getLogger(__name__)

OBJECTIVE = "Enhancer_CTCVR_AUC"  # summary objective/<name>: the final policy's +both CTCVR AUC


@dataclass
class PolicyOutputs:
    """One policy's output per cohort user."""

    users: list[str]  # [U] cohort order
    texts: list[str]  # [U] completions
    embeddings: np.ndarray  # [U, D] float32


def enhancer_cohort(config: Config, prepared: Any) -> Cohort:
    """The cohort of a prepared dataset: never a user of the sft / rl splits (the policies trained on them)."""
    trained = {e.user_id for name in ("sft", "rl") for e in prepared.splits[name]}
    tests = {e.user_id for e in prepared.splits["test"]}
    return build_cohort(prepared.log, config.simulator, config.enhance, tests, trained)


def generate_outputs(config: Config, prepared: Any, cohort: Cohort, checkpoint: str, folder: Path,
                     embedder: Any) -> PolicyOutputs:
    """Generate (the eval generation settings and backend) and embed one policy's output for every cohort user."""
    from rlrec.assets import load_tokenizer
    from rlrec.data import TokenCounter
    from rlrec.eval.evaluation import generation_config
    from rlrec.eval.generate import generate_completions

    prompts = cohort_prompts(prepared.log, cohort, config.data, TokenCounter(load_tokenizer(config.model.policy)))
    gen = generation_config(config.eval, config.model)
    gen.num_return_sequences = 1
    log.info("enhance: generating %d outputs with %s", len(prompts), checkpoint)
    texts = [c[0] for c in generate_completions([e.prompt for e in prompts], gen, backend=config.eval.backend,
                                                name_or_path=checkpoint, dtype=config.model.dtype)]
    outputs = PolicyOutputs(list(cohort.users), texts, embed_outputs(embedder, texts))
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "outputs.jsonl").open("w", encoding="utf-8") as handle:
        for example, text, cut in zip(prompts, texts, cohort.cut_time):
            handle.write(json.dumps({"user_id": example.user_id, "cut_time": float(cut), "prompt": example.prompt,
                                     "completion": text}, ensure_ascii=False) + "\n")
    np.save(folder / "embeddings.npy", outputs.embeddings)
    return outputs


def read_outputs(folder: Path) -> PolicyOutputs:
    rows = [json.loads(line) for line in (folder / "outputs.jsonl").read_text(encoding="utf-8").splitlines() if line]
    return PolicyOutputs([r["user_id"] for r in rows], [r["completion"] for r in rows], np.load(folder / "embeddings.npy"))


def shared_clock(config: Config, log_: Any) -> bool:
    """``enhance.shared_clock``, or (null) whether the log's times are unix seconds shared by every user."""
    if config.enhance.shared_clock is not None:
        return config.enhance.shared_clock
    return bool(log_.timed and log_.time_unit_s == 1.0)


def future_titles(log_: Any, cohort: Cohort) -> list[set[str]]:
    """Per cohort user, the lower-cased titles of items first met at or after the cut-off (the leakage screen)."""
    out = []
    for user, cut in zip(cohort.users, cohort.cut_index):
        events = log_.histories[user]
        before = {e.item_id for e in events[:cut]}
        out.append({log_.catalog[e.item_id].title.strip().lower() for e in events[cut:]
                    if e.item_id not in before and e.item_id in log_.catalog})
    return out


def run_enhancer(config: Config, prepared: Any, cohort: Cohort, outputs: dict[str, PolicyOutputs], run_dir: Path,
                 seconds: dict[str, float] | None = None) -> EnhanceResult:
    """Compare the four variants for every policy; write ``<run_dir>/enhance/``."""
    import time

    from rlrec.simulator.features import FeatureSpace

    start, seconds = time.perf_counter(), dict(seconds or {})
    for label, out in outputs.items():
        if out.users != cohort.users:
            raise ValueError(f"enhance: the cached outputs of {label!r} are for other users than this cohort; "
                             "delete that enhance_outputs artifact folder and rerun")
    space = FeatureSpace.build(prepared.log, cohort.labelled)
    result = evaluate_policies(prepared.log, cohort, space, {k: v.texts for k, v in outputs.items()},
                               {k: v.embeddings for k, v in outputs.items()}, config.enhance,
                               shared_clock(config, prepared.log), future_titles(prepared.log, cohort))
    result.cohort["dataset"] = prepared.log.name
    seconds["features, rankers, bootstrap"] = time.perf_counter() - start
    out_dir = Path(run_dir) / "enhance"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "enhance_metrics.json").write_text(json.dumps({**result.to_dict(), "seconds": seconds}, indent=1))
    write_report(result, out_dir / "enhance_report.md", seconds)
    return result


def summary_values(result: EnhanceResult, final: str) -> dict[str, Any]:
    """Run-summary entries: ``eval/<policy>/Enhancer_<metric>`` (the +both variant, so analysis tables get a row per
    policy), ``enhance/<segment>/<policy>/<variant>/<metric>`` (everything), and for the ``final`` policy
    ``objective/Enhancer_CTCVR_AUC`` with its direction (read by analysis.collect like any objective)."""
    values: dict[str, Any] = {}
    directions = {}
    for segment, per_policy in result.metrics.items():
        for policy, per_variant in per_policy.items():
            for variant, per_metric in per_variant.items():
                for metric, mv in per_metric.items():
                    values[f"enhance/{segment}/{policy}/{variant}/{metric}"] = mv.value
            for metric, mv in per_variant["+both"].items():
                if segment == "all":
                    values[f"eval/{policy}/Enhancer_{metric}"] = mv.value
                    values[f"eval/{policy}/Enhancer_{metric}_delta"] = result.deltas[segment][policy]["+both"][metric].value
                    directions[f"Enhancer_{metric}"] = HIGHER_IS_BETTER[metric]
                    directions[f"Enhancer_{metric}_delta"] = HIGHER_IS_BETTER[metric]
    if final in result.metrics["all"]:
        values[f"objective/{OBJECTIVE}"] = result.metrics["all"][final]["+both"]["CTCVR_AUC"].value
        directions[OBJECTIVE] = True
        values["objectives"] = [OBJECTIVE]
    values["higher_is_better"] = directions
    return values
