"""Analysis of finished runs: collect (run dirs or W&B) → Pareto fronts, hypervolume, ablation tables, plots.

Depends on run artifacts only (config.yaml, summary.json, metrics.jsonl, eval/<label>/eval_metrics.json,
reward_metadata.json); it never imports the training code. Entry point: ``python -m analysis.report``.
"""
