"""One evaluation of one model inside a run: load what the metrics need, score, write files, log the summary.

Used by ``experiments/evaluate.py`` and by the pipeline (base / SFT / RL models of one run). The simulator
artifact is looked up, never built here: without one, the grounding metrics (Title_Hit-Rate@K, CTCVR,
health) are skipped and the result says how to build it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rlrec.config import Config
from rlrec.eval.evaluation import EvalExample, evaluate
from rlrec.eval.health import item_popularity
from rlrec.eval.objectives import RewardObjective
from rlrec.eval.results import EvalResult, write_result
from rlrec.logging.base import RunLogger

__all__ = ["eval_simulator_path", "open_simulator", "summary_values", "run_evaluation"]

log = logging.getLogger(__name__)


def eval_simulator_path(config: Config, catalog_hash: str, run_simulator: str | Path | None = None,
                        required: bool = True) -> Path | None:
    """The simulator an evaluation uses: ``eval.simulator``, else the run's (``run_simulator``), else the newest
    complete artifact built for the catalogue (:func:`rlrec.simulator.artifact.resolve_simulator`, the one lookup
    policy, whose error names the build command). ``required=False``: None with a warning when there is none, and
    the evaluation skips Title_Hit-Rate@K, CTCVR and the health metrics (each counted in ``skipped``)."""
    from rlrec.simulator.artifact import resolve_simulator

    try:
        return resolve_simulator(config.eval.simulator, run_simulator, config.artifacts_dir, catalog_hash,
                                 config.data.name, "eval.simulator")
    except FileNotFoundError as err:
        if required:
            raise
        log.warning("%s; Title_Hit-Rate@K, CTCVR and health metrics are skipped", err)
        return None


def open_simulator(config: Config, catalog: Any, embedder: Any = None, run_simulator: str | Path | None = None,
                   required: bool = True) -> Any | None:
    """The simulator at :func:`eval_simulator_path`, loaded against ``catalog`` (None when there is none and
    ``required`` is False)."""
    from rlrec.simulator import Simulator

    path = eval_simulator_path(config, catalog.content_hash(), run_simulator, required)
    if path is None:
        return None
    return Simulator.load(path, catalog=catalog, embedder=embedder, embedder_name=config.model.embedder)


def summary_values(result: EvalResult, objectives: Sequence[str], final: bool) -> dict[str, Any]:
    """Summary entries for a run: ``eval/<label>/<metric>``, directions, metric groups, and — for the final model —
    the objective vector ``objective/<name>`` and the list of objective names."""
    values: dict[str, Any] = {
        **result.summary(),
        "higher_is_better": result.directions(),
        "metric_groups": {name: result.info_of(name).group for name in result.metrics},  # table rows for analysis
    }
    if final:
        missing = [o for o in objectives if o not in result.metrics]
        if missing:
            log.warning("objective(s) %s were not computed (%s)", missing, {o: result.skipped.get(o, "?") for o in missing})
        values.update({f"objective/{o}": result.value(o) for o in objectives if o in result.metrics})
        values["objectives"] = list(objectives)
    return values


def run_evaluation(
    config: Config,
    examples: Sequence[EvalExample],
    catalog: Any,
    interactions: Any,
    run_dir: str | Path,
    logger: RunLogger | None = None,
    *,
    model: Any = None,
    tokenizer: Any = None,
    label: str | None = None,
    checkpoint: str | None = None,
    final: bool = True,
    embedder: Any = None,
    simulator: Any = None,
    rewards: Sequence[RewardObjective] = (),
) -> EvalResult:
    """Evaluate one model on ``examples`` and write ``<run_dir>/eval/<label>/``.

    ``rewards``: reward terms scored on the test completions as metrics of their own name (with their registry
    direction); one named in ``eval.objectives`` is reported as ``objective/<name>``.

    The model is ``model`` + ``tokenizer`` when given, else ``checkpoint``, ``config.eval.checkpoint`` or
    ``config.model.policy``.
    ``interactions`` (an iterable of logged interactions) gives item popularity for Head_Item_Share.
    ``embedder`` / ``simulator`` are loaded when not given (pass them to share one copy across models).
    """
    from rlrec.assets import load_embedder

    embedder = embedder if embedder is not None else load_embedder(config.model.embedder)
    simulator = simulator if simulator is not None else open_simulator(config, catalog, embedder, required=False)
    result = evaluate(
        examples,
        config.eval,
        config.model,
        model=model,
        tokenizer=tokenizer,
        checkpoint=checkpoint,
        catalog=catalog,
        grounder=simulator.index if simulator is not None else None,
        scorer=simulator,
        encoder=embedder,
        popularity=item_popularity(interactions),
        label=label,
        rewards=rewards,
    )
    if simulator is not None:
        result.settings["simulator"] = str(simulator.path)
    out = write_result(result, Path(run_dir) / "eval" / result.label)
    if logger is not None:
        logger.summary(summary_values(result, config.eval.objectives, final))
    log.info("evaluation of %s written to %s", result.label, out)
    return result
