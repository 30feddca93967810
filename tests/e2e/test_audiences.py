"""Audiences and activation: membership, consent, erasure, history and customer-match hashing.

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

import csv
import itertools
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest
from click.testing import CliRunner
from support.dumps import write_dump_file

from orchestration.audiences import (
    Audience,
    atomic_write,
    audience_from_node,
    discard_exports,
    sha256_hex,
)
from orchestration.cli import main
from orchestration.defs.runner import run_nightly_job
from orchestration.settings import REPO_ROOT

ADS = {"Advertising": True, "Analytics": True}
NO_ADS = {"Advertising": False, "Analytics": True}
_ids = itertools.count(1)


def message(type_: str, at: str, *, anon: str | None = None, user: str | None = None,
            consent: dict | None = None, received: str | None = None, **fields: Any) -> dict:
    """A Segment message; `at` is the event time, `received` the day folder's receivedAt."""
    received = received or at
    context: dict[str, Any] = {"library": {"name": "analytics.js"}}
    if consent is not None:
        context["consent"] = {"categoryPreferences": consent}
    if type_ == "page":
        path = fields.pop("path")
        context["page"] = {"path": path, "url": f"https://shop.example.com{path}"}
    msg = {
        "type": type_, "messageId": f"m-{next(_ids):04d}", "timestamp": at,
        "sentAt": received, "receivedAt": received, "context": context, **fields,
    }
    if anon:
        msg["anonymousId"] = anon
    if user:
        msg["userId"] = user
    return msg


def identify(at: str, anon: str, user: str, email: str, consent: dict | None, **traits: Any
             ) -> dict:
    return message("identify", at, anon=anon, user=user, consent=consent,
                   traits={"email": email, **traits})


