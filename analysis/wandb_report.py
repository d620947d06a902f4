"""Compare Pareto fronts in W&B: one analysis run in the sweep's group holding the fronts, tables and plots.

``python -m analysis.report <sweep_dir> --wandb`` calls :func:`log_report` after writing the local report.
It logs one run (``job_type="analysis"``, name ``report-<group>``) into the W&B group of the sweep's runs —
the group every run of a ``conf/sweep`` preset logged under (``logger.group``), so the report sits beside them:

* ``fronts/points`` — a ``wandb.Table`` of every analysed run's objective vector with its strategy
  (``weighting.name``), variant, seed and whether it is on its variant's / the global front;
* ``fronts/<x>_vs_<y>`` — a scatter plot per objective pair, built on that table;
* ``hypervolume`` — the hypervolume table, ranked, with the bootstrap CI over seeds and the per-seed t-CI;
  the summary carries ``hypervolume/<variant>`` and the reference point;
* ``paired/variants``, ``paired/vs_<reference>`` and ``paired/vs_<reference>_answered`` (on the examples both
  answered) — the paired differences with their CIs and verdicts;
* ``ablation/<label>`` — the Taiji Table 3/4 numbers (long form);
* ``plots/<name>`` — every PNG of the report folder, and ``report.md`` as a run file.

Mode: offline unless asked otherwise (``--wandb-mode online`` with ``WANDB_API_KEY`` set logs live; without a
key it falls back to offline, as the training logger does). Offline runs land in ``<report>/wandb/offline-run-*``
— upload them later with ``wandb sync <report>/wandb/offline-run-*``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.collect import Runs
from analysis.fronts import FrontAnalysis
from analysis.paired import PairedDiff

__all__ = ["log_report", "sweep_logger_settings"]


def _common(runs: Runs, key: str) -> Any:
    """The value of config ``key`` shared by all runs (None when absent or when the runs disagree)."""
    column = f"cfg.{key}"
    if column not in runs.table:
        return None
    values = {v for v in runs.table[column].tolist() if v is not None and not (isinstance(v, float) and np.isnan(v))}
    return values.pop() if len(values) == 1 else None


def sweep_logger_settings(runs: Runs, sources: Sequence[str]) -> dict[str, Any]:
    """project / entity / group of the sweep's own runs (``logger.*`` in their configs); the group falls back to
    the W&B group or the folder name of the first source."""
    first = sources[0]
    fallback = first.split("/")[-1] if first.startswith("wandb:") else Path(first).resolve().name
    return {
        "project": _common(runs, "logger.project") or "rlrec",
        "entity": _common(runs, "logger.entity"),
        "group": _common(runs, "logger.group") or fallback,
    }


def _table(frame: pd.DataFrame):
    import wandb

    frame = frame.copy()
    for column in frame.columns:  # W&B tables want one type per column: booleans and text as they are, the rest float
        if frame[column].dtype == object:
            frame[column] = frame[column].map(lambda v: "" if v is None else str(v))
    return wandb.Table(dataframe=frame.reset_index(drop=True))


def _points(runs: Runs, fronts: FrontAnalysis) -> pd.DataFrame:
    """``fronts.points`` with each run's strategy (``weighting.name``) next to its variant and seed."""
    points = fronts.points.copy()
    if "cfg.weighting.name" in runs.table:
        rows = runs.table[runs.table["model"] == fronts.model]
        strategy = dict(zip(rows["run"], rows["cfg.weighting.name"]))
        points.insert(1, "strategy", points["run"].map(strategy).fillna(points["variant"]))
    else:
        points.insert(1, "strategy", points["variant"])
    points["seed"] = points["seed"].astype(str)
    return points


def log_report(
    out: str | Path,
    runs: Runs,
    fronts: FrontAnalysis,
    paired: Mapping[str, Sequence[PairedDiff]],
    sources: Sequence[str],
    project: str | None = None,
    entity: str | None = None,
    group: str | None = None,
    mode: str | None = None,
    reference_model: str = "sft",
) -> str:
    """Log the report in ``out`` (written by :func:`analysis.report.build_report`) as one W&B run; returns its
    URL (online) or its local folder (offline)."""
    import wandb

    from rlrec.logging.wandb_logger import resolve_mode  # the training logger's rule: offline unless a key is set

    out = Path(out)
    settings = sweep_logger_settings(runs, sources)
    settings.update({k: v for k, v in {"project": project, "entity": entity, "group": group}.items() if v})
    run = wandb.init(
        project=settings["project"],
        entity=settings["entity"],
        group=settings["group"],
        name=f"report-{settings['group']}",
        job_type="analysis",
        dir=str(out),
        mode=resolve_mode(mode or "offline"),
        config={
            "sources": list(sources),
            "model": fronts.model,
            "objectives": fronts.objectives,
            "maximize": fronts.maximize,
            "reference": dict(zip(fronts.objectives, map(float, fronts.reference))),
            "reference_source": fronts.reference_source,
        },
        reinit="create_new",
    )
    try:
        points = _table(_points(runs, fronts))
        logged: dict[str, Any] = {"fronts/points": points}
        for i, x in enumerate(fronts.objectives):
            for y in fronts.objectives[i + 1 :]:
                logged[f"fronts/{x}_vs_{y}"] = wandb.plot.scatter(points, x, y, title=f"{y} vs {x} ({fronts.model} model)")
        ranked = fronts.ranked().reset_index(drop=True)
        ranked.insert(0, "rank", np.arange(1, len(ranked) + 1))
        logged["hypervolume"] = _table(ranked)
        for name, results in paired.items():
            if results:
                key = {"variants": "paired/variants", "reference": f"paired/vs_{reference_model}"}.get(
                    name, f"paired/vs_{reference_model}_{name}")
                logged[key] = _table(pd.DataFrame([dataclasses.asdict(r) for r in results]))
        for path in sorted(out.glob("ablation_*.csv")):
            logged[f"ablation/{path.stem.removeprefix('ablation_')}"] = _table(pd.read_csv(path))
        for path in sorted(out.glob("*.png")):
            logged[f"plots/{path.stem}"] = wandb.Image(str(path))
        run.log(logged)
        run.summary.update({f"hypervolume/{r['variant']}": float(r["hv"]) for _, r in ranked.iterrows()})
        if (out / "report.md").exists():
            run.save(str(out / "report.md"), base_path=str(out), policy="now")
        where = run.url if run.settings.mode == "online" else str(Path(run.dir).parent)
    finally:
        run.finish()
    return where
