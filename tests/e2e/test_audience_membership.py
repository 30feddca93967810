"""Audience membership: who is in, who entered and left, and when, over two builds.

A hand-made dump is built twice through the nightly Dagster job (`run_nightly_job`, the same
job `cdp build` runs), sharing the builds between tests:

* build 1: days 2026-02-27 .. 2026-03-01 (the newest event is 2026-03-01 18:00);
* then `cdp forget --email frank@example.com`;
* build 2: day 2026-03-10 (the newest event becomes 2026-03-10 12:00), which also flips
  Dave's Advertising consent to true.

The demo audiences of the project are used as they are:
pricing_intent (/pricing at least twice in the last 7 days, no order), high_value (revenue over
500 in the last 90 days) and dormant_signups (signed up, inactive for 14 days or more).
"""

from __future__ import annotations

import json
import shutil

import duckdb
from support.audience_people import (
    dbt,
    who,
)


def test_build_1_members_are_exactly_the_hand_worked_sets(builds):
    b1 = builds["build_1"]
    members = {name: who(b1["ids"], m) for name, m in b1["members"].items()}
    assert members == {
        # Dave (Advertising refused) and Erin (never stated) meet the condition but lack consent;
        # Bob ordered; Carol viewed /pricing once.
        "pricing_intent": {"alice", "ivy"},
        # Frank's 550 is a `total`; Jane's 700 is older than 90 days.
        "high_value": {"bob", "frank"},
        # Kim has been inactive 9 days (last page view Feb 20, newest event Mar 1).
        "dormant_signups": {"gina"},
    }
    assert b1["sizes"] == [
        # audience, members, entered, exited, erased, excluded_without_consent
        ("dormant_signups", 1, 1, 0, 0, 0),
        ("high_value", 2, 2, 0, 0, 0),
        ("pricing_intent", 2, 2, 0, 0, 2),
    ]
    # New members enter at the build time.
    assert {t for m in b1["members"].values() for t in m.values()} == {b1["built_at"]}


def test_build_2_windows_move_with_the_newest_event_and_consent_flips(builds):
    b2 = builds["build_2"]
    members = {name: who(b2["ids"], m) for name, m in b2["members"].items()}
    assert members == {
        # Alice's and Ivy's views are now 10 days old; Dave granted Advertising and came back.
        "pricing_intent": {"dave"},
        # Frank was erased.
        "high_value": {"bob"},
        # Kim is now 18 days inactive.
        "dormant_signups": {"gina", "kim"},
    }
    assert b2["sizes"] == [
        ("dormant_signups", 2, 1, 0, 0, 0),
        # Frank's erasure took his membership history with him: he leaves as erased, not as an
        # exit, and the size still adds up (2 + 0 entered - 0 exited - 1 erased = 1).
        ("high_value", 1, 0, 0, 1, 0),
        ("pricing_intent", 1, 1, 2, 0, 0),
    ]


def test_membership_history_records_entered_and_left_and_entered_at_keeps_the_spell(builds):
    b1, b2 = builds["build_1"], builds["build_2"]
    t1, t2 = b1["built_at"], b2["built_at"]
    assert t1 < t2
    ids = b2["ids"]
    history = {(t, a, next(iter(who(ids, [c]))), change)
               for t, a, c, change in b2["history"]}
    assert history == {
        (t1, "pricing_intent", "alice", "entered"),
        (t1, "pricing_intent", "ivy", "entered"),
        (t1, "high_value", "bob", "entered"),
        # Frank's rows (t1 high_value entered) went with his erasure: no history survives him.
        (t1, "dormant_signups", "gina", "entered"),
        (t2, "pricing_intent", "alice", "left"),
        (t2, "pricing_intent", "ivy", "left"),
        (t2, "pricing_intent", "dave", "entered"),
        (t2, "dormant_signups", "kim", "entered"),
    }
    # entered_at: the start of the current spell (Bob and Gina since build 1).
    entered = {(a, next(iter(who(ids, [c])))): t
               for a, m in b2["members"].items() for c, t in m.items()}
    assert entered == {
        ("pricing_intent", "dave"): t2,
        ("high_value", "bob"): t1,
        ("dormant_signups", "gina"): t1,
        ("dormant_signups", "kim"): t2,
    }


def test_same_data_again_changes_nothing_but_a_consent_default_of_true_lets_erin_in(
    builds, tmp_path
):
    """dbt alone, on a copy of the first build's warehouse, with audience_consent_default."""
    warehouse = tmp_path / "again.duckdb"
    shutil.copy(builds["root"] / "warehouse_1.duckdb", warehouse)
    dbt(warehouse, tmp_path, "run", "--select",
        "int_audiences__members audience_membership_history audience_sizes",
        "--vars", json.dumps({"audience_consent_default": True}))
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        latest = conn.execute(
            "select audience_name, customer_id, change from marts.audience_membership_history "
            "where built_at = (select max(built_at) from marts.audience_sizes)"
        ).fetchall()
    ids = builds["build_1"]["ids"]
    # Only the consent default changed: Erin (who never stated consent) enters pricing_intent.
    assert [(a, next(iter(who(ids, [c]))), ch) for a, c, ch in latest] == [
        ("pricing_intent", "erin", "entered")
    ]