def build_1_messages() -> dict[str, list[dict]]:
    """Messages by received day (folder) for the first build."""
    d27, d28, m01 = "2026-02-27T{}:00.000Z", "2026-02-28T{}:00.000Z", "2026-03-01T{}:00.000Z"
    late = "2026-02-27T08:00:00.000Z"  # receivedAt of old events delivered late
    return {
        "2026-02-27": [
            # Alice: /pricing twice within 7 days, no order, Advertising granted -> pricing_intent
            identify(d27.format("10:00"), "a-1", "u-alice", "Alice@Example.com ", ADS,
                     first_name="Alice", phone="(555) 987-6543"),
            # Bob: /pricing twice but he ordered (600) -> high_value only
            identify(d27.format("10:10"), "b-1", "u-bob", "bob@example.com", ADS,
                     first_name="Bob"),
            # Carol: /pricing once -> nothing
            identify(d27.format("10:20"), "c-1", "u-carol", "carol@example.com", ADS),
            # Dave: /pricing three times, Advertising refused -> no audience (until build 2)
            identify(d27.format("10:30"), "d-1", "u-dave", "dave@example.com", NO_ADS),
            # Erin: /pricing twice, never states consent -> excluded by default
            identify(d27.format("10:40"), "e-1", "u-erin", "erin@example.com", None),
            # Frank: an order of total 550 (no revenue field) -> high_value; erased later
            identify(d27.format("10:50"), "f-1", "u-frank", "frank@example.com", ADS,
                     first_name="Frank", phone="+1 (555) 123-4567"),
            message("track", d27.format("11:00"), anon="f-1", user="u-frank", consent=ADS,
                    event="Order Completed", properties={"order_id": "o-f1", "total": 550}),
            # Gina: signed up on Jan 10, never came back -> dormant_signups
            identify("2026-01-10T09:00:00.000Z", "g-1", "u-gina", "gina@example.com", ADS,
                     received=late),
            message("track", "2026-01-10T09:01:00.000Z", anon="g-1", user="u-gina",
                    consent=ADS, event="Signed Up", received=late),
            # Hank: signed up, still active -> nothing
            identify(d27.format("12:00"), "h-1", "u-hank", "hank@example.com", ADS),
            message("track", d27.format("12:01"), anon="h-1", user="u-hank", consent=ADS,
                    event="Signed Up"),
            # Jane: revenue 700, but in October (outside 90 days) -> nothing
            identify("2025-10-01T09:00:00.000Z", "j-1", "u-jane", "jane@example.com", ADS,
                     received=late),
            message("track", "2025-10-01T09:05:00.000Z", anon="j-1", user="u-jane",
                    consent=ADS, event="Order Completed",
                    properties={"order_id": "o-j1", "revenue": 700}, received=late),
            # Kim: signed up Feb 1, last active Feb 20: 9 days inactive now, 18 after build 2
            identify("2026-02-01T09:00:00.000Z", "k-1", "u-kim", "kim@example.com", ADS,
                     received=late),
            message("track", "2026-02-01T09:01:00.000Z", anon="k-1", user="u-kim",
                    consent=ADS, event="Signed Up", received=late),
            message("page", "2026-02-20T09:00:00.000Z", anon="k-1", user="u-kim", consent=ADS,
                    path="/account", received=late),
        ],
        "2026-02-28": [
            message("page", d28.format("10:00"), anon="a-1", user="u-alice", consent=ADS,
                    path="/pricing"),
            message("page", d28.format("10:05"), anon="a-1", user="u-alice", consent=ADS,
                    path="/pricing"),
            message("page", d28.format("11:00"), anon="b-1", user="u-bob", consent=ADS,
                    path="/pricing"),
            message("page", d28.format("11:05"), anon="b-1", user="u-bob", consent=ADS,
                    path="/pricing"),
            message("track", d28.format("11:10"), anon="b-1", user="u-bob", consent=ADS,
                    event="Order Completed", properties={"order_id": "o-b1", "revenue": 600}),
            message("page", d28.format("12:00"), anon="c-1", user="u-carol", consent=ADS,
                    path="/pricing"),
            # A device clock years ahead: counts as its receivedAt, never as the newest event
            message("page", "2031-01-01T00:00:00.000Z", anon="c-1", user="u-carol",
                    consent=ADS, path="/", received=d28.format("12:30")),
        ],
        "2026-03-01": [
            *(message("page", m01.format(f"09:0{i}"), anon="d-1", user="u-dave",
                      consent=NO_ADS, path="/pricing") for i in range(3)),
            *(message("page", m01.format(f"10:0{i}"), anon="e-1", user="u-erin",
                      path="/pricing") for i in range(2)),
            # Ivy: an anonymous visitor (no email, no phone), /pricing twice -> pricing_intent
            *(message("page", m01.format(f"11:0{i}"), anon="i-1", consent=ADS,
                      path="/pricing") for i in range(2)),
            message("page", m01.format("18:00"), anon="h-1", user="u-hank", consent=ADS,
                    path="/"),
        ],
    }


def build_2_messages() -> dict[str, list[dict]]:
    m09, m10 = "2026-03-09T{}:00.000Z", "2026-03-10T{}:00.000Z"
    return {
        "2026-03-10": [
            # Dave grants Advertising and views /pricing twice -> enters pricing_intent
            message("page", m09.format("09:00"), anon="d-1", user="u-dave", consent=ADS,
                    path="/pricing", received=m10.format("08:00")),
            message("page", m10.format("09:00"), anon="d-1", user="u-dave", consent=ADS,
                    path="/pricing"),
            message("page", m10.format("12:00"), anon="h-1", user="u-hank", consent=ADS,
                    path="/"),
        ],
    }


