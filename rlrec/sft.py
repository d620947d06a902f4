"""ORFT (Taiji §2.2.2, Eq. 2): supervised fine-tuning on the kept CoT samples, and the Table 3 format metrics.

    L_ORFT = -(1/N) sum_i sum_j log P(t_j | q_i, t_<j),   t = the completion (<think> CoT + <answer>) only.

TRL's ``SFTTrainer`` does the training: the samples are conversational prompt-completion records, so it
applies the chat template and, with ``completion_only_loss=True``, masks the prompt tokens out of the loss.
Full fine-tuning or PEFT LoRA (merged into a plain checkpoint by default) by config. The checkpoint folder is
what the RL stage starts from.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rlrec.answer import parse_answer
from rlrec.config import ModelConfig, SFTConfig
from rlrec.lora import peft_lora_config

log = logging.getLogger(__name__)

FORMAT_METRICS = ("Think_Tag_Presence_Rate", "Think_Non_Empty_Rate", "Answer_Non_Empty_Rate")


def format_metrics(completions: Sequence[Any]) -> dict[str, float]:
    """Taiji Table 3 format rates over ``completions`` (fractions in [0, 1]), plus the strict parse rate."""
    parsed = [parse_answer(c) for c in completions]
    n = len(parsed)

    def rate(flags) -> float:
        return sum(flags) / n if n else 0.0

    return {
        "Think_Tag_Presence_Rate": rate(p.think_tag_present for p in parsed),
        "Think_Non_Empty_Rate": rate(p.think_non_empty for p in parsed),
        "Answer_Non_Empty_Rate": rate(p.answer_non_empty for p in parsed),
        "Parse_OK_Rate": rate(p.ok for p in parsed),
        "n": n,
    }


def load_sft_records(path: str | Path) -> list[dict[str, Any]]:
    """Prompt-completion records from a ``sft_data.jsonl`` written by the distill stage."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"sft.train_file {path} does not exist; run `python -m experiments.distill` first, "
                                "or leave sft.train_file empty to distil now")
    records = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            record = json.loads(line)
            if "prompt" not in record or "completion" not in record:
                raise ValueError(f"{path}:{number} has no 'prompt'/'completion' field; expected records written by "
                                 "rlrec.distill (sft_data.jsonl)")
            records.append(record)
    if not records:
        raise ValueError(f"{path} holds no SFT samples: every candidate was rejected (see distill_report.md next to it); "
                         "raise distill.num_candidates, distill.ppl.percentile or distill.teacher.max_new_tokens")
    return records


def trl_args(cfg: SFTConfig, output_dir: Path, seed: int, report_to: str | list[str] = "none"):
    """The ``trl.SFTConfig`` for ``cfg``: completion-only loss, no intermediate checkpoints."""
    from trl import SFTConfig as TRLSFTConfig

    return TRLSFTConfig(
        output_dir=str(output_dir),
        num_train_epochs=cfg.epochs,
        learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler,
        warmup_steps=cfg.warmup_ratio,  # a float in [0, 1) is a ratio of the total steps
        weight_decay=cfg.weight_decay,
        per_device_train_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        max_length=cfg.max_length,
        completion_only_loss=True,  # Eq. 2: the sum runs over completion tokens only
        activation_checkpointing=cfg.gradient_checkpointing,  # transformers 5 name; TRL reads the mirrored alias
        bf16=cfg.bf16,
        logging_steps=cfg.logging_steps,
        save_strategy="no",
        report_to=report_to,
        seed=seed,
        disable_tqdm=False,
        dataloader_pin_memory=_cuda(),
    )


def count_too_long(records: Sequence[dict[str, Any]], tokenizer: Any, max_length: int | None) -> int:
    """Samples whose chat-rendered prompt + completion exceeds ``max_length`` tokens (0 when None)."""
    if max_length is None:
        return 0
    texts = [tokenizer.apply_chat_template(r["prompt"] + r["completion"], tokenize=False) for r in records]
    lengths = [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
    return sum(n > max_length for n in lengths)


def lora_config(cfg: SFTConfig):
    """PEFT ``LoraConfig`` for the student (``cfg.lora``), or None for full fine-tuning."""
    return peft_lora_config(cfg.lora, task_type="CAUSAL_LM")


def build_trainer(
    records: Sequence[dict[str, Any]],
    model: str,
    cfg: SFTConfig,
    out_dir: str | Path,
    seed: int = 0,
    dtype: str = "float32",
    report_to: str | list[str] = "none",
    callbacks: Sequence[Any] = (),
):
    """The TRL ``SFTTrainer`` for ``records`` (only their prompt/completion columns) on ``model`` (a name for
    :func:`rlrec.assets.resolve_model_path`), with LoRA when ``cfg.lora.enabled``. ``callbacks``: extra
    ``TrainerCallback``s (e.g. ``rlrec.logging.RunLoggerCallback``)."""
    from datasets import Dataset
    from trl import SFTTrainer

    from rlrec.assets import load_tokenizer, resolve_model_path
    from rlrec.fused_head import score_labelled_positions_only

    score_labelled_positions_only()  # the prompt tokens carry no label: do not project them on CPU either
    dataset = Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]} for r in records])
    args = trl_args(cfg, Path(out_dir) / "trainer", seed, report_to)
    args.model_init_kwargs = {"dtype": dtype}
    tokenizer = load_tokenizer(model)
    too_long = count_too_long(records, tokenizer, cfg.max_length)
    if too_long:
        log.warning("sft: %d of %d samples are longer than sft.max_length=%s tokens; TRL keeps their start, so the "
                    "end of the completion (the answer) is cut. Raise sft.max_length or lower data.prompt_token_budget.",
                    too_long, len(records), cfg.max_length)
    return SFTTrainer(
        model=resolve_model_path(model),
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=lora_config(cfg),
        callbacks=list(callbacks) or None,
    )


