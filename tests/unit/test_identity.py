"""Unit tests of orchestration.identity: customers, merge protection, determinism, speed paths."""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest

from orchestration.identity import resolver as identity
from orchestration.identity.resolver import (
    CONFLICT_COLUMNS,
    NODE_COLUMNS,
    Resolution,
    _factorize,
    _hash_codes,
    customer_id_for,
    explain_path,
    resolve,
)

T0 = pd.Timestamp("2024-03-01 09:00:00")
Message = tuple[str, Any, Sequence[tuple[str, str]]]


def ts(minutes: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(minutes=minutes)


def frame(messages: Iterable[Message]) -> pd.DataFrame:
    """Long input frame from (message_id, minutes or Timestamp, [(type, value), ...])."""
    rows = []
    for mid, at, idents in messages:
        when = at if isinstance(at, pd.Timestamp) else ts(at)
        rows += [(mid, when, t, v) for t, v in idents]
    df = pd.DataFrame(
        rows, columns=["message_id", "event_at", "identifier_type", "identifier_value"]
    )
    df["event_at"] = df["event_at"].astype("datetime64[ns]")
    return df


def customers(res: Resolution) -> set[frozenset[tuple[str, str]]]:
    groups: dict[str, set[tuple[str, str]]] = {}
    for t, v, c in res.nodes[["identifier_type", "identifier_value", "customer_id"]].itertuples(
        index=False
    ):
        groups.setdefault(c, set()).add((t, v))
    return {frozenset(g) for g in groups.values()}


def customer_of(res: Resolution, identifier_type: str, value: str) -> str:
    nodes = res.nodes
    hit = nodes[(nodes.identifier_type == identifier_type) & (nodes.identifier_value == value)]
    assert len(hit) == 1
    return str(hit.customer_id.iloc[0])


def conflict_tuples(res: Resolution) -> list[tuple[str, ...]]:
    c = res.conflicts
    return [
        tuple(str(x) for x in row)
        for row in c[
            [
                "message_id",
                "rule",
                "identifier_type",
                "identifier_value",
                "conflicting_identifier_type",
                "conflicting_identifier_value",
            ]
        ].itertuples(index=False)
    ]


A, B = ("user_id", "A"), ("user_id", "B")
K = ("anonymous_id", "K")
BX = ("email", "b@x")
KIOSK = [("m1", 0, [K, A]), ("m2", 10, [K, B, BX])]


# --------------------------------------------------------------------------- rule 1


def test_four_hop_chain_built_from_four_messages_is_one_customer() -> None:
    anon1, anon2, anon3 = (("anonymous_id", f"anon{i}") for i in (1, 2, 3))
    email, user = ("email", "e@x"), ("user_id", "u1")
    res = resolve(
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
    res = resolve(frame([("m1", 0, [("anonymous_id", "x")]), ("m2", 0, [("anonymous_id", "y")])]))
    assert res.stats["customers"] == 2


# --------------------------------------------------------------------------- rule 2


def test_kiosk_second_user_is_split_off_with_exactly_one_conflict_row() -> None:
    res = resolve(frame(KIOSK))
    assert customers(res) == {frozenset({K, A}), frozenset({B, BX})}
    assert conflict_tuples(res) == [
        ("m2", "max_user_ids_per_customer", "anonymous_id", "K", "user_id", "B")
    ]
    assert res.conflicts.occurred_at.iloc[0] == ts(10)
    assert res.stats["conflicts"] == 1 and res.stats["components_ordered"] == 1


def test_messages_are_applied_in_event_time_order_not_input_order() -> None:
    swapped = [("m1", 10, [K, A]), ("m2", 0, [K, B, BX])]  # same rows, B's message first
    res = resolve(frame(swapped))
    assert customers(res) == {frozenset({K, B, BX}), frozenset({A})}
    assert conflict_tuples(res) == [
        ("m1", "max_user_ids_per_customer", "anonymous_id", "K", "user_id", "A")
    ]


def test_equal_event_times_are_ordered_by_message_id() -> None:
    res = resolve(frame([("m2", 0, [K, B]), ("m1", 0, [K, A])]))
    assert customer_of(res, *K) == customer_of(res, *A)
    assert conflict_tuples(res)[0][0] == "m2"


def test_max_two_user_ids_lets_the_kiosk_merge_retroactively() -> None:
    res = resolve(frame(KIOSK), max_user_ids_per_customer=2)
    assert customers(res) == {frozenset({K, A, B, BX})}
    assert res.conflicts.empty
    assert res.stats["components_ordered"] == 0


def test_email_shared_by_two_user_ids_stays_with_the_first() -> None:
    e = ("email", "shared@x")
    res = resolve(frame([("m1", 0, [A, e]), ("m2", 5, [B, e])]))
    assert customers(res) == {frozenset({A, e}), frozenset({B})}
    assert conflict_tuples(res) == [
        ("m2", "max_user_ids_per_customer", "email", "shared@x", "user_id", "B")
    ]


def test_later_repeated_identifier_set_creates_no_extra_conflict() -> None:
    repeated = [*KIOSK, ("m3", 20, [K, B, BX]), ("m4", 30, [BX, B, K])]
    res = resolve(frame(repeated))
    assert customers(res) == {frozenset({K, A}), frozenset({B, BX})}
    assert len(res.conflicts) == 1
    assert res.stats["messages"] == 4 and res.stats["distinct_identifier_sets"] == 2


def test_lowest_priority_set_aside_first_and_highest_value_before_lower() -> None:
    k1, k2 = ("anonymous_id", "K1"), ("anonymous_id", "K2")
    res = resolve(frame([("m1", 0, [k1, A]), ("m2", 1, [k2, A]), ("m3", 2, [B, k1, k2])]))
    # K2 (anon, higher value) goes first, K1 next; B is kept
    assert [(c[3], c[5]) for c in conflict_tuples(res)] == [("K2", "B"), ("K1", "B")]
    assert customers(res) == {frozenset({A, k1, k2}), frozenset({B})}


def test_two_new_user_ids_on_one_message_keep_the_lowest_value() -> None:
    res = resolve(frame([("m1", 0, [B, A])]))
    assert customers(res) == {frozenset({A}), frozenset({B})}
    assert conflict_tuples(res) == [
        ("m1", "max_user_ids_per_customer", "user_id", "B", "user_id", "A")
    ]


def test_set_aside_identifier_already_in_the_kept_customer_gets_no_conflict() -> None:
    res = resolve(frame([("m1", 0, [A, K]), ("m2", 1, [A, B, K])]))
    # K is set aside first but already belongs with A: only B is a set-aside link
    assert conflict_tuples(res) == [
        ("m2", "max_user_ids_per_customer", "user_id", "B", "user_id", "A")
    ]
    assert customers(res) == {frozenset({A, K}), frozenset({B})}


def test_set_aside_identifier_never_seen_before_becomes_its_own_customer() -> None:
    e = ("email", "new@x")
    res = resolve(frame([("m1", 0, [K, A]), ("m2", 1, [K, B]), ("m3", 2, [A, B, e])]))
    # m3: e is set aside first (email < user), then B; A is kept
    assert customers(res) == {frozenset({K, A}), frozenset({B}), frozenset({e})}
    assert ("m3", "max_user_ids_per_customer", "email", "new@x", "user_id", "A") in (
        conflict_tuples(res)
    )


def test_other_identifier_types_have_the_lowest_priority() -> None:
    phone = ("phone", "+100")
    res = resolve(frame([("m1", 0, [phone, A]), ("m2", 1, [phone, K, B])]))
    # phone (other type) is set aside before the anonymous id
    assert customers(res) == {frozenset({phone, A}), frozenset({K, B})}
    assert conflict_tuples(res) == [
        ("m2", "max_user_ids_per_customer", "phone", "+100", "user_id", "B")
    ]


# --------------------------------------------------------------------------- rule 3


def test_shuffled_input_rows_give_identical_frames() -> None:
    rng = random.Random(7)
    df = frame(random_messages(rng, n_messages=60))
    expected = resolve(df)
    for seed in range(5):
        shuffled = df.sample(frac=1.0, random_state=seed).reset_index(drop=True)
        got = resolve(shuffled)
        pd.testing.assert_frame_equal(got.nodes, expected.nodes)
        pd.testing.assert_frame_equal(got.conflicts, expected.conflicts)
        assert {k: v for k, v in got.stats.items() if k != "seconds"} == {
            k: v for k, v in expected.stats.items() if k != "seconds"
        }


def test_output_does_not_depend_on_the_hash_seed(tmp_path: Any) -> None:
    """Integer codes come from salted string hashes; the result must not depend on them."""
    rng = random.Random(11)
    df = frame(random_messages(rng, n_messages=80))
    src = tmp_path / "in.pkl"
    df.to_pickle(src)
    script = (
        "import sys, pandas as pd; from orchestration.identity.resolver import resolve; "
        "r = resolve(pd.read_pickle(sys.argv[1])); "
        "print(r.nodes.to_json(orient='split', date_format='iso')); "
        "print(r.conflicts.to_json(orient='split', date_format='iso'))"
    )
    seed = "12345" if os.environ.get("PYTHONHASHSEED") != "12345" else "54321"
    run = subprocess.run(
        [sys.executable, "-c", script, str(src)],
        env={**os.environ, "PYTHONHASHSEED": seed},
        capture_output=True,
        text=True,
        check=True,
    )
    here = resolve(df)
    expected = [
        frame_.to_json(orient="split", date_format="iso") for frame_ in (here.nodes, here.conflicts)
    ]
    assert run.stdout.splitlines() == expected


def test_customer_id_is_sha256_of_the_anchor_identifier() -> None:
    res = resolve(frame([("m1", 0, [K, A]), ("m2", 5, [A, ("email", "a@x")])]))
    expected = "c_" + hashlib.sha256(b"user_id:A").hexdigest()[:20]
    assert set(res.nodes.customer_id) == {expected} == {customer_id_for("user_id", "A")}
    # anchor: earliest first_seen_at, ties by priority (user id before anonymous id)
    assert set(zip(res.nodes.anchor_type, res.nodes.anchor_value, strict=True)) == {A}


def test_anchor_is_the_earliest_identifier_then_the_lowest_value() -> None:
    k1, k2 = ("anonymous_id", "k1"), ("anonymous_id", "k2")
    res = resolve(frame([("m1", 0, [k2, k1]), ("m2", 5, [k1, A])]))
    assert set(res.nodes.customer_id) == {customer_id_for("anonymous_id", "k1")}


def test_customer_ids_do_not_depend_on_how_data_is_split_or_row_numbers() -> None:
    big = resolve(frame([("x", 0, [("anonymous_id", "z")]), *KIOSK]))
    small = resolve(frame(KIOSK))
    assert customer_of(big, *B) == customer_of(small, *B) == customer_id_for(*B)
    assert customer_of(big, *K) == customer_of(small, *K) == customer_id_for(*A)


def test_node_statistics_first_last_seen_first_message_and_message_count() -> None:
    res = resolve(
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
    assert list(res.nodes.columns) == NODE_COLUMNS
    # canonical order: first appearance, then priority (user id before anonymous id)
    assert list(res.nodes.identifier_value) == ["A", "K"]


def test_timezone_aware_event_times_keep_their_dtype() -> None:
    df = frame(KIOSK)
    df["event_at"] = df["event_at"].dt.tz_localize("UTC")
    res = resolve(df)
    assert res.nodes.first_seen_at.dtype == df.event_at.dtype
    assert res.conflicts.occurred_at.iloc[0] == ts(10).tz_localize("UTC")


# --------------------------------------------------------------------------- rule 4


def test_components_without_too_many_user_ids_are_resolved_in_bulk() -> None:
    df = frame(
        [
            *KIOSK,
            ("n1", 0, [("anonymous_id", "q"), ("user_id", "Q")]),
            ("n2", 1, [("anonymous_id", "q"), ("email", "q@x")]),
            ("n3", 2, [("anonymous_id", "lonely")]),
        ]
    )
    res = resolve(df)
    assert res.stats["components_ordered"] == 1  # the kiosk
    assert res.stats["components_in_bulk"] == 2  # {q, Q, q@x} and {lonely}
    assert res.stats["customers"] == 4


@pytest.mark.parametrize("max_user_ids", [1, 2])
def test_bulk_plus_ordered_result_equals_naive_ordered_reference(max_user_ids: int) -> None:
    rng = random.Random(max_user_ids)
    for _ in range(100):
        msgs = random_messages(rng, n_messages=rng.randint(1, 40))
        df = frame(msgs)
        got = resolve(df, max_user_ids_per_customer=max_user_ids)
        ref_nodes, ref_conflicts = naive_resolve(df, max_user_ids)
        pd.testing.assert_frame_equal(got.nodes, ref_nodes)
        pd.testing.assert_frame_equal(got.conflicts, ref_conflicts)
        assert got.stats["conflicts"] == len(ref_conflicts)
        assert got.stats["customers"] == ref_nodes.customer_id.nunique()


def test_large_tie_sorts_agree_with_small_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(3)
    cases = [frame(random_messages(rng, n_messages=30)) for _ in range(15)]
    expected = [resolve(df) for df in cases]
    monkeypatch.setattr(identity, "_SMALL_SORT", 0)  # force the DataFrame sort path
    for df, exp in zip(cases, expected, strict=True):
        got = resolve(df)
        pd.testing.assert_frame_equal(got.nodes, exp.nodes)
        pd.testing.assert_frame_equal(got.conflicts, exp.conflicts)


def test_factorize_is_exact_even_when_hashes_collide() -> None:
    # hash(-1) == hash(-2) in CPython: the fast path must detect it and fall back
    values = np.array([-1, -2, -1, 5], dtype=object)
    assert _hash_codes(values, None) is None
    codes, rep = _factorize(values)
    assert codes[0] == codes[2] and len({codes[0], codes[1], codes[3]}) == 3
    assert list(values[rep][codes]) == list(values)
    # small ints hash to themselves: rows share the top bits but not the whole hash
    many = np.array([i % 7 for i in range(50)], dtype=object)
    for salt, distinct in ((None, 7), (np.array([i % 2 for i in range(50)]), 14)):
        codes, rep = _factorize(many, salt)
        assert len(set(codes.tolist())) == distinct
        assert list(many[rep][codes]) == list(many)


@pytest.mark.parametrize("null", [None, np.nan, pd.NA])
@pytest.mark.parametrize("column", ["identifier_value", "message_id"])
def test_null_identifier_value_or_message_id_is_rejected(column: str, null: Any) -> None:
    for dtype in ("object", "str"):
        df = frame(KIOSK)
        df[column] = df[column].astype(object)
        df.loc[1, column] = null
        df[column] = df[column].astype(dtype)
        with pytest.raises(ValueError, match=f"null {column}"):
            resolve(df)


def test_max_user_ids_below_one_is_rejected() -> None:
    with pytest.raises(ValueError):
        resolve(frame(KIOSK), max_user_ids_per_customer=0)


# --------------------------------------------------------------------------- rule 6


def test_empty_input_returns_empty_frames_with_columns_and_dtypes() -> None:
    res = resolve(frame([]))
    assert list(res.nodes.columns) == NODE_COLUMNS and res.nodes.empty
    assert list(res.conflicts.columns) == CONFLICT_COLUMNS and res.conflicts.empty
    assert res.nodes.first_seen_at.dtype == "datetime64[ns]"
    assert res.nodes.messages.dtype == "int64"
    assert res.nodes.customer_id.dtype == resolve(frame(KIOSK)).nodes.customer_id.dtype
    assert res.conflicts.occurred_at.dtype == "datetime64[ns]"
    assert res.stats["nodes"] == 0 and res.stats["customers"] == 0


def test_non_empty_frames_have_the_same_dtypes_as_empty_ones() -> None:
    empty, full = resolve(frame([])), resolve(frame(KIOSK))
    assert empty.nodes.dtypes.to_dict() == full.nodes.dtypes.to_dict()
    assert empty.conflicts.dtypes.to_dict() == full.conflicts.dtypes.to_dict()


# --------------------------------------------------------------------------- rule 5


def chain_edges() -> pd.DataFrame:
    rows = [
        ("anonymous_id", "anon1", "email", "e@x", "m1", ts(0)),
        ("anonymous_id", "anon2", "email", "e@x", "m2", ts(1)),
        ("anonymous_id", "anon2", "user_id", "u1", "m3", ts(2)),
        ("user_id", "u1", "anonymous_id", "anon3", "m4", ts(3)),
        ("anonymous_id", "anon2", "user_id", "u1", "m0", ts(5)),  # later duplicate edge
        ("anonymous_id", "other", "email", "o@x", "m9", ts(0)),
    ]
    return pd.DataFrame(
        rows, columns=["a_type", "a_value", "b_type", "b_value", "message_id", "first_seen_at"]
    )


def test_explain_path_returns_the_hops_from_start_to_anchor() -> None:
    hops = explain_path(chain_edges(), ("anonymous_id", "anon1"), ("user_id", "u1"))
    assert [(h["from_value"], h["to_value"], h["message_id"]) for h in hops] == [
        ("anon1", "e@x", "m1"),
        ("e@x", "anon2", "m2"),
        ("anon2", "u1", "m3"),  # the earliest of the two edges
    ]
    assert hops[0] == {
        "from_type": "anonymous_id",
        "from_value": "anon1",
        "to_type": "email",
        "to_value": "e@x",
        "message_id": "m1",
        "first_seen_at": ts(0),
    }


def test_explain_path_follows_edges_in_both_directions() -> None:
    hops = explain_path(chain_edges(), ("anonymous_id", "anon3"), ("email", "e@x"))
    assert [h["to_value"] for h in hops] == ["u1", "anon2", "e@x"]


def test_explain_path_is_empty_for_the_anchor_itself() -> None:
    assert explain_path(chain_edges(), ("user_id", "u1"), ("user_id", "u1")) == []


def test_explain_path_raises_when_not_connected() -> None:
    with pytest.raises(ValueError, match="not connected"):
        explain_path(chain_edges(), ("anonymous_id", "anon1"), ("email", "o@x"))


# --------------------------------------------------------------------------- reference

PRIORITY = {"user_id": 0, "email": 1, "anonymous_id": 2}


def prio_key(ident: tuple[str, str]) -> tuple[int, str, str]:
    return (PRIORITY.get(ident[0], 3), ident[1], ident[0])


def random_messages(rng: random.Random, n_messages: int) -> list[Message]:
    spread = rng.choice([1, 1, 4])  # a bigger pool gives more, smaller components
    pool = (
        [("user_id", f"u{i}") for i in range(5 * spread)]
        + [("email", f"e{i}@x") for i in range(4 * spread)]
        + [("anonymous_id", f"a{i}") for i in range(8 * spread)]
        + [("phone", f"p{i}") for i in range(2 * spread)]
        + [("previous_id", "a1")]  # same value as an anonymous id, different type
    )
    msgs: list[Message] = []
    for i in range(n_messages):
        if msgs and rng.random() < 0.15:  # repeat an earlier identifier set
            idents = list(rng.choice(msgs)[2])
            rng.shuffle(idents)
        else:
            idents = rng.sample(pool, rng.choice([1, 1, 2, 2, 2, 3, 3, 4]))
        msgs.append((f"m{rng.randrange(10**6):06d}-{i}", rng.randrange(8), idents))
    return msgs


def naive_resolve(df: pd.DataFrame, max_user_ids: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reference: apply every message in (event_at, message_id) order, plain union-find.

    Conflicts are recorded at the first message carrying a given identifier set; every
    message is applied (a repeated set must not change anything).
    """
    msgs: dict[str, dict[str, Any]] = {}
    for mid, at, t, v in df.itertuples(index=False):
        m = msgs.setdefault(mid, {"at": at, "ids": set()})
        m["at"] = min(m["at"], at)
        m["ids"].add((t, v))
    order = sorted(msgs, key=lambda mid: (msgs[mid]["at"], mid))

    parent: dict[tuple[str, str], tuple[str, str]] = {}
    users: dict[tuple[str, str], int] = {}

    def find(x: tuple[str, str]) -> tuple[str, str]:
        while parent[x] != x:
            x = parent[x]
        return x

    def n_users(roots: Iterable[tuple[str, str]]) -> int:
        return sum(users[r] for r in set(roots))

    seen_sets: set[frozenset[tuple[str, str]]] = set()
    conflicts = []
    for mid in order:
        ids = sorted(msgs[mid]["ids"], key=prio_key)
        for x in ids:
            if x not in parent:
                parent[x] = x
                users[x] = int(x[0] == "user_id")
        roots = [find(x) for x in ids]
        keep = len(ids)
        while n_users(roots[:keep]) > max_user_ids:
            keep -= 1
        kept = set(roots[:keep])
        first_time = frozenset(ids) not in seen_sets
        seen_sets.add(frozenset(ids))
        for j in reversed(range(keep, len(ids))):  # in the order set aside
            if roots[j] not in kept and first_time:
                conflicts.append((mid, msgs[mid]["at"], ids[j], ids[0]))
        kept_list = sorted(kept, key=prio_key)
        for r in kept_list[1:]:
            parent[r] = kept_list[0]
            users[kept_list[0]] += users[r]

    rank = {mid: i for i, mid in enumerate(order)}
    stats: dict[tuple[str, str], dict[str, Any]] = {}
    for mid in order:
        for x in msgs[mid]["ids"]:
            s = stats.setdefault(x, {"first": mid, "last": mid, "n": 0})
            s["last"] = mid
            s["n"] += 1
    members: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for x in parent:
        members.setdefault(find(x), []).append(x)
    anchor_of: dict[tuple[str, str], tuple[str, str]] = {}
    for group in members.values():
        anchor = min(group, key=lambda x: (msgs[stats[x]["first"]]["at"], *prio_key(x)))
        for x in group:
            anchor_of[x] = anchor
    nodes = sorted(parent, key=lambda x: (rank[stats[x]["first"]], *prio_key(x)))

    def text(values: list[str]) -> pd.Series:
        return pd.Series(values, dtype="str")

    node_frame = pd.DataFrame(
        {
            "identifier_type": text([x[0] for x in nodes]),
            "identifier_value": text([x[1] for x in nodes]),
            "customer_id": text([customer_id_for(*anchor_of[x]) for x in nodes]),
            "anchor_type": text([anchor_of[x][0] for x in nodes]),
            "anchor_value": text([anchor_of[x][1] for x in nodes]),
            "first_seen_at": pd.Series(
                [msgs[stats[x]["first"]]["at"] for x in nodes], dtype="datetime64[ns]"
            ),
            "last_seen_at": pd.Series(
                [msgs[stats[x]["last"]]["at"] for x in nodes], dtype="datetime64[ns]"
            ),
            "first_message_id": text([stats[x]["first"] for x in nodes]),
            "messages": pd.Series([stats[x]["n"] for x in nodes], dtype="int64"),
        }
    )
    conflict_frame = pd.DataFrame(
        {
            "message_id": text([c[0] for c in conflicts]),
            "occurred_at": pd.Series([c[1] for c in conflicts], dtype="datetime64[ns]"),
            "rule": text(["max_user_ids_per_customer"] * len(conflicts)),
            "identifier_type": text([c[2][0] for c in conflicts]),
            "identifier_value": text([c[2][1] for c in conflicts]),
            "conflicting_identifier_type": text([c[3][0] for c in conflicts]),
            "conflicting_identifier_value": text([c[3][1] for c in conflicts]),
        }
    )
    return node_frame, conflict_frame