def write_days(raw: Path, by_day: dict[str, list[dict]]) -> list[str]:
    for day, lines in by_day.items():
        write_dump_file(raw, day, "events.jsonl", lines)
    return sorted(by_day)


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Build 1, snapshot, erasure request, build 2; exports under CDP_EXPORT_DIR."""
    root = tmp_path_factory.mktemp("audiences")
    raw, warehouse, exports = root / "raw", root / "warehouse.duckdb", root / "exports"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CDP_EXPORT_DIR", str(exports))
        mp.setenv("CDP_WAREHOUSE", str(warehouse))
        mp.setenv("CDP_RAW_DIR", str(raw))
        state: dict[str, Any] = {"root": root, "warehouse": warehouse, "exports": exports}
        days = write_days(raw, build_1_messages())
        state["summary_1"] = run_nightly_job(raw, warehouse, days, echo=lambda _l: None)
        state["build_1"] = snapshot(warehouse, exports, root / "snapshot_1")
        shutil.copy(warehouse, root / "warehouse_1.duckdb")

        forget = CliRunner().invoke(
            main, ["forget", "--email", "frank@example.com", "--warehouse", str(warehouse)]
        )
        assert forget.exit_code == 0, forget.output
        days = write_days(raw, build_2_messages())
        state["summary_2"] = run_nightly_job(raw, warehouse, days, echo=lambda _l: None)
        state["build_2"] = snapshot(warehouse, exports, root / "snapshot_2")
        yield state


def snapshot(warehouse: Path, exports: Path, copy_to: Path) -> dict[str, Any]:
    """Everything the tests look at after a build, with the export folder copied aside."""
    shutil.copytree(exports, copy_to)
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        ids = dict(conn.execute(
            "select identifier_value, customer_id from marts.identity_graph"
        ).fetchall())
        members = {
            name: dict(conn.execute(
                f"select customer_id, entered_at from marts.audience__{name}").fetchall())
            for name in ("pricing_intent", "high_value", "dormant_signups")
        }
        history = conn.execute(
            "select built_at, audience_name, customer_id, change "
            "from marts.audience_membership_history order by built_at, audience_name"
        ).fetchall()
        sizes = conn.execute(
            "select audience_name, members, entered, exited, excluded_without_consent "
            "from marts.audience_sizes where built_at = (select max(built_at) "
            "from marts.audience_sizes) order by audience_name"
        ).fetchall()
        built_at = conn.execute("select max(built_at) from marts.audience_sizes").fetchone()[0]
    return {"ids": ids, "members": members, "history": history, "sizes": sizes,
            "built_at": built_at, "exports": copy_to}


def who(ids: dict[str, str], customer_ids) -> set[str]:
    """Customer ids as the fixture's people (u-alice -> alice, anonymous i-1 -> ivy)."""
    names = {}
    for value, customer in ids.items():
        if value.startswith("u-"):
            names[customer] = value[2:]
        elif value == "i-1":
            names[customer] = "ivy"
    return {names.get(c, c) for c in customer_ids}


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def parquet_ids(path: Path) -> set[str]:
    with duckdb.connect() as conn:
        return {r[0] for r in conn.execute(
            "select customer_id from read_parquet(?)", [str(path)]).fetchall()}


def everything_exported(folder: Path) -> tuple[set[str], str]:
    """Customer ids in every members file (CSV and Parquet), and all text of every CSV."""
    ids: set[str] = set()
    text = ""
    for path in sorted(folder.rglob("*")):
        if path.name.endswith(".members.parquet"):
            ids |= parquet_ids(path)
        elif path.name.endswith(".csv"):
            text += path.read_text()
            if path.name.endswith(".members.csv"):
                ids |= {r["customer_id"] for r in read_csv(path)}
    return ids, text


# --- membership --------------------------------------------------------------------------


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
        # audience, members, entered, exited, excluded_without_consent
        ("dormant_signups", 1, 1, 0, 0),
        ("high_value", 2, 2, 0, 0),
        ("pricing_intent", 2, 2, 0, 2),
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
        ("dormant_signups", 2, 1, 0, 0),
        ("high_value", 1, 0, 0, 0),
        ("pricing_intent", 1, 1, 2, 0),
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


