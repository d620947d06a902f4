"""Seed 003 (user-feedback alignment for LLM exploration): novelty model, alignment reward model, best-of-n.
The reward-hacking monitor lives next to the trainer that logs it (:mod:`rlrec.trainers.monitor`).

* :mod:`~rlrec.alignment.text` — THE input rendering of the reward model (:func:`alignment_input`) and the
  novelty model's prompt; every scorer uses it.
* :mod:`~rlrec.alignment.feedback` — collective feedback → pointwise / pairwise rows, held-out ranking groups.
* :mod:`~rlrec.alignment.losses` — pointwise (soft-label cross-entropy) and pairwise (Bradley–Terry) losses.
* :mod:`~rlrec.alignment.reward_model` — load / score / save a num_labels=1 sequence-classification model.
* :mod:`~rlrec.alignment.training` — :data:`RM_MODES`, training with F1@K checkpoint selection.
* :mod:`~rlrec.alignment.ranking` — F1@K / NDCG@K with a random baseline.
* :mod:`~rlrec.alignment.novelty` — novel-transition mining, novelty SFT, cluster matching, transition table.
* :mod:`~rlrec.alignment.best_of_n` — best-of-n selection, control arms, novelty / engagement / UEUC.
* :mod:`~rlrec.alignment.stages` — the two stages the entry points run (needs a simulator artifact).

Light imports only here: the submodules that pull in transformers / TRL are imported where used.
"""

from rlrec.alignment.ranking import RankingGroup, evaluate_ranking, f1_at_k, ndcg_at_k
from rlrec.alignment.text import alignment_input, novelty_prompt

__all__ = [
    "RankingGroup", "evaluate_ranking", "f1_at_k", "ndcg_at_k",
    "alignment_input", "novelty_prompt",
]
