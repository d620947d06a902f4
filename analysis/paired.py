"""Paired comparisons: two models scored on the same test examples and seeds, compared example by example.

Evaluation writes one row per completion to ``<run>/eval/<label>/completions.jsonl`` (``example_id`` and
every per-example metric). A comparison of variant ``A`` with baseline ``B`` on metric ``m``:

* per seed ``s`` (the runs of A and B with the same seed), the per-example difference
  ``d_s[n] = m_A(n) − m_B(n)`` over the examples both scored (``m(n)`` = mean over an example's completions;
  an example where either value is undefined is left out and counted);
* the estimate is ``Δ = mean_s mean_n d_s[n]`` (every seed weighs the same);
* its CI is a two-level (hierarchical) percentile bootstrap: each replicate draws the seeds with replacement
  and, inside each drawn seed, its examples with replacement — so the interval carries both the test-set
  noise and the seed-to-seed noise. With one seed it is the plain paired bootstrap over examples.
  Two-sided bootstrap p-value ``p = min(1, 2·min(P*(Δ* ≤ 0), P*(Δ* ≥ 0)))`` and a Holm step-down over the
  whole family of comparisons in one report, so "significant" does not grow with the number of metrics.

Pairing removes the between-example variance both models share (a hard example is hard for both), which
is what makes a 0.01 change detectable on a few hundred test users. Corpus-level metrics (coverage, Gini)
have no per-example value and are not compared here; their CIs stay in the ablation table.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.collect import Runs

__all__ = ["PairedDiff", "per_example_values", "paired_bootstrap", "holm", "compare_variants", "compare_models",
           "paired_markdown", "plain_words", "every_seed"]

NOT_METRICS = {"example_id", "user_id", "target_item_id", "completion", "status", "title", "categories",
               "grounded_item", "grounded_sim"}


@dataclass(frozen=True)
class PairedDiff:
    """One paired comparison ``a − b`` on one metric (pooled over seeds, or one seed when ``seed`` is set)."""

    metric: str
    a: str  # the compared variant / model label
    b: str  # its baseline
    diff: float  # Δ = mean over seeds of the mean per-example difference
    ci_low: float
    ci_high: float
    p_value: float
    n_seeds: int
    n_examples: int  # paired examples, summed over seeds
    higher_is_better: bool | None
    seed: object = None  # None = pooled over seeds
    significant: bool = False  # CI excludes 0 after the Holm correction of the report's family (set by holm())

    @property
    def excludes_zero(self) -> bool:
        return bool(np.isfinite(self.ci_low) and (self.ci_low > 0 or self.ci_high < 0))

    def better(self) -> str | None:
        """Which side the difference favours given the metric's direction (None when unknown or not significant)."""
        if not self.significant or self.higher_is_better is None:
            return None
        return self.a if (self.diff > 0) == self.higher_is_better else self.b


def per_example_values(run_path: str | Path, label: str) -> pd.DataFrame | None:
    """``[N examples, metrics]`` indexed by ``example_id``: each metric's mean over the example's completions
    (NaN where undefined). None when the run has no ``eval/<label>/completions.jsonl``."""
    path = Path(run_path) / "eval" / label / "completions.jsonl"
    if not path.exists():
        return None
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if not rows:
        return None
    frame = pd.DataFrame(rows)
    if "example_id" not in frame:
        raise ValueError(f"{path}: rows have no 'example_id'; re-run the evaluation with this version of rlrec")
    metrics = [c for c in frame.columns if c not in NOT_METRICS and pd.api.types.is_numeric_dtype(frame[c])]
    frame["example_id"] = frame["example_id"].astype(str)
    return frame.groupby("example_id", sort=True)[metrics].mean()  # NaN-aware: undefined values are skipped


def paired_bootstrap(
    diffs: Sequence[np.ndarray], n_resamples: int = 2000, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float, float, float]:
    """``(Δ, ci_low, ci_high, p)`` from per-seed per-example differences ``diffs = [d_s [N_s] for each seed]``
    (see the module docstring). Seeds with no paired example are dropped; all empty → NaNs."""
    diffs = [np.asarray(d, dtype=np.float64) for d in diffs]
    diffs = [d[np.isfinite(d)] for d in diffs]
    diffs = [d for d in diffs if d.size]
    if not diffs:
        return math.nan, math.nan, math.nan, math.nan
    rng = np.random.default_rng(seed)
    n_seeds, r = len(diffs), int(n_resamples)
    point = float(np.mean([d.mean() for d in diffs]))
    # inner level: R·S example resamples of every seed, so two draws of the same seed in one replicate differ
    inner = np.stack([d[rng.integers(0, d.size, size=(r * n_seeds, d.size))].mean(axis=1) for d in diffs])  # [S, R·S]
    if n_seeds == 1:
        replicates = inner[0, :r]
    else:
        picked = rng.integers(0, n_seeds, size=(r, n_seeds))  # outer level: seeds with replacement [R, S]
        column = np.arange(r)[:, None] * n_seeds + np.arange(n_seeds)[None, :]  # [R, S] a fresh inner draw per slot
        replicates = inner[picked, column].mean(axis=1)  # [R]
    alpha = 1.0 - confidence
    low, high = np.quantile(replicates, [alpha / 2, 1 - alpha / 2])
    p = min(1.0, 2.0 * min(np.mean(replicates <= 0), np.mean(replicates >= 0)))
    return point, float(low), float(high), float(p)