def dbt(warehouse: Path, work: Path, *args: str) -> None:
    env = {**os.environ, "CDP_WAREHOUSE": str(warehouse)}
    result = subprocess.run(
        ["dbt", *args, "--project-dir", str(REPO_ROOT), "--profiles-dir", str(REPO_ROOT),
         "--target-path", str(work / "target"), "--log-path", str(work / "logs")],
        env=env, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]


# --- exports -----------------------------------------------------------------------------


def test_exports_one_folder_per_destination_with_csv_parquet_and_customer_match(builds):
    folder = builds["build_1"]["exports"]
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert files == [
        "crm/dormant_signups.customer_match.csv", "crm/dormant_signups.members.csv",
        "crm/dormant_signups.members.parquet",
        "crm/high_value.customer_match.csv", "crm/high_value.members.csv",
        "crm/high_value.members.parquet",
        "google_ads/high_value.customer_match.csv", "google_ads/high_value.members.csv",
        "google_ads/high_value.members.parquet",
        "google_ads/pricing_intent.customer_match.csv", "google_ads/pricing_intent.members.csv",
        "google_ads/pricing_intent.members.parquet",
        "meta_ads/pricing_intent.customer_match.csv", "meta_ads/pricing_intent.members.csv",
        "meta_ads/pricing_intent.members.parquet",
    ]
    ids = builds["build_1"]["ids"]
    rows = read_csv(folder / "crm" / "high_value.members.csv")
    assert list(rows[0]) == ["customer_id", "entered_at", "user_id", "email", "first_name",
                             "last_name", "orders", "revenue"]
    assert {(r["user_id"], r["email"], r["orders"], r["revenue"]) for r in rows} == {
        ("u-bob", "bob@example.com", "1", "600"),
        ("u-frank", "frank@example.com", "1", "550"),
    }
    assert parquet_ids(folder / "crm" / "high_value.members.parquet") == {
        r["customer_id"] for r in rows}
    # Customer match: hashed, normalised email and E.164 phone; Ivy has neither, so no row.
    match = read_csv(folder / "google_ads" / "pricing_intent.customer_match.csv")
    assert match == [{"Email": sha256_hex("alice@example.com"),
                      "Phone": sha256_hex("+15559876543")}]
    assert who(ids, parquet_ids(
        folder / "meta_ads" / "pricing_intent.members.parquet")) == {"alice", "ivy"}
    assert {r["Email"] for r in read_csv(folder / "google_ads" / "high_value.customer_match.csv")
            } == {sha256_hex("bob@example.com"), sha256_hex("frank@example.com")}
    for path in folder.rglob("*.csv"):
        assert (path.stat().st_mode & 0o777) == 0o600
    assert not list(folder.rglob("*.tmp"))


def test_a_customer_without_advertising_consent_is_not_exported_until_they_grant_it(builds):
    dave_1 = builds["build_1"]["ids"]["u-dave"]
    erin = builds["build_1"]["ids"]["u-erin"]
    exported, text = everything_exported(builds["build_1"]["exports"])
    assert dave_1 not in exported and erin not in exported
    assert sha256_hex("dave@example.com") not in text and "dave@example.com" not in text

    folder = builds["build_2"]["exports"]
    dave_2 = builds["build_2"]["ids"]["u-dave"]
    assert {r["customer_id"] for r in read_csv(
        folder / "google_ads" / "pricing_intent.members.csv")} == {dave_2}
    assert read_csv(folder / "meta_ads" / "pricing_intent.customer_match.csv") == [
        {"Email": sha256_hex("dave@example.com"), "Phone": ""}
    ]


def test_an_erased_customer_is_in_no_export(builds):
    frank = builds["build_1"]["ids"]["u-frank"]
    exported_1, text_1 = everything_exported(builds["build_1"]["exports"])
    assert frank in exported_1 and sha256_hex("frank@example.com") in text_1

    assert "u-frank" not in builds["build_2"]["ids"]
    exported_2, text_2 = everything_exported(builds["build_2"]["exports"])
    assert frank not in exported_2
    for needle in ("frank@example.com", "u-frank", sha256_hex("frank@example.com"),
                   sha256_hex("+15551234567")):
        assert needle not in text_2
    # The files of the live export folder are the second build's.
    assert everything_exported(builds["exports"])[0] == exported_2


