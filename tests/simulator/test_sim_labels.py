"""Label construction (basket repurchase, rating threshold), hold-out split and negative sampling."""

from __future__ import annotations

import numpy as np
import pytest
from sim_toys import basket_log, rating_log

from rlrec.config import SimulatorConfig
from rlrec.data.schema import Interaction, InteractionLog
from rlrec.registry import RegistryError
from rlrec.simulator.labels import (
    HOLDOUT,
    PAD,
    TRAIN,
    conversion_threshold,
    label_baskets,
    label_log,
    resolve_labeler,
    sample_negatives,
)


def _positives(labelled, ids):
    """{(context, item id): (conversion, split)}"""
    return {
        (int(c), ids[int(i)]): (float(v), int(labelled.ctx_split[c]))
        for c, i, v in zip(labelled.pos_ctx, labelled.pos_item, labelled.pos_conv)
    }


def test_basket_repurchase_labels_split_gap_and_censoring():
    log = basket_log()  # o1 [A,B], o2 [A,C], o3 [B], o4 [A], o5 [C]
    config = SimulatorConfig(labels="basket_repurchase", conversion_horizon=1, holdout_fraction=0.25, history_len=6)
    labelled = label_log(log, config)
    ids = log.catalog.ids  # A, B, C, D → rows 0..3
    # 4 orders have a next order; 1 is held out (o4); o3 is the gap (its window = the hold-out order); o5 censored
    assert _positives(labelled, ids) == {
        (0, "A"): (1.0, TRAIN), (0, "B"): (0.0, TRAIN),  # o1: A is bought again in o2, B is not
        (1, "A"): (0.0, TRAIN), (1, "C"): (0.0, TRAIN),  # o2: o3 holds only B
        (2, "A"): (0.0, HOLDOUT),  # o4: o5 holds only C
    }
    assert labelled.counts["gap_lines_history_only"] == 1
    assert labelled.counts["censored_lines_history_only"] == 1
    # history = every line before the order, oldest first, padded on the left
    assert labelled.ctx_hist[0].tolist() == [PAD] * 6
    assert labelled.ctx_hist[1].tolist() == [PAD, PAD, PAD, PAD, 0, 1]
    assert labelled.ctx_hist[2].tolist() == [PAD, 0, 1, 0, 2, 1]


def test_basket_horizon_two_looks_two_orders_ahead():
    log = basket_log()
    config = SimulatorConfig(conversion_horizon=2, holdout_fraction=0.3)
    labelled = label_baskets(log, config)
    # 3 orders have two later orders (o1..o3); o3 is held out (B: o4 + o5 = {A, C} → no repurchase);
    # o1 and o2 would need their window to end before o3, so they are history only
    assert _positives(labelled, log.catalog.ids) == {(0, "B"): (0.0, HOLDOUT)}
    assert labelled.counts["gap_lines_history_only"] == 4
    assert labelled.counts["censored_lines_history_only"] == 2


def test_rating_threshold_labels_and_holdout():
    log = rating_log()  # A 5, B 2, C 4, D 3
    labelled = label_log(log, SimulatorConfig(labels="rating_threshold", holdout_fraction=0.25, history_len=2))
    pos = _positives(labelled, log.catalog.ids)
    assert pos == {(0, "A"): (1.0, TRAIN), (1, "B"): (0.0, TRAIN), (2, "C"): (1.0, TRAIN), (3, "D"): (0.0, HOLDOUT)}
    assert labelled.ctx_hist[3].tolist() == [1, 2]  # the last two events before D: B, C


def test_auto_labeler_and_unknown_name():
    assert resolve_labeler(rating_log(), "auto") == "rating_threshold"  # has ratings
    assert resolve_labeler(basket_log(), "auto") == "basket_repurchase"
    log = basket_log()
    log.name = "movielens100k"  # registered for that dataset
    assert resolve_labeler(log, "auto") == "rating_threshold"
    with pytest.raises(RegistryError, match="did you mean|Did you mean"):
        resolve_labeler(log, "rating_treshold")


def test_no_training_data_is_a_clear_error():
    config = SimulatorConfig(labels="basket_repurchase", conversion_horizon=5)
    with pytest.raises(ValueError, match="conversion_horizon"):
        label_log(basket_log(), config)


def test_negatives_follow_weights_and_avoid_context_positives():
    rng = np.random.default_rng(0)
    pos_ctx = np.array([0, 0, 1])
    pos_item = np.array([0, 1, 2])
    weights = np.array([1.0, 1.0, 1.0, 0.0, 1.0])  # item 3 is never drawn
    ctx, item, dropped = sample_negatives(pos_ctx, pos_item, weights, ratio=4, rng=rng)
    assert dropped == 0 and len(ctx) == 12
    assert np.all(item != 3)
    keys = set(zip(pos_ctx.tolist(), pos_item.tolist()))
    assert not any((c, i) in keys for c, i in zip(ctx.tolist(), item.tolist()))
    assert np.bincount(ctx).tolist() == [8, 4]


def test_negatives_that_cannot_avoid_positives_are_dropped_and_counted():
    ctx, item, dropped = sample_negatives(np.array([0]), np.array([0]), np.array([1.0, 0.0]), 3,
                                          np.random.default_rng(0), max_rounds=2)
    assert len(ctx) == 0 and dropped == 3


def _ten_point_log() -> InteractionLog:
    """One user rating A..D 4, 6, 8, 10 on a 1-10 scale (most logged ratings of such data sets are >= 4)."""
    base = rating_log()
    events = [Interaction("u2", item, float(t), t, behavior="rating", rating=r)
              for t, (item, r) in enumerate([("A", 4.0), ("B", 6.0), ("C", 8.0), ("D", 10.0)])]
    return InteractionLog("unseen_ratings", base.catalog, {"u2": events}, profiles=base.profiles)


def test_default_conversion_threshold_follows_the_rating_scale():
    assert conversion_threshold(rating_log(), None)[0] == 4.0  # 1-5 stars: 4, as MovieLens always had
    threshold, how = conversion_threshold(_ten_point_log(), None)
    assert threshold == 8.0 and "4–10" in how and "simulator.conversion_min_rating" in how
    assert conversion_threshold(_ten_point_log(), 6.5)[0] == 6.5
    labelled = label_log(_ten_point_log(), SimulatorConfig(labels="rating_threshold", holdout_fraction=0.25))
    assert labelled.pos_conv.tolist() == [0.0, 0.0, 1.0, 1.0] and labelled.warnings == []


def test_nearly_all_clicks_converting_is_warned(caplog):
    """Issue 14 finding 15: conversion_min_rating=4 on a 1-10 scale made 99% of clicks conversions silently."""
    config = SimulatorConfig(labels="rating_threshold", holdout_fraction=0.25, conversion_min_rating=4.0)
    with caplog.at_level("WARNING", logger="rlrec.simulator.labels"):
        labelled = label_log(_ten_point_log(), config)
    assert labelled.pos_conv.tolist() == [1.0, 1.0, 1.0, 1.0] and labelled.counts["conversions"] == 4
    (warning,) = labelled.warnings
    assert "100.0% of the labelled clicks are conversions" in warning and "conversion_min_rating" in warning
    assert warning in caplog.text


def test_label_wording_is_dataset_neutral():
    semantics = label_log(rating_log(), SimulatorConfig(labels="rating_threshold")).semantics
    assert "movie" not in semantics and "rated the item" in semantics and ">= 4" in semantics


def test_conversion_min_rating_must_be_finite():
    with pytest.raises(ValueError, match="conversion_min_rating"):
        SimulatorConfig(conversion_min_rating=float("nan"))
