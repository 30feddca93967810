"""Every quarantine reason: one row per rejected line, between the good lines around it."""

from __future__ import annotations

from support.ingest_cases import (
    DAY,
    TS,
    counts,
    ev,
    events,
    line,
    quarantine,
    raw_line,
)

from orchestration.ingest import duckdb_staging
from orchestration.ingest.contract import (
    REASON_BLANK,
    REASON_INVALID_ENCODING,
    REASON_INVALID_JSON,
    REASON_LINE_TOO_LONG,
    REASON_MISSING_EVENT_NAME,
    REASON_MISSING_MESSAGE_ID,
    REASON_MISSING_TYPE,
    REASON_NO_TIME,
    REASON_NOT_OBJECT,
    REASON_UNKNOWN_TYPE,
)
from orchestration.ingest.duckdb_loader import load_day


def test_each_quarantine_reason_is_one_row_between_good_lines(raw, conn, write_dump):
    lines = [
        line("good-1"),  # 1
        "",  # 2 blank
        '{"type": "track", "messageId": ',  # 3 invalid JSON
        "[1, 2, 3]",  # 4 not an object: array
        '"just a string"',  # 5 not an object: string
        "42",  # 6 not an object: number
        line("good-2"),  # 7
        line("no-type", type=None),  # 8
        line("odd-type", type="purchase"),  # 9
        line("x", messageId=None),  # 10
        line("no-event", event=None),  # 11
        line("no-time", timestamp=None),  # 12 no time fields at all
        line("bad-time", timestamp="yesterday", originalTimestamp="n/a", receivedAt="soon"),
        b'{"type": "page", "messageId": "bad-utf8", "timestamp": "' + TS.encode() + b'", '
        b'"name": "caf\xff"}',  # 14 invalid UTF-8
        line("good-3"),  # 15
    ]
    write_dump(raw, DAY, "a.jsonl", lines)

    report = load_day(conn, raw, DAY)

    src = f"{DAY}/a.jsonl"
    assert quarantine(conn) == [
        (src, 2, REASON_BLANK),
        (src, 3, REASON_INVALID_JSON),
        (src, 4, REASON_NOT_OBJECT),
        (src, 5, REASON_NOT_OBJECT),
        (src, 6, REASON_NOT_OBJECT),
        (src, 8, REASON_MISSING_TYPE),
        (src, 9, REASON_UNKNOWN_TYPE),
        (src, 10, REASON_MISSING_MESSAGE_ID),
        (src, 11, REASON_MISSING_EVENT_NAME),
        (src, 12, REASON_NO_TIME),
        (src, 13, REASON_NO_TIME),
        (src, 14, REASON_INVALID_ENCODING),
    ]
    assert events(conn) == [("good-1", src, 1), ("good-2", src, 7), ("good-3", src, 15)]
    assert counts(report) == (15, 3, 0, 12)
    assert report.quarantine_by_reason == {
        REASON_NOT_OBJECT: 3,
        REASON_NO_TIME: 2,
        REASON_BLANK: 1,
        REASON_INVALID_ENCODING: 1,
        REASON_INVALID_JSON: 1,
        REASON_MISSING_EVENT_NAME: 1,
        REASON_MISSING_MESSAGE_ID: 1,
        REASON_MISSING_TYPE: 1,
        REASON_UNKNOWN_TYPE: 1,
    }
    assert raw_line(conn, src, 3) == '{"type": "track", "messageId": '
    assert raw_line(conn, src, 5) == '"just a string"'
    assert '"messageId": "bad-utf8"' in raw_line(conn, src, 14)


def test_empty_or_blank_message_id_is_missing_message_id(raw, conn, write_dump):
    write_dump(raw, DAY, "a.jsonl", [ev(""), ev("   "), ev("x", messageId=None), ev("ok")])
    report = load_day(conn, raw, DAY)
    assert [(n, r) for _, n, r in quarantine(conn)] == [
        (1, REASON_MISSING_MESSAGE_ID),
        (2, REASON_MISSING_MESSAGE_ID),
        (3, REASON_MISSING_MESSAGE_ID),
    ]
    assert counts(report) == (4, 1, 0, 3)


def test_track_with_empty_or_blank_event_name_is_quarantined_but_page_needs_none(
    raw, conn, write_dump
):
    lines = [ev("t1", event=""), ev("t2", event="   "), ev("t3", event=None)]
    write_dump(raw, DAY, "a.jsonl", [*lines, ev("p1", type="page", event=None)])
    report = load_day(conn, raw, DAY)
    assert [(n, r) for _, n, r in quarantine(conn)] == [
        (1, REASON_MISSING_EVENT_NAME),
        (2, REASON_MISSING_EVENT_NAME),
        (3, REASON_MISSING_EVENT_NAME),
    ]
    assert events(conn) == [("p1", f"{DAY}/a.jsonl", 4)]
    assert counts(report) == (4, 1, 0, 3)


def test_whitespace_only_line_is_a_blank_line_keeping_its_text(raw, conn, write_dump):
    write_dump(raw, DAY, "a.jsonl", [line("m1"), "   \t ", line("m3")])
    report = load_day(conn, raw, DAY)
    assert quarantine(conn) == [(f"{DAY}/a.jsonl", 2, REASON_BLANK)]
    assert raw_line(conn, f"{DAY}/a.jsonl", 2) == "   \t "
    assert counts(report) == (3, 2, 0, 1)


def test_line_too_long_is_quarantined_with_its_text(raw, conn, write_dump, monkeypatch):
    monkeypatch.setattr(duckdb_staging, "MAX_LINE_BYTES", 256)
    long_line = line("long", properties={"pad": "x" * 400})
    write_dump(raw, DAY, "a.jsonl", [line("m1"), long_line, line("m3")])

    report = load_day(conn, raw, DAY)

    src = f"{DAY}/a.jsonl"
    assert quarantine(conn) == [(src, 2, REASON_LINE_TOO_LONG)]
    assert raw_line(conn, src, 2) == long_line
    assert events(conn) == [("m1", src, 1), ("m3", src, 3)]
    assert counts(report) == (3, 2, 0, 1)


def test_line_both_too_long_and_invalid_utf8_is_counted_once(raw, conn, write_dump, monkeypatch):
    # DuckDB logs such a line twice (once per error); it is still one line.
    monkeypatch.setattr(duckdb_staging, "MAX_LINE_BYTES", 256)
    bad = b"x" * 300 + b"\xff" + b"y" * 300
    write_dump(raw, DAY, "a.jsonl", [line("m1"), bad, line("m3")])

    report = load_day(conn, raw, DAY)

    src = f"{DAY}/a.jsonl"
    assert quarantine(conn) == [(src, 2, REASON_INVALID_ENCODING)]
    assert events(conn) == [("m1", src, 1), ("m3", src, 3)]
    assert counts(report) == (3, 2, 0, 1)


def test_ten_megabyte_valid_line_loads_in_full(raw, conn, write_dump):
    big = line("big", properties={"blob": "z" * 10_000_000})
    write_dump(raw, DAY, "a.jsonl", [line("m1"), big, line("m3")])

    report = load_day(conn, raw, DAY)

    assert counts(report) == (3, 3, 0, 0)
    assert conn.execute(
        "select line_number, payload = ? from raw.events where message_id = 'big'", [big]
    ).fetchone() == (2, True)
