"""Known-front testbed: a controlled two-reward task with a closed-form Pareto front, run through the real trainer.

A tiny causal LM over the vocabulary {a, b} writes T tokens; with x the share of ``a`` tokens, the rewards are
``a_share = x`` and ``a_thrift = 1 - x^p``. Every policy's expected reward vector lies under the front
``f(m) = 1 - m^p`` (piecewise linear between the T + 1 achievable shares), so the hypervolume a strategy
reaches can be compared with the true front's in minutes on CPU (:mod:`rlrec.testbed.front`). The run is
:func:`rlrec.testbed.run.run_testbed`; the sweep summary :func:`rlrec.testbed.report.summarize`; the entry point
``python -m experiments.testbed`` (``-m +sweep=testbed`` for every strategy x 3 seeds).
"""

from rlrec.testbed.config import TaskConfig, TestbedConfig

__all__ = ["TaskConfig", "TestbedConfig"]