def holm(results: Sequence[PairedDiff], alpha: float = 0.05) -> list[PairedDiff]:
    """The same comparisons with ``significant`` set by Holm's step-down on their p-values (family = ``results``):
    sorted by p, the i-th (0-based) of m passes while ``p ≤ α / (m − i)``; a comparison also needs its CI to
    exclude 0. Returned in the input order."""
    m = sum(1 for r in results if np.isfinite(r.p_value))
    order = sorted((i for i, r in enumerate(results) if np.isfinite(r.p_value)), key=lambda i: results[i].p_value)
    passed: set[int] = set()
    for rank, i in enumerate(order):
        if results[i].p_value > alpha / (m - rank):
            break
        passed.add(i)
    return [replace(r, significant=i in passed and r.excludes_zero) for i, r in enumerate(results)]


def _diffs(a: Mapping[object, pd.DataFrame], b: Mapping[object, pd.DataFrame], metric: str,
           where: str | None = None) -> dict[object, np.ndarray]:
    """Per seed present on both sides: ``a − b`` over the examples both have a value for (and, with ``where``,
    on which both sides' ``where`` column is > 0, e.g. both answered)."""
    out = {}
    for seed in sorted(set(a) & set(b), key=str):
        if metric not in a[seed] or metric not in b[seed]:
            continue
        left, right = a[seed], b[seed]
        if where is not None:
            if where not in left or where not in right:
                continue
            left, right = left[left[where] > 0], right[right[where] > 0]
        joined = left[[metric]].join(right[[metric]], how="inner", lsuffix="_a", rsuffix="_b").dropna()
        out[seed] = (joined[f"{metric}_a"] - joined[f"{metric}_b"]).to_numpy()
    return out


def _compare(name_a, name_b, a, b, metrics, directions, per_seed, n_resamples, confidence, seed,
             where=None) -> list[PairedDiff]:
    results = []
    for metric in metrics:
        diffs = _diffs(a, b, metric, where)
        if not diffs:
            continue
        hib = directions.get(metric)
        groups = [(None, list(diffs.values()))] + ([(s, [d]) for s, d in diffs.items()] if per_seed else [])
        for which, ds in groups:
            diff, low, high, p = paired_bootstrap(ds, n_resamples, confidence, seed)
            results.append(PairedDiff(metric, name_a, name_b, diff, low, high, p, len(ds), int(sum(d.size for d in ds)),
                                      hib, which))
    return results


def _values(runs: Runs, variant: str, label: str) -> dict[object, pd.DataFrame]:
    """seed → per-example values of the ``label`` model, for the runs of ``variant`` (local run dirs only)."""
    rows = runs.table[(runs.table["variant"] == variant) & (runs.table["model"] == label)]
    out = {}
    for _, row in rows.iterrows():
        values = per_example_values(row["path"], label) if isinstance(row["path"], str) else None
        if values is not None:
            out[row["seed"]] = values
    return out


def default_metrics(runs: Runs, values: Sequence[pd.DataFrame], objectives: Sequence[str] = ()) -> list[str]:
    """The objectives first, then every other per-example metric the runs have, in ablation-table order."""
    present = list(dict.fromkeys(c for v in values for c in v.columns))
    known = [m for m in runs.metrics() if m in present]
    return list(dict.fromkeys([*[o for o in objectives if o in present], *known, *present]))


def compare_variants(runs: Runs, model: str, baseline: str, metrics: Sequence[str] | None = None,
                     objectives: Sequence[str] = (), n_resamples: int = 2000, confidence: float = 0.95,
                     seed: int = 0) -> list[PairedDiff]:
    """Every variant's ``model`` against the baseline variant's, paired over seeds and test examples (pooled)."""
    variants = sorted(runs.table.loc[runs.table["model"] == model, "variant"].unique())
    base = _values(runs, baseline, model)
    results: list[PairedDiff] = []
    for variant in [v for v in variants if v != baseline]:
        values = _values(runs, variant, model)
        chosen = list(metrics) if metrics else default_metrics(runs, [*values.values(), *base.values()], objectives)
        results += _compare(variant, baseline, values, base, chosen, runs.directions, False, n_resamples, confidence, seed)
    return results


