"""Taiji Stage 4 (§2.4, Table 2): the post-trained LLM as an enhancer of a ranking model.

Each policy's output for a user (from the history before the user's cut-off) is embedded with the configured
embedder, product-quantized into sparse ids (faiss ``ProductQuantizer``) and used to retrieve the most similar
other user (faiss ``IndexFlatIP`` on normalised vectors), whose recent events become an extra behaviour sequence.
A ranking model (ESMM towers over DIN-style attention) is trained with and without each enhancement and scored by
CTR / CTCVR AUC, GAUC and log-loss with paired bootstrap CIs over users, overall and on long-tail users.

    cohort.build_cohort -> stage.generate_outputs (per policy, cached) -> run.evaluate_policies -> report

Entry point: ``python -m experiments.enhance`` (the opt-in stage ``enhance_outputs`` in experiments/stages.py).
"""

from rlrec.enhance.cohort import Cohort, build_cohort, cohort_prompts
from rlrec.enhance.features import (
    EnhancerLeakError,
    ProductCodes,
    SimilarUsers,
    embed_outputs,
    fit_pq,
    fit_similar_users,
    future_answer_rate,
    neighbour_sequences,
)
from rlrec.enhance.metrics import METRICS, score_variants, weighted_auc
from rlrec.enhance.ranker import EnhancedRanker, RankerInputs, predict, train_ranker
from rlrec.enhance.run import VARIANTS, EnhanceResult, evaluate_policies, fitted_state, policy_features, run_variants

__all__ = [
    "Cohort", "build_cohort", "cohort_prompts",
    "EnhancerLeakError", "ProductCodes", "SimilarUsers", "embed_outputs", "fit_pq", "fit_similar_users",
    "future_answer_rate", "neighbour_sequences",
    "METRICS", "score_variants", "weighted_auc",
    "EnhancedRanker", "RankerInputs", "predict", "train_ranker",
    "VARIANTS", "EnhanceResult", "evaluate_policies", "fitted_state", "policy_features", "run_variants",
]
