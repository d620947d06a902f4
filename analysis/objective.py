"""The scalar a tuning sweep maximises: the hypervolume one run's final model adds over its own SFT model.

``run_hypervolume(run_dir)`` reads the run's ``summary.json`` / ``eval/<label>/eval_metrics.json`` (through
:func:`analysis.collect.load_run_dir`): the objective vector of the ``model`` label (default ``rl``) on the
objectives the run declares (``eval.objectives``, default Taiji's ``Semantic_Cosine`` and ``CTCVR``) and, as the
reference point, the same objectives of the ``reference`` label (default ``sft``) — the hypervolume of the
box between them (moocore, :func:`analysis.pareto.hypervolume`). It is what ``experiments.pipeline`` returns, so
Hydra's Optuna sweeper (``hydra/sweeper=tune_popo`` …) can maximise it.

One point's hypervolume is the product of its improvements over the reference when it improves every
objective, and 0 as soon as one objective is not improved: trials that trade one objective for the other score
0 alike. That is the Pareto criterion (Taiji §2.3: improve both); to search the trade-off instead, use a
multi-objective study (``direction: [maximize, maximize]`` and return the vector), see docs/sweeps.md.
"""

from __future__ import annotations

from pathlib import Path

from analysis.collect import load_run_dir
from analysis.fronts import DEFAULT_OBJECTIVES
from analysis.pareto import hypervolume

__all__ = ["run_hypervolume"]


def run_hypervolume(run_dir: str | Path, model: str = "rl", reference: str = "sft") -> float:
    """Hypervolume of the ``model`` scores w.r.t. the ``reference`` scores of one run dir (see the module docstring).

    Raises ValueError naming the missing values when the run has no evaluation of either label or objective.
    """
    record = load_run_dir(run_dir)
    objectives = list(record.summary.get("objectives") or DEFAULT_OBJECTIVES)
    values, ref, missing = [], [], []
    for name in objectives:
        for label, into in ((model, values), (reference, ref)):
            value = record.summary.get(f"eval/{label}/{name}")
            if value is None:
                missing.append(f"eval/{label}/{name}")
            into.append(value)
    if missing:
        raise ValueError(f"{run_dir}: cannot compute the run's hypervolume, missing {missing} "
                         f"(evaluate both the {model!r} and the {reference!r} model on {objectives})")
    unknown = [o for o in objectives if o not in record.directions]
    if unknown:
        raise ValueError(f"{run_dir}: no direction (higher_is_better) recorded for objective(s) {unknown}")
    return hypervolume([values], ref, [record.directions[o] for o in objectives])
