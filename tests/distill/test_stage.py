"""The whole stage on the tiny model: generate → screen → PPL filter → sft_data.jsonl + report."""

import json

import pytest

from rlrec.answer import parse_answer
from rlrec.config import Config, DistillConfig, PPLFilterConfig, TeacherConfig
from rlrec.distill.stage import run_distillation, store_path
from rlrec.distill.teachers import HFTeacher


class CannedTeacher:
    """Returns prepared outputs in order (one per request), for exact counting."""

    name = "fake:canned"

    def __init__(self, outputs):
        self.outputs = list(outputs)

    def complete(self, prompts):
        for i, _ in enumerate(prompts):
            yield i, self.outputs.pop(0)

    def close(self):
        pass


def _config(tmp_path, **distill) -> Config:
    base = dict(num_candidates=3, min_cot_chars=10, store=str(tmp_path / "store.jsonl"))
    return Config(distill=DistillConfig(**{**base, **distill}), artifacts_dir=str(tmp_path / "artifacts"))


def test_rupr_stage_end_to_end_with_the_tiny_model(tmp_path, examples, tiny_lm, tokenizer):
    config = _config(tmp_path, teacher=TeacherConfig(max_new_tokens=8, batch_size=6))
    teacher = HFTeacher(config.distill.teacher, model=tiny_lm, tokenizer=tokenizer)
    examples = examples[:4]
    result = run_distillation(config, examples, tmp_path / "run", teacher=teacher, scorer=(tiny_lm, tokenizer), progress=False)
    stats = result.stats
    assert stats["generation"]["generated"] == 12 and stats["screen"]["missing"] == 0
    ok = stats["screen"]["status"].get("ok", 0)
    assert sum(stats["screen"]["status"].values()) == 12
    assert stats["ppl"]["scored"] == ok and 0 < stats["sft_samples"] < ok  # the median keeps fewer than all
    rows = [json.loads(line) for line in result.train_file.read_text().splitlines()]
    assert len(rows) == stats["sft_samples"]
    assert all(r["ppl"] < stats["ppl"]["threshold"] for r in rows)
    by_id = {e.example_id: e for e in examples}
    for r in rows:
        parsed = parse_answer(r["completion"][0]["content"])
        assert parsed.title == by_id[r["example_id"]].target_title  # RUPR: the answer is the true item
        assert by_id[r["example_id"]].target_title not in r["prompt"][0]["content"]
    assert result.histogram.exists() and "PPL threshold R" in result.report.read_text()
    assert len(result.candidates_file.read_text().splitlines()) == 12


def test_rerun_reuses_every_candidate(tmp_path, examples, tiny_lm, tokenizer):
    config = _config(tmp_path, teacher=TeacherConfig(max_new_tokens=6, batch_size=8), ppl=PPLFilterConfig(enabled=False))
    teacher = HFTeacher(config.distill.teacher, model=tiny_lm, tokenizer=tokenizer)
    first = run_distillation(config, examples[:2], tmp_path / "a", teacher=teacher, progress=False)
    second = run_distillation(config, examples[:2], tmp_path / "b", teacher=teacher, progress=False)
    assert first.stats["generation"]["generated"] == 6
    assert (second.stats["generation"]["reused"], second.stats["generation"]["generated"]) == (6, 0)
    assert (tmp_path / "a" / "sft_data.jsonl").read_text() == (tmp_path / "b" / "sft_data.jsonl").read_text()


def test_counts_leaks_empties_and_fixed_threshold(tmp_path, examples, tiny_lm, tokenizer):
    good = "<think>The user restocks the same aisle every week, so this fits.</think>"
    outputs = [good, "<think>The ground truth says bananas.</think>", "<think>hm</think>"] * 2
    config = _config(tmp_path, ppl=PPLFilterConfig(threshold=1e12))
    result = run_distillation(config, examples[:2], tmp_path / "run", teacher=CannedTeacher(outputs),
                              scorer=(tiny_lm, tokenizer), progress=False)
    s = result.stats
    assert s["screen"]["status"] == {"ok": 2, "leak": 2, "empty_cot": 2}
    assert sum(s["screen"]["leak_patterns"].values()) == 2
    assert s["ppl"]["threshold"] == 1e12 and s["sft_samples"] == 2  # a huge fixed R keeps every scored candidate
    assert s["ppl"]["prompts_by_kept_count"] == {"1": 2}


def test_without_rupr_the_teacher_answer_is_trained_and_unparseable_is_counted(tmp_path, examples):
    outputs = [
        "<think>She buys dairy every single week.</think><answer>Item title: Whole Milk; Category L1: Dairy Eggs</answer>",
        "<think>No idea what to answer here at all.</think>",
        "I think the user wants bread",
    ]
    config = _config(tmp_path, rupr=False, num_candidates=3, ppl=PPLFilterConfig(enabled=False))
    result = run_distillation(config, examples[:1], tmp_path / "run", teacher=CannedTeacher(outputs), progress=False)
    assert result.stats["screen"]["status"] == {"ok": 1, "unparseable": 2}
    (row,) = [json.loads(line) for line in result.train_file.read_text().splitlines()]
    assert parse_answer(row["completion"][0]["content"]).title == "Whole Milk"
    assert result.stats["mode"] == "direct"


def test_default_store_path_is_keyed_by_data_and_teacher(tmp_path):
    a = Config(artifacts_dir=str(tmp_path))
    b = Config(artifacts_dir=str(tmp_path))
    b.distill.teacher.temperature = 0.1
    assert store_path(a) == store_path(Config(artifacts_dir=str(tmp_path)))
    assert store_path(a) != store_path(b) and store_path(a).name == "candidates.jsonl"


def test_no_examples_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="SFT split"):
        run_distillation(_config(tmp_path), [], tmp_path, teacher=CannedTeacher([]))


def test_a_rerun_with_another_screen_reads_the_stored_ppl_scores(tmp_path, examples, tiny_lm, tokenizer):
    """PPL scores live beside the candidates: a second run (here a new seed, which keys a new distill folder in
    the pipeline) scores nothing again and keeps exactly what the first kept; a changed scorer setting does."""
    config = _config(tmp_path, teacher=TeacherConfig(max_new_tokens=8, batch_size=6))
    teacher = HFTeacher(config.distill.teacher, model=tiny_lm, tokenizer=tokenizer)
    first = run_distillation(config, examples[:4], tmp_path / "a", teacher=teacher, scorer=(tiny_lm, tokenizer),
                             progress=False)
    assert first.stats["ppl"]["reused"] == 0 and first.stats["ppl"]["sequences"] == first.stats["ppl"]["scored"] > 0
    assert store_path(config).with_suffix(".ppl.jsonl").is_file()
    second = run_distillation(config, examples[:4], tmp_path / "b", teacher=teacher, scorer=(tiny_lm, tokenizer),
                              progress=False)
    assert second.stats["ppl"]["reused"] == first.stats["ppl"]["scored"] and second.stats["ppl"]["sequences"] == 0
    assert (tmp_path / "a" / "sft_data.jsonl").read_text() == (tmp_path / "b" / "sft_data.jsonl").read_text()
    assert "read from the score store" in second.report.read_text()
    truncated = _config(tmp_path, teacher=config.distill.teacher, ppl=PPLFilterConfig(max_length=64))
    third = run_distillation(truncated, examples[:4], tmp_path / "c", teacher=teacher, scorer=(tiny_lm, tokenizer),
                             progress=False)
    assert third.stats["ppl"]["reused"] == 0  # another max_length is another score