def test_audience_exports_asset_reports_plottable_numbers_per_audience(builds):
    from orchestration.defs.audiences import audience_exports
    from orchestration.defs.resources import WarehouseResource

    # Files of an audience no longer exported go; other files in the folders stay.
    stale = builds["exports"] / "google_ads" / "old_audience.customer_match.csv"
    stale.write_text("Email,Phone\n")
    notes = builds["exports"] / "google_ads" / "notes.txt"
    notes.write_text("not ours")
    result = dg.materialize(
        [audience_exports],
        resources={"warehouse": WarehouseResource(warehouse=str(builds["warehouse"]))},
        partition_key="2026-03-10",
    )
    assert result.success
    meta = {k: v.value for k, v in
            result.asset_materializations_for_node("activation__audience_exports")[0]
            .metadata.items()}
    assert {k: meta[k] for k in meta if k.startswith("pricing_intent/")} == {
        "pricing_intent/members": 1, "pricing_intent/entered": 1, "pricing_intent/left": 2,
        "pricing_intent/excluded_without_consent": 0, "pricing_intent/customer_match_rows": 1,
    }
    assert meta["high_value/members"] == 1 and meta["dormant_signups/entered"] == 1
    assert meta["removed_files"] == 1 and not stale.exists() and notes.exists()
    observed = {
        e.event_specific_data.asset_observation.asset_key.to_user_string():
            e.event_specific_data.asset_observation.metadata["members"].value
        for e in result.all_events if e.event_type == dg.DagsterEventType.ASSET_OBSERVATION
    }
    assert observed == {"marts/audience__pricing_intent": 1, "marts/audience__high_value": 1,
                        "marts/audience__dormant_signups": 2}


def test_cdp_audiences_lists_sizes_and_destinations(builds):
    result = CliRunner().invoke(main, ["audiences", "--warehouse", str(builds["warehouse"])])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["audience", "members", "entered", "left", "no", "consent"]
    assert lines[1].split() == ["dormant_signups", "2", "1", "0", "0"]
    assert lines[3].split() == ["pricing_intent", "1", "1", "2", "0"]
    assert "destinations google_ads, meta_ads" in result.output


# --- no build ----------------------------------------------------------------------------


def test_a_failed_write_leaves_the_previous_file_and_no_temporary_file(tmp_path):
    target = tmp_path / "crm" / "vip.members.csv"
    atomic_write(target, lambda tmp: tmp.write_text("customer_id\nc_1\n"))

    def fail(tmp: Path) -> None:
        tmp.write_text("customer_id\nc_")
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic_write(target, fail)
    assert target.read_text() == "customer_id\nc_1\n"
    assert [p.name for p in target.parent.iterdir()] == ["vip.members.csv"]
    assert (target.stat().st_mode & 0o777) == 0o600



def test_discard_exports_removes_only_audience_files(tmp_path):
    for name in ("crm/vip.members.csv", "crm/vip.members.parquet",
                 "google_ads/vip.customer_match.csv", "google_ads/README.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    assert len(discard_exports(tmp_path)) == 3
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["README.txt"]


def test_audience_definitions_come_from_the_model_meta():
    node = {
        "name": "audience__vip", "resource_type": "model", "description": "VIPs.\n",
        "config": {"meta": {"audience": {"condition": "revenue > 1000",
                                         "destinations": ["crm"]}}},
    }
    assert audience_from_node(node) == Audience(
        name="vip", description="VIPs.", condition="revenue > 1000",
        consent_category="Advertising", destinations=("crm",),
        traits=("user_id", "email", "first_name", "last_name"),
    )
    assert audience_from_node({"name": "customer_360", "config": {"meta": {}}}) is None
