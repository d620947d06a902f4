"""rlrec: post-training LLM recommenders with reinforcement learning, centred on reward shaping."""

__version__ = "0.1.0"