def train_sft(
    records: Sequence[dict[str, Any]],
    model: str,
    cfg: SFTConfig,
    out_dir: str | Path,
    seed: int = 0,
    dtype: str = "float32",
    report_to: str | list[str] = "none",
    callbacks: Sequence[Any] = (),
) -> Path:
    """Fine-tune ``model`` on ``records``; returns the checkpoint folder ``out_dir/checkpoint`` (model +
    tokenizer, LoRA merged unless ``lora.merge`` is off), plus ``sft_log.json`` and ``sft_loss.png``."""
    out_dir = Path(out_dir)
    trainer = build_trainer(records, model, cfg, out_dir, seed, dtype, report_to, callbacks)
    tokenizer = trainer.processing_class
    result = trainer.train()
    checkpoint = out_dir / "checkpoint"
    if cfg.lora.enabled and cfg.lora.merge:
        trainer.model.merge_and_unload().save_pretrained(checkpoint)
    else:
        trainer.save_model(str(checkpoint))
    tokenizer.save_pretrained(checkpoint)
    history = trainer.state.log_history
    (out_dir / "sft_log.json").write_text(json.dumps({"train": result.metrics, "history": history}, indent=1))
    _plot_loss(history, out_dir / "sft_loss.png")
    log.info("sft: %d samples, train loss %.4f, checkpoint %s", len(records), result.training_loss, checkpoint)
    return checkpoint


@dataclass
class FormatEval:
    model: str
    metrics: dict[str, float]
    completions: list[str]


def evaluate_format(model_name: str, prompts: Sequence[str], cfg: SFTConfig, model: ModelConfig | None = None) -> FormatEval:
    """Generate once per prompt with ``model_name`` (greedy by default) and compute the format rates.

    ``model`` (default: :class:`ModelConfig` defaults) gives the dtype and, when ``cfg.eval_max_new_tokens`` is
    None, the completion length (``model.max_new_tokens``)."""
    import torch

    from rlrec.assets import load_causal_lm
    from rlrec.generation import GenerationConfig, generate

    model = model or ModelConfig()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    lm, tokenizer = load_causal_lm(model_name, dtype=model.dtype, device=device)
    gen = GenerationConfig(max_new_tokens=cfg.eval_max_new_tokens or model.max_new_tokens,
                           temperature=cfg.eval_temperature, batch_size=cfg.eval_batch_size)
    completions = [c[0] for c in generate(lm.eval(), tokenizer, list(prompts), gen)]
    return FormatEval(model_name, format_metrics(completions), completions)


def compare_format(evals: dict[str, FormatEval], out_dir: str | Path) -> dict[str, dict[str, float]]:
    """Write ``format_metrics.json`` / ``.md`` and ``format_completions.jsonl`` for e.g. {"base": …, "sft": …}."""
    out_dir = Path(out_dir)
    table = {name: e.metrics for name, e in evals.items()}
    (out_dir / "format_metrics.json").write_text(json.dumps({"metrics": table, "models": {n: e.model for n, e in evals.items()}}, indent=1))
    names = list(evals)
    lines = ["# Format metrics (Taiji Table 3) on the held-out split", "",
             "| metric | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for metric in (*FORMAT_METRICS, "Parse_OK_Rate"):
        lines.append(f"| {metric} | " + " | ".join(f"{table[n][metric]:.4f}" for n in names) + " |")
    lines.append("| prompts | " + " | ".join(str(table[n]["n"]) for n in names) + " |")
    (out_dir / "format_metrics.md").write_text("\n".join(lines) + "\n")
    with (out_dir / "format_completions.jsonl").open("w", encoding="utf-8") as fh:
        for name, e in evals.items():
            for i, c in enumerate(e.completions):
                fh.write(json.dumps({"model": name, "index": i, "completion": c, **asdict(parse_answer(c))}, default=str) + "\n")
    return table


def _plot_loss(history: list[dict[str, Any]], path: Path) -> None:
    points = [(h["step"], h["loss"]) for h in history if "loss" in h and "step" in h]
    if not points:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    ax.plot(*zip(*points), marker="o")
    ax.set_xlabel("step")
    ax.set_ylabel("completion NLL (Eq. 2)")
    ax.set_title("ORFT training loss")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()
