"""RUPR distillation + PPL rejection sampling (Taiji §2.1.2, §2.2.1) on the SFT split.

    python -m experiments.distill experiment=quick                   # RUPR, embedded SmolLM2 teacher
    python -m experiments.distill experiment=quick distill.rupr=false  # the "w/o RUPR" ablation
    python -m experiments.distill distill=paper distill.teacher.base_url=http://host:8000/v1  # vLLM / SGLang / API

Writes ``sft_data.jsonl`` (what `experiments.sft` trains on), ``candidates.jsonl``, ``distill_stats.json``,
``distill_report.md`` and ``ppl_hist.png`` into the run dir. Candidates are stored as they finish in a store
under ``artifacts_dir`` (or ``distill.store``): kill the run at any time and rerun to resume.
"""

from __future__ import annotations

import logging
from pathlib import Path

from experiments import stages
from experiments.common import entry_point
from rlrec.config import Config

log = logging.getLogger("rlrec")


@entry_point
def main(config: Config, run_dir: Path) -> None:
    ctx = stages.context(config, run_dir)
    folder = stages.run("distill", ctx)  # the pipeline's distill stage and cache (data stage first)
    stages.export(ctx, "distill", run_dir)
    print((folder / "distill_report.md").read_text(encoding="utf-8"))
    log.info("SFT data: %s", run_dir / "sft_data.jsonl")


if __name__ == "__main__":
    main()
