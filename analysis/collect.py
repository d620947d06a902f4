"""Collect finished runs — local run dirs or a W&B group — into one pandas table.

Reads run artifacts only (never imports training code):

* ``summary.json`` — ``eval/<label>/<metric>`` values (one table row per model label: base / sft / rl …),
  ``objective/<name>`` (a row labelled ``final`` when a run has no ``eval/`` keys), ``higher_is_better``
  (objective directions), ``metric_groups`` (table row groups) and ``objectives`` (the declared objective names).
* ``config.yaml`` (or Hydra's ``.hydra/config.yaml``) — the run config, flattened into ``cfg.<key>`` columns.
* ``.hydra/overrides.yaml`` — what the sweep varied; the runs' *variant* is the overrides that differ
  between runs, seed and bookkeeping overrides (paths, logger, hydra) excluded, so seeds pool into one variant.
* ``eval/<label>/eval_metrics.json`` — per-metric directions and groups, and values missing from the summary.
* ``metrics.jsonl`` — per-step histories (weights, reward curves) for the plots.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

__all__ = ["RunRecord", "Runs", "load_run_dir", "find_run_dirs", "collect_local", "collect_wandb", "collect"]

SEED_KEYS = ("seed",)  # an override or config key whose last component is one of these is a seed
# Overrides that name where things are or how a run is logged, never what is being compared.
NOT_VARIANT = ("hydra.", "logger.", "eval.checkpoint", "eval.label", "eval.simulator", "rl.output_dir",
               "rl.init_from", "rl.resume_from_checkpoint", "artifacts_dir")


@dataclass
class RunRecord:
    """Everything analysis needs from one run."""

    run_id: str
    config: dict[str, Any]
    summary: dict[str, Any]
    overrides: list[str] = field(default_factory=list)
    directions: dict[str, bool] = field(default_factory=dict)  # objective → higher is better
    groups: dict[str, str] = field(default_factory=dict)  # metric → table group ("Semantic Hit-Rate" …)
    history: pd.DataFrame | None = None  # per-step metrics, one row per log call
    path: str | None = None
    variant: str = ""  # set by runs_table: the swept setting, seeds excluded


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _is_seed_key(key: str) -> bool:
    """Seeds and bookkeeping keys (paths, logging) do not define a variant."""
    key = key.lstrip("+~")
    return key.split(".")[-1] in SEED_KEYS or key.startswith(NOT_VARIANT)


def _read_history(path: Path) -> pd.DataFrame | None:
    if not path.exists():
        return None
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return pd.DataFrame(rows) if rows else None


def load_run_dir(run_dir: str | Path, run_id: str | None = None) -> RunRecord:
    """One local run dir (see the module docstring for the files read)."""
    run_dir = Path(run_dir)
    config_path = next((p for p in (run_dir / "config.yaml", run_dir / ".hydra" / "config.yaml") if p.exists()), None)
    config = yaml.safe_load(config_path.read_text()) if config_path else {}
    summary_path = run_dir / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    overrides_path = run_dir / ".hydra" / "overrides.yaml"
    overrides = list(yaml.safe_load(overrides_path.read_text()) or []) if overrides_path.exists() else []
    directions = {k: bool(v) for k, v in (summary.get("higher_is_better") or {}).items()}
    reward_meta = run_dir / "reward_metadata.json"
    if reward_meta.exists():
        for name, meta in json.loads(reward_meta.read_text()).items():
            directions.setdefault(name, bool(meta.get("higher_is_better", True)))
    groups: dict[str, str] = dict(summary.get("metric_groups") or {})
    for path in sorted(run_dir.glob("eval/*/eval_metrics.json")):
        data = json.loads(path.read_text())
        label = data.get("label", path.parent.name)
        for name, m in data.get("metrics", {}).items():
            directions.setdefault(name, bool(m.get("higher_is_better", True)))
            groups.setdefault(name, m.get("group", ""))
            summary.setdefault(f"eval/{label}/{name}", m.get("value"))
    return RunRecord(
        run_id=run_id or run_dir.name,
        config=config or {},
        summary=summary,
        overrides=[str(o) for o in overrides],
        directions=directions,
        groups=groups,
        history=_read_history(run_dir / "metrics.jsonl"),
        path=str(run_dir),
    )


def _is_run_dir(path: Path) -> bool:
    return (path / "summary.json").exists() or any(path.glob("eval/*/eval_metrics.json"))


def find_run_dirs(root: str | Path) -> list[Path]:
    """Run dirs under ``root`` (``root`` itself if it is one); a run dir's own subfolders are not searched."""
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"no such run or sweep directory: {root}")
    if _is_run_dir(root):
        return [root]
    found: list[Path] = []
    for child in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        found += find_run_dirs(child)
    return found


def collect_local(root: str | Path) -> list[RunRecord]:
    root = Path(root)
    return [load_run_dir(d, run_id=str(d.relative_to(root)) if d != root else d.name) for d in find_run_dirs(root)]


