"""Every identity rule, checked on the production resolver: `resolve_in_duckdb` on DuckDB.

Each test builds a few messages (support.identity_cases), resolves them through
`orchestration.identity.warehouse.resolve_in_duckdb` on an in-memory DuckDB
(support.identity_warehouse) and checks customers, conflicts, anchors and statistics exactly.
tests/unit/test_identity_warehouse.py compares the same resolver with an independent reference
on random graphs.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

import numpy as np
import pandas as pd
import pytest
from support.identity_cases import BX, KIOSK, A, B, K, frame, random_messages, ts
from support.identity_oracle import customer_id_for
from support.identity_warehouse import (
    conflict_tuples,
    customer_of,
    customers,
    resolve_frame,
    run_in_duckdb,
)

from orchestration.identity.resolver import resolve_codes
from orchestration.identity.warehouse import OUTPUT_COLUMNS

# ----------------------------------------- customers are connected components


def test_four_hop_chain_built_from_four_messages_is_one_customer() -> None:
    anon1, anon2, anon3 = (("anonymous_id", f"anon{i}") for i in (1, 2, 3))
    email, user = ("email", "e@x"), ("user_id", "u1")
    res = resolve_frame(
        frame(
            [
                ("m1", 0, [anon1, email]),
                ("m2", 1, [email, anon2]),
                ("m3", 2, [anon2, user]),
                ("m4", 3, [user, anon3]),
            ]
        )
    )
    assert customers(res) == {frozenset({anon1, email, anon2, user, anon3})}
    assert res.stats["customers"] == 1 and res.stats["nodes"] == 5
    assert res.conflicts.empty


def test_identifiers_never_linked_stay_separate_customers() -> None:
    res = resolve_frame(
        frame([("m1", 0, [("anonymous_id", "x")]), ("m2", 0, [("anonymous_id", "y")])])
    )
    assert res.stats["customers"] == 2


# ----------------------------------------------------------- merge protection


def test_kiosk_second_user_is_split_off_with_exactly_one_conflict_row() -> None:
    res = resolve_frame(frame(KIOSK))
    assert customers(res) == {frozenset({K, A}), frozenset({B, BX})}
    assert conflict_tuples(res) == [
        ("m2", "max_user_ids_per_customer", "anonymous_id", "K", "user_id", "B")
    ]
    assert res.conflicts.occurred_at.iloc[0] == ts(10)
    assert res.stats["conflicts"] == 1 and res.stats["components_ordered"] == 1


def test_messages_are_applied_in_event_time_order_not_input_order() -> None:
    swapped = [("m1", 10, [K, A]), ("m2", 0, [K, B, BX])]  # same rows, B's message first
    res = resolve_frame(frame(swapped))
    assert customers(res) == {frozenset({K, B, BX}), frozenset({A})}
    assert conflict_tuples(res) == [
        ("m1", "max_user_ids_per_customer", "anonymous_id", "K", "user_id", "A")
    ]


def test_equal_event_times_are_ordered_by_message_id() -> None:
    res = resolve_frame(frame([("m2", 0, [K, B]), ("m1", 0, [K, A])]))
    assert customer_of(res, *K) == customer_of(res, *A)
    assert conflict_tuples(res)[0][0] == "m2"


def test_max_two_user_ids_lets_the_kiosk_merge_retroactively() -> None:
    res = resolve_frame(frame(KIOSK), max_user_ids_per_customer=2)
    assert customers(res) == {frozenset({K, A, B, BX})}
    assert res.conflicts.empty
    assert res.stats["components_ordered"] == 0


def test_email_shared_by_two_user_ids_stays_with_the_first() -> None:
    e = ("email", "shared@x")
    res = resolve_frame(frame([("m1", 0, [A, e]), ("m2", 5, [B, e])]))
    assert customers(res) == {frozenset({A, e}), frozenset({B})}
    assert conflict_tuples(res) == [
        ("m2", "max_user_ids_per_customer", "email", "shared@x", "user_id", "B")
    ]


def test_later_repeated_identifier_set_creates_no_extra_conflict() -> None:
    repeated = [*KIOSK, ("m3", 20, [K, B, BX]), ("m4", 30, [BX, B, K])]
    res = resolve_frame(frame(repeated))
    assert customers(res) == {frozenset({K, A}), frozenset({B, BX})}
    assert len(res.conflicts) == 1
    assert res.stats["messages"] == 4 and res.stats["distinct_identifier_sets"] == 2


def test_lowest_priority_set_aside_first_and_highest_value_before_lower() -> None:
    k1, k2 = ("anonymous_id", "K1"), ("anonymous_id", "K2")
    res = resolve_frame(frame([("m1", 0, [k1, A]), ("m2", 1, [k2, A]), ("m3", 2, [B, k1, k2])]))
    # K2 (anon, higher value) goes first, K1 next; B is kept
    assert [(c[3], c[5]) for c in conflict_tuples(res)] == [("K2", "B"), ("K1", "B")]
    assert customers(res) == {frozenset({A, k1, k2}), frozenset({B})}


def test_two_new_user_ids_on_one_message_keep_the_lowest_value() -> None:
    res = resolve_frame(frame([("m1", 0, [B, A])]))
    assert customers(res) == {frozenset({A}), frozenset({B})}
    assert conflict_tuples(res) == [
        ("m1", "max_user_ids_per_customer", "user_id", "B", "user_id", "A")
    ]


def test_set_aside_identifier_already_in_the_kept_customer_gets_no_conflict() -> None:
    res = resolve_frame(frame([("m1", 0, [A, K]), ("m2", 1, [A, B, K])]))
    # K is set aside first but already belongs with A: only B is a set-aside link
    assert conflict_tuples(res) == [
        ("m2", "max_user_ids_per_customer", "user_id", "B", "user_id", "A")
    ]
    assert customers(res) == {frozenset({A, K}), frozenset({B})}


def test_set_aside_identifier_never_seen_before_becomes_its_own_customer() -> None:
    e = ("email", "new@x")
    res = resolve_frame(frame([("m1", 0, [K, A]), ("m2", 1, [K, B]), ("m3", 2, [A, B, e])]))
    # m3: e is set aside first (email < user), then B; A is kept
    assert customers(res) == {frozenset({K, A}), frozenset({B}), frozenset({e})}
    assert ("m3", "max_user_ids_per_customer", "email", "new@x", "user_id", "A") in (
        conflict_tuples(res)
    )


def test_other_identifier_types_have_the_lowest_priority() -> None:
    phone = ("phone", "+100")
    res = resolve_frame(frame([("m1", 0, [phone, A]), ("m2", 1, [phone, K, B])]))
    # phone (other type) is set aside before the anonymous id
    assert customers(res) == {frozenset({phone, A}), frozenset({K, B})}
    assert conflict_tuples(res) == [
        ("m2", "max_user_ids_per_customer", "phone", "+100", "user_id", "B")
    ]


# ------------------------ determinism, anchors, customer ids, node statistics


def test_shuffled_input_rows_give_identical_frames() -> None:
    rng = random.Random(7)
    df = frame(random_messages(rng, n_messages=60))
    expected = resolve_frame(df)
    for seed in range(5):
        shuffled = df.sample(frac=1.0, random_state=seed).reset_index(drop=True)
        got = resolve_frame(shuffled)
        pd.testing.assert_frame_equal(got.nodes, expected.nodes)
        pd.testing.assert_frame_equal(got.conflicts, expected.conflicts)
        assert {k: v for k, v in got.stats.items() if k != "seconds"} == {
            k: v for k, v in expected.stats.items() if k != "seconds"
        }


def test_customer_id_is_sha256_of_the_anchor_identifier() -> None:
    res = resolve_frame(frame([("m1", 0, [K, A]), ("m2", 5, [A, ("email", "a@x")])]))
    expected = "c_" + hashlib.sha256(b"user_id:A").hexdigest()[:20]
    assert set(res.nodes.customer_id) == {expected} == {customer_id_for("user_id", "A")}
    # anchor: earliest first_seen_at, ties by priority (user id before anonymous id)
    assert set(zip(res.nodes.anchor_type, res.nodes.anchor_value, strict=True)) == {A}


def test_anchor_is_the_earliest_identifier_then_the_lowest_value() -> None:
    k1, k2 = ("anonymous_id", "k1"), ("anonymous_id", "k2")
    res = resolve_frame(frame([("m1", 0, [k2, k1]), ("m2", 5, [k1, A])]))
    assert set(res.nodes.customer_id) == {customer_id_for("anonymous_id", "k1")}


def test_customer_ids_do_not_depend_on_how_data_is_split_or_row_numbers() -> None:
    big = resolve_frame(frame([("x", 0, [("anonymous_id", "z")]), *KIOSK]))
    small = resolve_frame(frame(KIOSK))
    assert customer_of(big, *B) == customer_of(small, *B) == customer_id_for(*B)
    assert customer_of(big, *K) == customer_of(small, *K) == customer_id_for(*A)


def test_node_statistics_first_last_seen_first_message_and_message_count() -> None:
    res = resolve_frame(
        frame(
            [
                ("m3", 30, [K]),
                ("m1", 0, [K, K, A]),  # a duplicated identifier counts once
                ("m2", 0, [K]),
            ]
        )
    )
    k = res.nodes[res.nodes.identifier_value == "K"].iloc[0]
    assert (k.first_seen_at, k.last_seen_at) == (ts(0), ts(30))
    assert k.first_message_id == "m1" and k.messages == 3
    assert list(res.output.columns) == OUTPUT_COLUMNS
    # canonical order: first appearance, then priority (user id before anonymous id)
    assert list(res.nodes.identifier_value) == ["A", "K"]


# --------------------------------- bulk and ordered components, invalid input


def test_components_without_too_many_user_ids_are_resolved_in_bulk() -> None:
    df = frame(
        [
            *KIOSK,
            ("n1", 0, [("anonymous_id", "q"), ("user_id", "Q")]),
            ("n2", 1, [("anonymous_id", "q"), ("email", "q@x")]),
            ("n3", 2, [("anonymous_id", "lonely")]),
        ]
    )
    res = resolve_frame(df)
    assert res.stats["components_ordered"] == 1  # the kiosk
    assert res.stats["components_in_bulk"] == 2  # {q, Q, q@x} and {lonely}
    assert res.stats["customers"] == 4


@pytest.mark.parametrize("null", [None, np.nan, pd.NA])
@pytest.mark.parametrize("column", ["identifier_value", "message_id"])
def test_null_identifier_value_or_message_id_is_rejected(column: str, null: Any) -> None:
    for dtype in ("object", "str"):
        df = frame(KIOSK)
        df[column] = df[column].astype(object)
        df.loc[1, column] = null
        df[column] = df[column].astype(dtype)
        with pytest.raises(ValueError, match=f"null {column}"):
            resolve_frame(df)


def test_max_user_ids_below_one_is_rejected() -> None:
    with pytest.raises(ValueError):
        resolve_frame(frame(KIOSK), max_user_ids_per_customer=0)


@pytest.mark.parametrize("column", ["message_id", "event_at", "identifier_type",
                                    "identifier_value"])
def test_null_input_is_rejected_naming_the_column(column: str) -> None:
    df = frame(KIOSK)
    df[column] = df[column].astype(object)
    df.loc[1, column] = None
    with pytest.raises(ValueError, match=f"null {column}"):
        run_in_duckdb(df)


def test_codes_must_number_every_message_and_node_in_order() -> None:
    ok = dict(message=np.array([0, 0, 1]), node=np.array([0, 1, 1]),
              node_is_user_id=np.array([True, False]), message_time=np.array([1, 2]))
    assert resolve_codes(**ok).stats["customers"] == 1
    with pytest.raises(ValueError, match="message numbers"):
        resolve_codes(**{**ok, "message": np.array([0, 0, 2])})
    with pytest.raises(ValueError, match="node numbers"):
        resolve_codes(**{**ok, "node_is_user_id": np.array([True, False, False])})
    with pytest.raises(ValueError, match="ascending"):
        resolve_codes(**{**ok, "message_time": np.array([2, 1])})


# ---------------------------------------------------------------- empty input


def test_empty_input_returns_empty_output_with_columns_and_dtypes() -> None:
    res = resolve_frame(frame([]))
    assert list(res.output.columns) == OUTPUT_COLUMNS and res.output.empty
    assert res.nodes.empty and res.conflicts.empty
    assert res.sql_types["first_seen_at"] == "TIMESTAMP"
    assert res.sql_types["messages"] == "BIGINT"
    assert res.sql_types["customer_id"] == "VARCHAR"
    assert res.sql_types["occurred_at"] == "TIMESTAMP"
    assert res.stats["nodes"] == 0 and res.stats["customers"] == 0


def test_non_empty_output_has_the_same_dtypes_as_empty_output() -> None:
    empty, full = resolve_frame(frame([])), resolve_frame(frame(KIOSK))
    assert len(full.nodes) and len(full.conflicts)
    assert empty.sql_types == full.sql_types
