"""``python -m analysis.report <sweep_dir | wandb:entity/project/group> [more sources…]`` → report.md, CSVs, PNGs.

Several sources are pooled into one analysis (e.g. the ``fixed_weights`` and ``weighting_strategies``
sweeps on one Pareto plot). Writes into ``--out`` (default ``<first sweep_dir>/report``, or
``runs/reports/<group>`` for W&B):
``report.md``, ``runs.csv``, ``pareto_points.csv``, ``hypervolume.csv``, ``ablation_<model>.csv``,
``pareto_fronts.png`` and, when the runs logged them, ``weights.png`` and ``rewards.png``; with the runs'
per-example evaluation rows (``eval/<label>/completions.jsonl``), ``paired_variants.csv`` (every strategy vs
the baseline, paired over test examples and seeds) and ``paired_vs_<reference>.csv`` (the model vs the SFT
model of the same run, per seed), whose verdicts the report states in plain words. ``--wandb`` also logs the
fronts, tables and PNGs into the sweep's W&B group (:mod:`analysis.wandb_report`; offline unless a key is set).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from analysis.collect import Runs, collect, runs_table
from analysis.fronts import FrontAnalysis, analyse_fronts
from analysis.paired import PairedDiff, compare_models, compare_variants, every_seed, holm, paired_markdown, plain_words
from analysis.plots import plot_fronts, plot_rewards, plot_weights
from analysis.tables import ablation_table, default_model, format_value

__all__ = ["build_report", "main"]

log = logging.getLogger("analysis.report")


def _csv_list(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def _runs_markdown(runs: Runs, fronts: FrontAnalysis) -> str:
    cols = ["variant", "seed", "model", *fronts.objectives]
    table = runs.table[[c for c in cols if c in runs.table]].sort_values(["model", "variant", "seed"])
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    for _, r in table.iterrows():
        lines.append("| " + " | ".join(format_value(v) if isinstance(v, float) else str(v) for v in r) + " |")
    return "\n".join(lines) + "\n"


def _paired_csv(results: list[PairedDiff], path: Path) -> None:
    pd.DataFrame([dataclasses.asdict(r) for r in results]).to_csv(path, index=False)


ANSWERED = "Answer_Non_Empty_Rate"  # per-example: 1 when the completion has a non-empty answer


def _paired_section(title: str, results: list[PairedDiff], path: Path, what: str, per_seed: bool = False) -> list[str]:
    if not results:
        return [f"## {title}", "", f"No paired comparison: {what}.", ""]
    _paired_csv(results, path)
    head = [every_seed(results)] if per_seed else []
    return [f"## {title}", "", *head, plain_words(results), "", paired_markdown(results), ""]


def build_report(
    source: str | Sequence[str],
    out: str | Path | None = None,
    objectives: Sequence[str] | None = None,
    model: str | None = None,
    extra_models: Sequence[str] = (),
    baseline: str | None = None,
    by: Sequence[str] | None = None,
    reference: Sequence[float] | None = None,
    maximize: Sequence[str] = (),
    minimize: Sequence[str] = (),
    n_resamples: int = 1000,
    seed: int = 0,
    reference_model: str = "sft",
    wandb: bool = False,
    wandb_settings: dict | None = None,
) -> Path:
    """Collect the runs of ``source`` (one or several) and write the report; returns the path of report.md.

    ``reference_model``: the model label each run's ``model`` is compared with, example by example (default sft).
    ``wandb``: also log the report into W&B (``wandb_settings``: project / entity / group / mode overrides).
    """
    sources = [source] if isinstance(source, str) else list(source)
    records = []
    for src in sources:
        found = collect(src)
        if len(sources) > 1:  # keep run ids unique across sources
            for record in found:
                record.run_id = f"{Path(src.removeprefix('wandb:')).name}/{record.run_id}"
        records += found
    runs = runs_table(records, by=by)
    first = sources[0]
    if out is None:
        out = Path("runs/reports") / first.split("/")[-1] if first.startswith("wandb:") else Path(first) / "report"
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model = model or default_model(runs.table)
    directions = {**{m: True for m in maximize}, **{m: False for m in minimize}}
    fronts = analyse_fronts(runs, objectives, model, reference, directions, n_resamples=n_resamples, seed=seed)

    runs.table.to_csv(out / "runs.csv", index=False)
    fronts.points.to_csv(out / "pareto_points.csv", index=False)
    fronts.hypervolume.to_csv(out / "hypervolume.csv", index=False)
    plot_fronts(fronts, out / "pareto_fronts.png")
    weights_png = plot_weights(runs.records, out / "weights.png")
    rewards_png = plot_rewards(runs.records, out / "rewards.png")

    n_runs = runs.table["run"].nunique()
    variants = sorted(runs.table["variant"].unique())
    md = [
        "# rlrec sweep report",
        "",
        f"Source: {', '.join(f'`{s}`' for s in sources)} — {n_runs} run(s), {len(variants)} variant(s): {', '.join(f'`{v}`' for v in variants)}.",
        f"Model labels: {', '.join(sorted(runs.table['model'].unique()))}; fronts and the main ablation use `{model}`.",
        "",
        "## Pareto fronts and hypervolume",
        "",
        fronts.hypervolume_markdown(),
        "![Pareto fronts](pareto_fronts.png)",
        "",
    ]
    paired: dict[str, list[PairedDiff]] = {}
    for label in dict.fromkeys([model, *extra_models]):
        table = ablation_table(runs, model=label, baseline=baseline)
        if label == model:  # strategies vs the baseline, paired over the same test examples and seeds
            paired["variants"] = holm(compare_variants(runs, model, table.baseline, objectives=fronts.objectives,
                                                       n_resamples=n_resamples, seed=seed))
            table.significance = {(r.metric, r.a): r.significant for r in paired["variants"]}
            base_variant = table.baseline
        table.to_csv(out / f"ablation_{label}.csv")
        md += [f"## Ablation ({label} model), Taiji Table 3/4 layout", "", table.to_markdown(), ""]
    md += _paired_section(f"Paired differences: each variant vs {base_variant} ({model} model)",
                          paired["variants"], out / "paired_variants.csv",
                          "the runs have no per-example rows (eval/<label>/completions.jsonl) or a single variant")
    if reference_model != model and reference_model in set(runs.table["model"]):
        paired["reference"] = holm(compare_models(runs, model, reference_model, objectives=fronts.objectives,
                                                  n_resamples=n_resamples, seed=seed))
        md += _paired_section(f"Paired differences: {model} vs {reference_model} within each run (per seed and pooled)",
                              paired["reference"], out / f"paired_vs_{reference_model}.csv",
                              "the runs have no per-example rows (eval/<label>/completions.jsonl)", per_seed=True)
        # "answers more often" or "recommends better"? The objectives again, on the prompts both models answered
        answered = paired["answered"] = holm(compare_models(runs, model, reference_model, metrics=fronts.objectives, n_resamples=n_resamples,
                                       seed=seed, where=ANSWERED))
        md += _paired_section(f"The same objectives on the test examples both {model} and {reference_model} answered",
                              answered, out / f"paired_vs_{reference_model}_answered.csv",
                              f"the per-example rows have no {ANSWERED} column", per_seed=True)
    md += ["## Training curves", ""]
    md.append("![Reward weights](weights.png)" if weights_png else "No `weights/<reward>` history logged by these runs.")
    md.append("")
    md.append("![Reward curves](rewards.png)" if rewards_png else "No `reward/<name>/mean` history logged by these runs.")
    md += ["", "## Runs", "", _runs_markdown(runs, fronts)]
    path = out / "report.md"
    path.write_text("\n".join(md))
    if wandb:
        from analysis.wandb_report import log_report

        url = log_report(out, runs, fronts, paired, sources, reference_model=reference_model, **(wandb_settings or {}))
        log.info("report logged to W&B: %s", url)
    return path


def main(argv: Sequence[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(prog="python -m analysis.report", description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="+", help="sweep or run directories, or wandb:entity/project/group")
    parser.add_argument("--out", help="output folder (default: <source>/report)")
    parser.add_argument("--objectives", help="comma-separated objective metrics (default: what the runs declare)")
    parser.add_argument("--model", help="model label analysed (default: rl, else final, else the most common)")
    parser.add_argument("--tables", default="", help="extra model labels to tabulate, e.g. sft,base")
    parser.add_argument("--baseline", help="baseline variant of the ablation tables (default: first in sorted order)")
    parser.add_argument("--by", help="label variants by these config keys instead of the sweep overrides")
    parser.add_argument("--reference", help="comma-separated reference point (default: the SFT model's scores)")
    parser.add_argument("--maximize", default="", help="objectives to maximise, overriding run metadata")
    parser.add_argument("--minimize", default="", help="objectives to minimise, overriding run metadata")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the hypervolume CI")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reference-model", default="sft", help="model label each run's model is paired with (default sft)")
    parser.add_argument("--wandb", action="store_true", help="also log fronts, tables and PNGs into the sweep's W&B group")
    parser.add_argument("--wandb-project", help="W&B project (default: the runs' logger.project, else rlrec)")
    parser.add_argument("--wandb-entity", help="W&B entity (default: the runs' logger.entity)")
    parser.add_argument("--wandb-group", help="W&B group (default: the runs' logger.group, else the sweep folder name)")
    parser.add_argument("--wandb-mode", choices=("offline", "online"), default=None,
                        help="default offline; online needs WANDB_API_KEY (falls back to offline without one)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    path = build_report(
        args.source,
        out=args.out,
        objectives=_csv_list(args.objectives),
        model=args.model,
        extra_models=_csv_list(args.tables) or (),
        baseline=args.baseline,
        by=_csv_list(args.by),
        reference=[float(v) for v in _csv_list(args.reference)] if args.reference else None,
        maximize=_csv_list(args.maximize) or (),
        minimize=_csv_list(args.minimize) or (),
        n_resamples=args.bootstrap,
        seed=args.seed,
        reference_model=args.reference_model,
        wandb=args.wandb,
        wandb_settings={"project": args.wandb_project, "entity": args.wandb_entity, "group": args.wandb_group,
                        "mode": args.wandb_mode},
    )
    print(f"report written to {path}")
    return path


if __name__ == "__main__":
    main()
