"""Duplicates: one row per messageId, within a file, across files and across days."""

from __future__ import annotations

from support.ingest_cases import (
    DAY,
    PREVIOUS_DAY,
    counts,
    events,
    line,
)

from orchestration.ingest import duckdb_staging
from orchestration.ingest.duckdb_loader import load_day


def test_same_message_id_twice_in_one_file_keeps_the_first_copy(raw, conn, write_dump):
    write_dump(raw, DAY, "a.jsonl", [line("m1", event="First"), line("m1", event="Second")])

    report = load_day(conn, raw, DAY)

    assert events(conn) == [("m1", f"{DAY}/a.jsonl", 1)]
    assert conn.execute("select payload->>'event' from raw.events").fetchone() == ("First",)
    assert counts(report) == (2, 1, 1, 0)


def test_lines_are_staged_in_scan_order_even_when_the_connection_does_not_keep_it(
    raw, conn, write_dump, monkeypatch
):
    # Line numbers come from the scan's row order, which DuckDB guarantees only with
    # preserve_insertion_order; a dbt run in the same process turns it off for the instance.
    write_dump(raw, DAY, "a.jsonl", [line("m1"), line("m2")])
    write_dump(raw, DAY, "b.jsonl", [line("m3")])
    conn.execute("set preserve_insertion_order = false")
    seen = []
    stage = duckdb_staging._scan_files

    def spy(conn, displays, view):
        seen.append(conn.execute("select current_setting('preserve_insertion_order')").fetchone())
        stage(conn, displays, view)

    monkeypatch.setattr(duckdb_staging, "_scan_files", spy)

    load_day(conn, raw, DAY)

    assert seen == [(True,)]
    assert events(conn) == [
        ("m1", f"{DAY}/a.jsonl", 1), ("m2", f"{DAY}/a.jsonl", 2), ("m3", f"{DAY}/b.jsonl", 1)
    ]
    # and the caller's setting is back
    assert conn.execute("select current_setting('preserve_insertion_order')").fetchone() == (
        False,
    )


def test_same_message_id_in_two_files_keeps_the_first_by_file_then_line(raw, conn, write_dump):
    write_dump(raw, DAY, "b.jsonl", [line("m1", event="InB")])
    write_dump(raw, DAY, "a.jsonl", [line("x1"), line("x2"), line("m1", event="InA")])

    report = load_day(conn, raw, DAY)

    assert events(conn) == [
        ("m1", f"{DAY}/a.jsonl", 3),
        ("x1", f"{DAY}/a.jsonl", 1),
        ("x2", f"{DAY}/a.jsonl", 2),
    ]
    assert conn.execute(
        "select payload->>'event' from raw.events where message_id = 'm1'"
    ).fetchone() == ("InA",)
    assert counts(report) == (4, 3, 1, 0)


def test_quarantined_copy_does_not_shadow_a_valid_copy(raw, conn, write_dump):
    write_dump(raw, DAY, "a.jsonl", [line("m1", timestamp=None), line("m1")])

    report = load_day(conn, raw, DAY)

    assert events(conn) == [("m1", f"{DAY}/a.jsonl", 2)]
    assert counts(report) == (2, 1, 0, 1)


def test_message_id_seen_on_an_earlier_day_is_a_duplicate(raw, conn, write_dump):
    write_dump(raw, PREVIOUS_DAY, "a.jsonl", [line("m1")])
    write_dump(raw, DAY, "a.jsonl", [line("m1"), line("m2")])

    first = load_day(conn, raw, PREVIOUS_DAY)
    second = load_day(conn, raw, DAY)

    assert counts(first) == (1, 1, 0, 0)
    assert counts(second) == (2, 1, 1, 0)
    assert events(conn) == [("m1", f"{PREVIOUS_DAY}/a.jsonl", 1), ("m2", f"{DAY}/a.jsonl", 2)]

    # Reloading either day keeps exactly one row per messageId overall.
    assert counts(load_day(conn, raw, PREVIOUS_DAY)) == (1, 1, 0, 0)
    assert counts(load_day(conn, raw, DAY)) == (2, 1, 1, 0)
    assert events(conn) == [("m1", f"{PREVIOUS_DAY}/a.jsonl", 1), ("m2", f"{DAY}/a.jsonl", 2)]
    assert conn.execute(
        "select count(*), count(distinct message_id) from raw.events"
    ).fetchone() == (2, 2)
