"""Property test: the production resolver (`resolve_in_duckdb`) equals the reference resolver.

The reference (support.identity_oracle.naive_resolve) applies every message in order with a
plain union-find over strings; production numbers identifiers and messages in DuckDB, resolves
distinct identifier sets on integers, components in bulk where merge protection cannot apply,
and joins the strings back. They must give the same node and conflict rows, in the same order,
on every graph: seeded random graphs of several shapes (tangled, a hub on many messages, long
chains, many conflicting user ids with values shared across types), at one and two user ids
per customer, with many equal timestamps.
"""

from __future__ import annotations

import random

import pandas as pd
import pytest
from support.identity_cases import BX, KIOSK, SHAPES, A, B, K, Message, frame, random_messages
from support.identity_oracle import naive_resolve
from support.identity_warehouse import Resolved, resolve_frame

CASES_PER_SHAPE = 40

TRICKY: list[Message] = [
    # equal event times ordered by message id; values that sort differently by case and
    # by code point (DuckDB and Python must agree); an "other" type with the value of an
    # anonymous id; quotes in values
    ("m2", 0, [("anonymous_id", "Zeta"), ("user_id", "ü-1")]),
    ("m1", 0, [("anonymous_id", "zeta"), ("user_id", "u-1")]),
    ("m3", 5, [("anonymous_id", "Zeta"), ("user_id", "u-1"), ("email", "o'neil@x")]),
    ("m4", 5, [("phone", "zeta"), ("anonymous_id", "zeta"), ("device", "zeta")]),
    ("m5", 7, [("user_id", "é"), ("user_id", "e"), ("anonymous_id", "a\u00a0b")]),
]


def assert_equals_reference(df: pd.DataFrame, max_user_ids: int) -> Resolved:
    got = resolve_frame(df, max_user_ids_per_customer=max_user_ids)
    ref_nodes, ref_conflicts = naive_resolve(df, max_user_ids)
    pd.testing.assert_frame_equal(got.nodes, ref_nodes)
    pd.testing.assert_frame_equal(got.conflicts, ref_conflicts)
    assert got.stats["conflicts"] == len(ref_conflicts)
    assert got.stats["customers"] == ref_nodes.customer_id.nunique()
    assert got.stats["nodes"] == len(ref_nodes)
    assert got.stats["messages"] == df.message_id.nunique()
    return got


@pytest.mark.parametrize("max_user_ids", [1, 2])
def test_warehouse_resolution_equals_the_reference_on_hand_made_cases(max_user_ids: int) -> None:
    for messages in (KIOSK, TRICKY, [("m1", 0, [K, A]), ("m2", 1, [K, B]), ("m3", 2, [BX, B])]):
        assert_equals_reference(frame(messages), max_user_ids)


@pytest.mark.parametrize("max_user_ids", [1, 2])
def test_bulk_plus_ordered_result_equals_naive_ordered_reference(max_user_ids: int) -> None:
    rng = random.Random(max_user_ids)
    for _ in range(100):
        msgs = random_messages(rng, n_messages=rng.randint(1, 40))
        assert_equals_reference(frame(msgs), max_user_ids)


@pytest.mark.parametrize("max_user_ids", [1, 2])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_warehouse_resolution_equals_the_reference_on_random_graphs(
    shape: str, max_user_ids: int
) -> None:
    rng = random.Random(f"{shape}-{max_user_ids}")
    ordered = conflicts = 0
    for _ in range(CASES_PER_SHAPE):
        messages = SHAPES[shape](rng, rng.randint(1, 60))
        got = assert_equals_reference(frame(messages), max_user_ids)
        ordered += got.stats["components_ordered"]
        conflicts += got.stats["conflicts"]
    # not a vacuous comparison: merge protection fired in every shape
    assert ordered > 0 and conflicts > 0


def test_the_same_messages_in_any_row_order_resolve_identically() -> None:
    rng = random.Random(5)
    for shape in sorted(SHAPES):
        df = frame(SHAPES[shape](rng, 50))
        expected = resolve_frame(df)
        shuffled = resolve_frame(df.sample(frac=1.0, random_state=1).reset_index(drop=True))
        pd.testing.assert_frame_equal(shuffled.nodes, expected.nodes)
        pd.testing.assert_frame_equal(shuffled.conflicts, expected.conflicts)
