"""LLM-as-judge helpers for the ``judge`` reward: the RecGPT rubric and the judge backends."""
