"""The local HF teacher: shared-prefix sampling equals plain batched generation; batching of k candidates."""

from rlrec.config import TeacherConfig
from rlrec.distill.teachers import HFTeacher, _group_batches, build_teacher, sample_shared_prefix
from rlrec.generation import GenerationConfig, generate


def test_group_batches_keeps_equal_prompts_together_and_bounds_the_batch():
    prompts = ["a", "a", "a", "b", "b", "c", "a"]
    assert _group_batches(prompts, 4) == [[[0, 1, 2]], [[3, 4], [5], [6]]]
    assert _group_batches(prompts, 3) == [[[0, 1, 2]], [[3, 4], [5]], [[6]]]
    assert _group_batches(["a"] * 5, 2) == [[[0, 1]], [[2, 3]], [[4]]]
    assert _group_batches([], 3) == []


def test_shared_prefix_greedy_equals_plain_generate(tiny_lm, tokenizer):
    prompts = ["short one", "a considerably longer prompt, so the batch is padded on the left"]
    shared = sample_shared_prefix(tiny_lm, tokenizer, prompts, [2, 1], max_new_tokens=8, temperature=0.0, top_p=1.0)
    plain = generate(tiny_lm, tokenizer, prompts, GenerationConfig(max_new_tokens=8, temperature=0.0, batch_size=2), progress=False)
    assert [len(s) for s in shared] == [2, 1]
    assert shared[0] == [plain[0][0]] * 2 and shared[1] == plain[1]


def test_hf_teacher_yields_one_completion_per_prompt(tiny_lm, tokenizer):
    teacher = HFTeacher(TeacherConfig(max_new_tokens=4, batch_size=3), model=tiny_lm, tokenizer=tokenizer)
    prompts = ["p"] * 3 + ["q"] * 3 + ["r"]
    out = dict(teacher.complete(prompts))
    assert sorted(out) == list(range(7)) and all(isinstance(t, str) for t in out.values())
    assert teacher.name == "hf:embedded:smollm2"


def test_registry_builds_the_hf_teacher_from_a_path(tiny_lm_path):
    teacher = build_teacher(TeacherConfig(backend="hf", model=str(tiny_lm_path), max_new_tokens=2))
    assert isinstance(teacher, HFTeacher) and teacher.name == f"hf:{tiny_lm_path}"
    teacher.close()
