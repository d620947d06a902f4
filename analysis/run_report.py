"""``report.md`` for one pipeline run, from its run dir alone.

Reads ``eval/<label>/eval_metrics.json`` (base / sft / rl …), ``metrics.jsonl`` (reward and weight curves)
and whatever stage outputs the pipeline copied in (data card, simulator card, distillation report, PPL
histogram, SFT format metrics), and writes ``report.md`` plus PNGs next to them.

    python -m analysis.run_report runs/quick/2026-11-22_05-00-00
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from analysis.collect import load_run_dir
from analysis.pareto import pareto_mask
from analysis.plots import _pyplot, plot_rewards, plot_weights

PARETO_AXES = ("Semantic_Cosine", "CTCVR")  # Taiji's two objectives: LLM semantic vs recommendation preference


def _eval_tables(run_dir: Path, labels: list[str] | None = None) -> dict[str, dict]:
    """label → metrics, in ``labels`` order (e.g. base, sft, rl) when given, else alphabetical."""
    tables = {}
    for path in sorted(run_dir.glob("eval/*/eval_metrics.json")):
        data = json.loads(path.read_text())
        tables[data.get("label", path.parent.name)] = data["metrics"]
    order = [lb for lb in (labels or []) if lb in tables] + [lb for lb in tables if lb not in (labels or [])]
    return {lb: tables[lb] for lb in order}


def _fmt(m: dict | None) -> str:
    if not m or m.get("value") is None:
        return "n/a"
    lo, hi = m.get("ci_low"), m.get("ci_high")
    ci = f" [{lo:.4f}, {hi:.4f}]" if lo is not None and hi is not None else ""
    return f"{m['value']:.4f}{ci}"


def _change(a: float | None, b: float | None) -> str:
    """Relative change from ``a`` to ``b``; the absolute difference when ``a`` is 0 (no relative change exists)."""
    if a is None or b is None:
        return "n/a"
    return f"{(b - a) / abs(a):+.1%}" if a != 0 else f"{b - a:+.4f} (abs.)"


def comparison_markdown(tables: dict[str, dict]) -> str:
    """Taiji Table 1/3 layout: metric rows, one column per model, the change of the last model vs each other one
    (relative; absolute where the other model scores 0)."""
    labels = list(tables)
    metrics = list(dict.fromkeys(name for t in tables.values() for name in t))
    last, others = labels[-1], labels[:-1]
    head = f"| group | metric | {' | '.join(labels)} | " + " | ".join(f"{last} vs {o}" for o in others) + " |"
    lines = [head, "|" + "---|" * (len(labels) + 2 + len(others))]
    for name in metrics:
        group = next((t[name].get("group", "") for t in tables.values() if name in t), "")
        cells = [_fmt(tables[label].get(name)) for label in labels]
        b = tables[last].get(name, {}).get("value")
        changes = [_change(tables[o].get(name, {}).get("value"), b) for o in others]
        lines.append(f"| {group} | {name} | {' | '.join(cells)} | {' | '.join(changes)} |")
    return "\n".join(lines)


def plot_pareto(tables: dict[str, dict], path: Path) -> Path | None:
    """Each model as a point in the (Semantic_Cosine, CTCVR) plane with its 95% CI; non-dominated ones filled."""
    rows = [(label, t[PARETO_AXES[0]], t[PARETO_AXES[1]]) for label, t in tables.items()
            if all(t.get(a, {}).get("value") is not None for a in PARETO_AXES)]
    if not rows:
        return None
    pts = np.array([[x["value"], y["value"]] for _, x, y in rows], dtype=float)
    front = pareto_mask(pts, [True, True])
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    for (label, x, y), on_front in zip(rows, front):
        ax.errorbar(x["value"], y["value"],
                    xerr=[[x["value"] - x["ci_low"]], [x["ci_high"] - x["value"]]],
                    yerr=[[y["value"] - y["ci_low"]], [y["ci_high"] - y["value"]]],
                    fmt="o" if on_front else "o", mfc=None if on_front else "white", capsize=3, label=label)
    order = np.argsort(pts[front][:, 0])
    ax.plot(pts[front][order, 0], pts[front][order, 1], "k--", lw=0.8, alpha=0.6, label="Pareto front")
    ax.set_xlabel(f"{PARETO_AXES[0]} (higher is better)")
    ax.set_ylabel(f"{PARETO_AXES[1]} (higher is better)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def build_run_report(run_dir: str | Path, labels: list[str] | None = None) -> Path:
    """Write ``report.md``; ``labels`` orders the model columns (the last one is compared with each other one)."""
    run_dir = Path(run_dir)
    record = load_run_dir(run_dir)
    tables = _eval_tables(run_dir, labels)
    out = ["# rlrec run report", "", f"Run dir: `{run_dir}`", ""]
    if (run_dir / "stages.json").exists():
        stages = json.loads((run_dir / "stages.json").read_text())
        out += ["## Stages", "", "| stage | artifact | seconds | reused |", "|---|---|---:|---|"]
        out += [f"| {s['stage']} | `{s['artifact']}` | {s['seconds']:.0f} | {'yes' if s.get('reused') else 'no'} |"
                for s in stages] + [""]
    if tables:
        out += ["## Evaluation on the test split (95% bootstrap CIs)", "", comparison_markdown(tables), ""]
        pareto = plot_pareto(tables, run_dir / "pareto.png")
        if pareto:
            out += ["## Semantic vs preference objective", "", f"![Pareto]({pareto.name})", ""]
    if record.history is not None:
        weights = plot_weights([record], run_dir / "weights.png")
        rewards = plot_rewards([record], run_dir / "rewards.png")
        if weights:
            out += ["## Reward weights during RL", "", f"![weights]({weights.name})", ""]
        if rewards:
            out += ["## Rewards during RL", "", f"![rewards]({rewards.name})", ""]
    if (run_dir / "ppl_hist.png").exists():
        out += ["## PPL rejection sampling (Taiji Eq. 1)", "", "![PPL histogram](ppl_hist.png)", ""]
    for title, name in (("Distillation", "distill_report.md"), ("SFT format metrics", "format_metrics.md"),
                        ("Simulator", "simulator_card.md"), ("Data", "data_card.md")):
        if (run_dir / name).exists():
            out += [f"## {title}", "", f"See [{name}]({name}).", ""]
    path = run_dir / "report.md"
    path.write_text("\n".join(out))
    return path


if __name__ == "__main__":
    print(build_run_report(sys.argv[1], sys.argv[2].split(",") if len(sys.argv) > 2 else None))
