"""Summary of a testbed sweep: each strategy's reached hypervolume against the true front's, over seeds.

For every label (strategy preset) with runs under the sweep folder:

* ``hv_ratio``: the post-RL point's hypervolume over (0, 0) divided by the best single front point's (1 = the
  policy sits at the front's most balanced point), mean and 95% t-interval over seeds, and its pre-RL value;
* ``front_gap``: how far below the front the point ends (0 = on the front);
* ``front_hv_ratio``: hypervolume of the non-dominated set of the label's seeds' points (moocore) over the true
  front's (:func:`rlrec.testbed.front.front_hypervolume`), so a strategy that lands at different front points
  across seeds covers more of it.

Rerun on a finished sweep: ``python -m rlrec.testbed.report <sweep dir>``.
"""

from __future__ import annotations

import json
import math
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from rlrec.testbed.run import RESULT_FILE

__all__ = ["summarize", "write_summary", "mean_ci"]


def mean_ci(values: list[float], level: float = 0.95) -> tuple[float, float]:
    """Mean and half-width of the two-sided t-interval (0 for one value)."""
    from scipy import stats

    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, 0.0
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return mean, float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)


def _front_hv(points: list[list[float]]) -> float:
    import moocore

    inside = [p for p in points if p[0] > 0 and p[1] > 0]
    return float(moocore.hypervolume(inside, ref=[0.0, 0.0], maximise=True)) if inside else 0.0


def summarize(folder: Path) -> dict[str, Any]:
    """Read every ``testbed_result.json`` under ``folder``; returns the summary (see the module docstring)."""
    results = [json.loads(p.read_text()) for p in sorted(Path(folder).rglob(RESULT_FILE))]
    if not results:
        raise FileNotFoundError(f"no {RESULT_FILE} under {folder}: run python -m experiments.testbed -m +sweep=testbed")
    front = results[0]["front"]
    by_label: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        by_label[r["label"]].append(r)
    rows = []
    for label, runs in by_label.items():
        hv, hv_ci = mean_ci([r["after"]["hv_ratio"] for r in runs])
        gap, gap_ci = mean_ci([r["after"]["front_gap"] for r in runs])
        points = [r["after"]["point"] for r in runs]
        rows.append({
            "label": label, "strategy": runs[0]["strategy"], "seeds": sorted(r["seed"] for r in runs),
            "hv_ratio": hv, "hv_ratio_ci95": hv_ci, "hv_ratio_before": mean_ci([r["before"]["hv_ratio"] for r in runs])[0],
            "front_gap": gap, "front_gap_ci95": gap_ci,
            "a_share": mean_ci([p[0] for p in points])[0], "a_thrift": mean_ci([p[1] for p in points])[0],
            "front_hv_ratio": _front_hv(points) / front["hypervolume"],
            "s_per_step": mean_ci([r["s_per_step"] for r in runs])[0], "points": points,
        })
    rows.sort(key=lambda row: -row["hv_ratio"])
    all_points = [r["after"]["point"] for r in results]
    return {"folder": str(folder), "runs": len(results), "front": front, "task": results[0]["task"],
            "all_strategies_front_hv_ratio": _front_hv(all_points) / front["hypervolume"], "strategies": rows}


def write_summary(summary: dict[str, Any], folder: Path) -> None:
    """``summary.json`` and a markdown table ``summary.md`` in ``folder``."""
    folder = Path(folder)
    (folder / "summary.json").write_text(json.dumps(summary, indent=2))
    front = summary["front"]
    lines = [
        f"# Known-front testbed: {summary['runs']} runs",
        "",
        f"Task {summary['task']}. True front: hypervolume {front['hypervolume']:.4f} over (0, 0) "
        f"(continuous limit {front['continuous_hypervolume']:.4f}); best single point "
        f"({front['best_single_point'][0]:.3f}, {front['best_single_point'][1]:.3f}), hypervolume {front['best_single_hv']:.4f}.",
        "",
        "| strategy | seeds | HV / best point (mean ± 95% CI) | before RL | gap below front | E a_share | E a_thrift "
        "| seeds' front HV / true front HV | s / step |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in summary["strategies"]:
        lines.append(
            f"| {r['label']} | {len(r['seeds'])} | {r['hv_ratio']:.3f} ± {r['hv_ratio_ci95']:.3f} | {r['hv_ratio_before']:.3f} "
            f"| {r['front_gap']:.3f} ± {r['front_gap_ci95']:.3f} | {r['a_share']:.3f} | {r['a_thrift']:.3f} "
            f"| {r['front_hv_ratio']:.3f} | {r['s_per_step']:.2f} |"
        )
    lines += ["", f"All strategies' points together: front HV / true front HV = {summary['all_strategies_front_hv_ratio']:.3f}."]
    (folder / "summary.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m rlrec.testbed.report <sweep dir>")
    target = Path(sys.argv[1])
    write_summary(summarize(target), target)
    print((target / "summary.md").read_text())
