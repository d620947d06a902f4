"""Test-split evaluation: Taiji Table 1/3 metrics, semantic cosine, RecGPT-style health, bootstrap CIs.

Entry points: :func:`evaluate` (generate + score), :func:`compute_metrics` (score given completions),
:func:`write_result` (JSON + markdown + completions into a run dir).
"""

from rlrec.eval.bootstrap import MetricValue, bootstrap_indices, mean_with_ci, percentile_interval, statistic_with_ci
from rlrec.eval.evaluation import compute_metrics, evaluate, generation_config
from rlrec.eval.generate import BACKENDS, generate_completions
from rlrec.eval.health import item_popularity
from rlrec.eval.metrics import CtcvrScorer, Grounder, TextEncoder
from rlrec.eval.results import METRICS, EvalResult, metric_info, read_result, write_result

__all__ = [
    "BACKENDS",
    "METRICS",
    "CtcvrScorer",
    "EvalResult",
    "Grounder",
    "MetricValue",
    "TextEncoder",
    "bootstrap_indices",
    "compute_metrics",
    "evaluate",
    "generate_completions",
    "generation_config",
    "item_popularity",
    "mean_with_ci",
    "metric_info",
    "percentile_interval",
    "read_result",
    "statistic_with_ci",
    "write_result",
]