def compare_models(runs: Runs, model: str, reference: str, metrics: Sequence[str] | None = None,
                   objectives: Sequence[str] = (), n_resamples: int = 2000, confidence: float = 0.95,
                   seed: int = 0, where: str | None = None) -> list[PairedDiff]:
    """Within every variant, the ``model`` (e.g. rl) against the ``reference`` model (e.g. sft) of the same run:
    pooled over seeds and one row per seed (issue 15's "RL beats SFT on each of 3 seeds").

    ``where``: only the examples on which both models' ``where`` value is > 0. With ``Answer_Non_Empty_Rate``
    it separates "recommends better" from "answers more often" (an unanswered completion scores 0)."""
    results: list[PairedDiff] = []
    for variant in sorted(runs.table["variant"].unique()):
        a, b = _values(runs, variant, model), _values(runs, variant, reference)
        chosen = list(metrics) if metrics else default_metrics(runs, [*a.values(), *b.values()], objectives)
        name = f"{model} ({variant})" if where is None else f"{model} ({variant}; both {where} > 0)"
        results += _compare(name, reference, a, b, chosen, runs.directions, True, n_resamples, confidence, seed,
                            where)
    return results


def every_seed(results: Sequence[PairedDiff]) -> str:
    """One sentence per (comparison, metric) whose per-seed differences are all significant in A's favour —
    issue 15's bar ("a paired 95% CI that excludes 0 on each of 3 seeds") — or "none met it"."""
    per: dict[tuple[str, str, str], list[PairedDiff]] = {}
    for r in results:
        if r.seed is not None:
            per.setdefault((r.a, r.b, r.metric), []).append(r)
    met = [f"{a} beats {b} on {metric} on each of its {len(rs)} seeds"
           for (a, b, metric), rs in per.items() if len(rs) > 1 and all(r.better() == a for r in rs)]
    if not met:
        return "No comparison is significant in A's favour on every seed.\n"
    return "Significant in A's favour on every seed: " + "; ".join(met) + ".\n"


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "n/a"
    return f"{x:+.6f}" if 0 < abs(x) < 0.01 else f"{x:+.4f}"


def paired_markdown(results: Sequence[PairedDiff], confidence: float = 0.95) -> str:
    """Table: comparison, metric, seed, Δ, CI, p, Holm verdict, paired n."""
    lines = [f"| A | vs B | Metric | Seed | Δ = A − B | {confidence:.0%} CI | p | Significant (Holm) | Better | Paired n |",
             "|---|---|---|---|---:|---:|---:|---|---|---:|"]
    for r in results:
        lines.append(
            f"| {r.a} | {r.b} | {r.metric} | {'all' if r.seed is None else r.seed} | {_fmt(r.diff)} | "
            f"[{_fmt(r.ci_low)}, {_fmt(r.ci_high)}] | {r.p_value:.3f} | {'yes' if r.significant else 'no'} | "
            f"{r.better() or '—'} | {r.n_examples} |"
        )
    return "\n".join(lines) + "\n"


def plain_words(results: Sequence[PairedDiff], confidence: float = 0.95) -> str:
    """The verdicts in sentences: which differences are significant (and in whose favour), which are not."""
    if not results:
        return "No paired comparison could be made (no run has `eval/<label>/completions.jsonl` on both sides).\n"
    significant = [r for r in results if r.significant]
    lines = [f"{len(significant)} of {len(results)} paired differences are significant at {confidence:.0%} "
             f"(bootstrap CI excludes 0 and Holm-corrected p ≤ {1 - confidence:.2f} over these {len(results)} tests)."]
    for r in significant:
        favour = f"{r.better()} is better" if r.better() else "which side is better is unknown (no direction)"
        lines.append(f"- **Significant:** {r.a} vs {r.b} on {r.metric} ({_where(r)}): Δ = {_fmt(r.diff)}, "
                     f"CI [{_fmt(r.ci_low)}, {_fmt(r.ci_high)}]; {favour}.")
    rest: dict[tuple, list[str]] = {}
    for r in results:
        if not r.significant:
            note = "" if not r.excludes_zero else " (CI excludes 0, not after Holm)"
            rest.setdefault((r.a, r.b, _where(r)), []).append(f"{r.metric}{note}")
    for (a, b, where), names in rest.items():
        lines.append(f"- Not significant: {a} vs {b} ({where}) on {', '.join(names)}.")
    return "\n".join(lines) + "\n"


def _where(r: PairedDiff) -> str:
    return "pooled over seeds" if r.seed is None else f"seed {r.seed}"
