"""RUPR distillation and PPL rejection sampling (Taiji §2.1.2, §2.2.1): the data the SFT warm start trains on.

teachers (hf | openai) → resumable candidate store → screening (leakage, empty, unparseable) → PPL filter.
"""

from rlrec.distill.candidates import generate_candidates, screen_candidates, work_units
from rlrec.distill.filter import keep_mask, ppl_threshold, validation_indices
from rlrec.distill.leakage import LeakageCheck
from rlrec.distill.ppl import masked_ppl, score_ppl, token_logprobs
from rlrec.distill.prompts import CandidateStatus, Screened, screen, sft_record
from rlrec.distill.stage import DistillResult, run_distillation, store_path
from rlrec.distill.store import JsonlStore
from rlrec.distill.teachers import TEACHERS, Teacher, build_teacher

__all__ = [
    "TEACHERS", "Teacher", "build_teacher", "JsonlStore", "LeakageCheck", "CandidateStatus", "Screened", "screen",
    "sft_record", "work_units", "generate_candidates", "screen_candidates", "score_ppl", "masked_ppl",
    "token_logprobs", "ppl_threshold", "keep_mask", "validation_indices", "run_distillation", "DistillResult",
    "store_path",
]
