"""RecGPT's workflow as a task family (seed 001 §2-§4): interest mining (LLM_UI) → item-tag prediction (LLM_IT) →
tag-aware tri-tower retrieval (HR@30) → explanations (LLM_RE), judged by rubric judges, trained by RL (the rewards
in ``rewards/recgpt_*.py``) or by the judge-filtered self-training loop.

Modules: ``parsing`` (the one parser of task outputs + tag constraints), ``prompts`` (the three templates),
``tasks`` (task examples from the prepared data), ``towers`` / ``retrieval`` (tri-tower, two-tower and embedding
grounding, HR@K, exposure Gini), ``rubrics`` (judge criteria per task), ``agreement`` (judge vs human ACC/P/R/F1),
``explain`` (LLM_RE for (interests, retrieved item) pairs), ``self_train`` (generate → judge-filter → SFT rounds),
``stages`` (the cached stages of all of these).
"""