def collect_wandb(path: str, api: Any = None) -> list[RunRecord]:
    """Runs of a W&B group, ``path = "entity/project/group"`` (``api`` defaults to ``wandb.Api()``)."""
    parts = path.strip("/").split("/")
    if len(parts) != 3:
        raise ValueError(f"W&B source must be 'wandb:entity/project/group', got 'wandb:{path}'")
    entity, project, group = parts
    if api is None:
        import wandb

        api = wandb.Api()
    records = []
    for run in api.runs(f"{entity}/{project}", filters={"group": group}):
        config = {k: v for k, v in dict(run.config).items() if not k.startswith("_")}
        summary = json.loads(json.dumps(dict(run.summary), default=lambda o: dict(o) if hasattr(o, "keys") else str(o)))
        directions = {k: bool(v) for k, v in (summary.get("higher_is_better") or {}).items()}
        for name, meta in (config.get("reward_metadata") or {}).items():
            directions.setdefault(name, bool(meta.get("higher_is_better", True)))
        history = run.history(pandas=True)
        if history is not None and "_step" in history:
            history = history.rename(columns={"_step": "step"})
        groups = dict(summary.get("metric_groups") or {})
        records.append(RunRecord(run.id, config, summary, [], directions, groups, history, config.get("run_dir")))
    if not records:
        raise ValueError(f"no W&B runs in group {group!r} of {entity}/{project}")
    return records


def collect(source: str) -> list[RunRecord]:
    """``source`` is a sweep/run directory or ``wandb:entity/project/group``."""
    return collect_wandb(source[len("wandb:") :]) if source.startswith("wandb:") else collect_local(source)


def _variant_labels(records: list[RunRecord], by: Iterable[str] | None) -> list[str]:
    """The swept setting of each run, seeds excluded: explicit config keys, else the varying overrides,
    else the varying config values."""
    flat = [_flatten(r.config) for r in records]
    if by:
        keys = list(by)
        return [", ".join(f"{k}={f.get(k)}" for k in keys) for f in flat]
    if any(r.overrides for r in records):
        parsed = [dict(o.split("=", 1) for o in r.overrides if "=" in o) for r in records]
        keys = sorted({k for p in parsed for k in p if not _is_seed_key(k)})
        varying = [k for k in keys if len({p.get(k) for p in parsed}) > 1]
        return [", ".join(f"{k}={p[k]}" for k in varying if k in p) or "all" for p in parsed]
    keys = sorted({k for f in flat for k in f if not _is_seed_key(k)})
    varying = [k for k in keys if len({json.dumps(f.get(k), sort_keys=True, default=str) for f in flat}) > 1]
    return [", ".join(f"{k}={f.get(k)}" for k in varying) or "all" for f in flat]


@dataclass
class Runs:
    """All collected runs: ``table`` has one row per (run, model label); ``records`` keep the raw data."""

    records: list[RunRecord]
    table: pd.DataFrame
    directions: dict[str, bool]
    groups: dict[str, str]
    declared_objectives: list[str]

    def metrics(self) -> list[str]:
        fixed = {"run", "variant", "seed", "model", "path"}
        return [c for c in self.table.columns if c not in fixed and not c.startswith("cfg.")]


def runs_table(records: list[RunRecord], by: Iterable[str] | None = None) -> Runs:
    """Build the table: columns run, variant, seed, model, <metric…>, cfg.<key…>."""
    if not records:
        raise ValueError("no runs found: a run dir needs summary.json or eval/<label>/eval_metrics.json")
    variants = _variant_labels(records, by)
    rows = []
    directions: dict[str, bool] = {}
    groups: dict[str, str] = {}
    declared: list[str] = []
    for record, variant in zip(records, variants):
        record.variant = variant
        flat_cfg = {f"cfg.{k}": v for k, v in _flatten(record.config).items()}
        seed = next((v for k, v in flat_cfg.items() if k == "cfg.seed"), None)
        if seed is None:
            seed = next((o.split("=", 1)[1] for o in record.overrides if o.split("=")[0] == "seed"), 0)
        per_label: dict[str, dict[str, Any]] = {}
        for key, value in record.summary.items():
            parts = key.split("/")
            if len(parts) == 3 and parts[0] == "eval" and isinstance(value, (int, float)):
                per_label.setdefault(parts[1], {})[parts[2]] = value
        if not per_label:
            objectives = {k.split("/", 1)[1]: v for k, v in record.summary.items() if k.startswith("objective/")}
            if objectives:
                per_label["final"] = objectives
        for label, metrics in per_label.items():
            rows.append({"run": record.run_id, "variant": variant, "seed": seed, "model": label, "path": record.path, **metrics, **flat_cfg})
        for name, hib in record.directions.items():
            directions.setdefault(name, hib)
        for name, group in record.groups.items():
            groups.setdefault(name, group)
        for name in record.summary.get("objectives") or []:
            if name not in declared:
                declared.append(name)
    table = pd.DataFrame(rows)
    if table.empty:
        raise ValueError(f"{len(records)} run(s) found but none has eval/<label>/<metric> or objective/<name> values")
    return Runs(records, table, directions, groups, declared)
