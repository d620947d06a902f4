"""Novel-transition mining, the SFT records, cluster-name matching and the transition table."""


from rlrec.alignment.novelty import (
    ClusterMatcher,
    NovelTransition,
    TransitionTable,
    collapse,
    mine_novel_transitions,
    sample_transitions,
    sft_records,
    user_context,
)
from rlrec.alignment.text import novelty_prompt

NAMES = {"a": "Dairy & Eggs", "b": "Fresh Fruits", "c": "Snacks / Chips", "d": "Frozen Meals"}


def test_collapse_and_context():
    assert collapse(["a", "a", "b", "a", "a"]) == ["a", "b", "a"]
    assert user_context(["a", "a", "b", "c", "c"], 2) == ("b", "c")
    # last K *distinct* clusters in order of last visit (the simulator's contexts)
    assert user_context(["c", "b", "a", "b", "b"], 2) == ("a", "b")
    assert user_context(["c", "b", "a", "b", "b"], 2, ordered=False) == ("a", "b")
    assert user_context(["b", "a", "b", "a"], 3) is None
    assert user_context(["a", "a"], 2) is None


def test_user_context_matches_the_simulators_definition():
    from rlrec.simulator.clusters import last_distinct

    for seq in (["a", "b", "a", "c", "a"], ["c", "b", "a", "b"], ["a"], ["d", "c", "d", "b", "c"]):
        for ordered in (True, False):
            assert user_context(seq, 2, ordered) == last_distinct(seq, 2, ordered)


def test_mine_novel_transitions_hand_checked():
    sequences = {"u1": ["a", "b", "b", "c", "a", "d"], "u2": ["a", "b"], "u3": ["c", "c", "c"]}
    found, counts = mine_novel_transitions(sequences, k=2)
    # u1 collapsed a b c a d: t=2 c novel (ctx a,b); t=3 a seen; t=4 d novel (ctx: last distinct before = c, a)
    assert found == [NovelTransition("u1", ("a", "b"), "c"), NovelTransition("u1", ("c", "a"), "d")]
    assert counts == {"novel": 2, "not_novel": 1, "user_too_short": 2}
    # u4 collapsed a b a c: at t=3 the context is (b, a) — the distinct clusters, not the last two visits
    found, _ = mine_novel_transitions({"u4": ["a", "b", "a", "c"]}, k=2)
    assert found == [NovelTransition("u4", ("b", "a"), "c")]


def test_sample_transitions_prefers_one_per_user_first():
    transitions = [NovelTransition("u1", ("a", "b"), x) for x in "cdef"] + [NovelTransition("u2", ("a", "b"), "c")]
    sample = sample_transitions(transitions, 2, seed=3)
    assert {t.user_id for t in sample} == {"u1", "u2"}
    assert len(sample_transitions(transitions, 100)) == 5


def test_sft_records():
    (record,) = sft_records([NovelTransition("u1", ("a", "b"), "c")], NAMES)
    assert record == {
        "prompt": novelty_prompt(["Dairy & Eggs", "Fresh Fruits"]),
        "completion": [{"role": "assistant", "content": "Snacks / Chips"}],
    }


def test_cluster_matcher_exact_fuzzy_unmatched():
    match = ClusterMatcher(NAMES)
    assert match("  snacks chips\nbecause they like salty food") == "c"  # first line, punctuation-insensitive
    assert match("Frozen meal") == "d"  # fuzzy
    assert match("quantum chromodynamics") is None
    assert match("") is None
    assert match.counts == {"exact": 1, "fuzzy": 1, "unmatched": 2}


def test_transition_table_round_trip(tmp_path):
    table = TransitionTable(2, {("a", "b"): ["c", "d"], ("b", "c"): ["a"]})
    table.save(tmp_path / "table.json")
    loaded = TransitionTable.load(tmp_path / "table.json")
    assert loaded == table
    assert loaded.lookup(("a", "b")) == ["c", "d"] and loaded.lookup(("z", "z")) == []


def test_sample_candidates_on_the_tiny_model(tiny_lm, tokenizer):
    from rlrec.alignment.novelty import sample_candidates
    from rlrec.generation import GenerationConfig

    matcher = ClusterMatcher(NAMES)
    contexts = [("a", "b"), ("b", "c")]
    out = sample_candidates(tiny_lm, tokenizer, contexts, NAMES, n=3,
                            generation=GenerationConfig(max_new_tokens=4, temperature=1.0, batch_size=2), matcher=matcher)
    assert list(out) == contexts and all(len(v) == 3 for v in out.values())
    assert all(c is None or c in NAMES for v in out.values() for c in v)
    assert sum(matcher.counts.values()) == 6

