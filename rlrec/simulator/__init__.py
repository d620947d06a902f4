"""Offline simulator (Taiji §2.3.2 "offline simulation environment"; seed 003 §4.1 collective feedback).

* :class:`Simulator` — a loaded artifact: batched pCTCVR / pCTR, min-max normalised pCTCVR, the grounding
  :class:`~rlrec.simulator.grounding.ItemIndex` (``.index``) and the interest clusters (``.clusters``).
* :func:`build_simulator` — labels, ESMM training, hold-out evaluation with baselines, clusters, feedback.
* :func:`ground_answers` — completions → catalogue items (parse, embed, top-k).
* :func:`load_feedback` — the pointwise / pairwise collective-feedback export of an artifact.
"""

from rlrec.simulator.artifact import (
    Simulator,
    SimulatorArtifactError,
    SimulatorMismatchError,
    find_simulator,
)
from rlrec.simulator.build import build_simulator
from rlrec.simulator.clusters import InterestClusters
from rlrec.simulator.feedback import CollectiveFeedback, FeedbackPair, FeedbackPoint, load_feedback
from rlrec.simulator.grounding import GroundedAnswers, ItemIndex, ground_answers
from rlrec.simulator.labels import LABELERS

__all__ = [
    "Simulator",
    "SimulatorArtifactError",
    "SimulatorMismatchError",
    "find_simulator",
    "build_simulator",
    "InterestClusters",
    "CollectiveFeedback",
    "FeedbackPair",
    "FeedbackPoint",
    "load_feedback",
    "GroundedAnswers",
    "ItemIndex",
    "ground_answers",
    "LABELERS",
]
