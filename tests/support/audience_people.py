"""The hand-made audience dumps (two builds) and what the audience tests read back."""

from __future__ import annotations

import csv
import itertools
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import duckdb

from orchestration.settings import REPO_ROOT
from support.dumps import write_dump_file

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
            "select audience_name, members, entered, exited, erased, excluded_without_consent "
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


def dbt(warehouse: Path, work: Path, *args: str) -> None:
    env = {**os.environ, "CDP_WAREHOUSE": str(warehouse)}
    result = subprocess.run(
        ["dbt", *args, "--project-dir", str(REPO_ROOT), "--profiles-dir", str(REPO_ROOT),
         "--target-path", str(work / "target"), "--log-path", str(work / "logs")],
        env=env, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
