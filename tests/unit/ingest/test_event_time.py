"""Event time: timestamp, else originalTimestamp corrected by receivedAt - sentAt,
else receivedAt."""

from __future__ import annotations

import datetime as dt

from support.ingest_cases import (
    DAY,
    counts,
    line,
)

from orchestration.ingest.duckdb_loader import load_day

# (messageId naming the rule, time fields, expected event_at in UTC)
EVENT_TIME_CASES = [
    (
        "timestamp-wins",
        {
            "timestamp": "2026-01-01T10:00:00Z",
            "originalTimestamp": "2026-01-01T08:00:00Z",
            "sentAt": "2026-01-01T08:00:05Z",
            "receivedAt": "2026-01-01T09:00:00Z",
        },
        "2026-01-01 10:00:00",
    ),
    (
        # Device clock 2 h fast: sent at 12:05 device time, received at 10:05:30.
        "original-corrected-by-clock-skew",
        {
            "timestamp": None,
            "originalTimestamp": "2026-01-01T12:00:00Z",
            "sentAt": "2026-01-01T12:05:00Z",
            "receivedAt": "2026-01-01T10:05:30Z",
        },
        "2026-01-01 10:00:30",
    ),
    (
        "original-as-is-without-sentAt",
        {
            "timestamp": None,
            "originalTimestamp": "2026-01-01T12:00:00Z",
            "receivedAt": "2026-01-01T10:05:30Z",
        },
        "2026-01-01 12:00:00",
    ),
    (
        "received-only",
        {"timestamp": None, "receivedAt": "2026-01-01T10:05:30.250Z"},
        "2026-01-01 10:05:30.250",
    ),
    (
        "offset-converted-to-utc",
        {"timestamp": "2026-01-01T12:00:00+02:00"},
        "2026-01-01 10:00:00",
    ),
    (
        "negative-offset-converted-to-utc",
        {"timestamp": "2026-01-01T00:30:00-05:30"},
        "2026-01-01 06:00:00",
    ),
    (
        "naive-is-utc",
        {"timestamp": "2026-01-01T10:00:00"},
        "2026-01-01 10:00:00",
    ),
    (
        "offsets-in-every-field",
        {
            "timestamp": None,
            "originalTimestamp": "2026-01-01T12:00:00+01:00",
            "sentAt": "2026-01-01T12:00:10+01:00",
            "receivedAt": "2026-01-01T11:00:10Z",
        },
        "2026-01-01 11:00:00",
    ),
    (
        "unparseable-timestamp-falls-back",
        {"timestamp": "not a time", "originalTimestamp": "2026-01-01T07:00:00Z"},
        "2026-01-01 07:00:00",
    ),
]


def test_event_at_follows_the_time_rules_in_utc(raw, conn, write_dump):
    # The caller's session time zone must not leak into naive times.
    conn.execute("set timezone = 'Asia/Tokyo'")
    lines = [line(name, **times) for name, times, _ in EVENT_TIME_CASES]
    write_dump(raw, DAY, "a.jsonl", lines)

    report = load_day(conn, raw, DAY)

    assert counts(report) == (len(lines), len(lines), 0, 0)
    got = dict(conn.execute("select message_id, event_at from raw.events").fetchall())
    assert got == {name: dt.datetime.fromisoformat(at) for name, _, at in EVENT_TIME_CASES}
