"""RecGPT's workflow end to end (issue #19): data → tri-tower / two-tower → tags → retrieval report (HR@K with CIs).

    python -m experiments.recgpt                                   # Instacart, history tags, no LLM
    python -m experiments.recgpt task.report_llm_users=8          # also LLM_IT tags from model.policy for 8 users
    python -m experiments.recgpt data=movielens100k task.towers.epochs=5

Shares the pipeline's stage cache (experiments/stages.py): data and ``tri_tower`` are reused when present. Writes
``recgpt_retrieval.json`` / ``recgpt_retrieval.md`` (and ``recgpt_llm_tags.jsonl``) into the run dir.
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
    from rlrec.recgpt.workflow import report_markdown, retrieval_workflow

    ctx = stages.context(config, run_dir)
    prepared = stages.run("data", ctx)
    towers = stages.run("tri_tower", ctx)
    report = retrieval_workflow(config, prepared, towers, run_dir, ctx.embedder(), llm_users=config.task.report_llm_users)
    (run_dir / "recgpt_retrieval.md").write_text(report_markdown(report))
    log.info("RecGPT retrieval report: %s", run_dir / "recgpt_retrieval.md")


if __name__ == "__main__":
    main()
