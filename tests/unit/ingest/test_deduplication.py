"""Duplicates: one row per messageId, within a file, across files and across days."""

from __future__ import annotations

from support.ingest_cases import (
    DAY,
    PREVIOUS_DAY,
    counts,
    events,
    line,
    load_log,
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


# --- which copy wins: the earliest receivedAt, whatever order the files and days come in ----

EARLY, LATE = "2026-01-01T10:00:05Z", "2026-01-02T03:00:00Z"


def _payload_event(conn, message_id: str) -> str:
    return conn.execute(
        "select payload->>'event' from raw.events where message_id = ?", [message_id]
    ).fetchone()[0]


def test_within_a_day_the_copy_received_first_wins_over_file_order(raw, conn, write_dump):
    write_dump(raw, DAY, "a.jsonl", [line("m1", event="Resent", receivedAt=LATE)])
    write_dump(raw, DAY, "b.jsonl", [line("m1", event="Original", receivedAt=EARLY)])

    report = load_day(conn, raw, DAY)

    assert events(conn) == [("m1", f"{DAY}/b.jsonl", 1)]
    assert _payload_event(conn, "m1") == "Original"
    assert counts(report) == (2, 1, 1, 0)


def test_a_later_day_loaded_first_gives_way_to_an_earlier_copy(raw, conn, write_dump):
    write_dump(raw, DAY, "a.jsonl", [line("m1", event="Resent", receivedAt=LATE), line("m2")])
    write_dump(raw, PREVIOUS_DAY, "a.jsonl", [line("m1", event="Original", receivedAt=EARLY)])

    load_day(conn, raw, DAY)  # a backfill: the later day first
    earlier = load_day(conn, raw, PREVIOUS_DAY)

    assert events(conn) == [("m1", f"{PREVIOUS_DAY}/a.jsonl", 1), ("m2", f"{DAY}/a.jsonl", 2)]
    assert _payload_event(conn, "m1") == "Original"
    assert counts(earlier) == (1, 1, 0, 0)
    # the later day is recounted: its copy of m1 is now a duplicate, kept aside
    assert load_log(conn, DAY)[3:5] == (1, 1)
    assert conn.execute("select message_id from raw.superseded").fetchall() == [("m1",)]


def test_reloading_a_day_without_its_winning_copy_brings_back_the_other_days_copy(
    raw, conn, write_dump
):
    write_dump(raw, PREVIOUS_DAY, "a.jsonl", [line("m1", event="Original", receivedAt=EARLY)])
    write_dump(raw, DAY, "a.jsonl", [line("m1", event="Resent", receivedAt=LATE)])
    load_day(conn, raw, PREVIOUS_DAY)
    load_day(conn, raw, DAY)
    assert load_log(conn, DAY)[3:5] == (0, 1)

    write_dump(raw, PREVIOUS_DAY, "a.jsonl", [line("m0")])  # re-delivered without m1
    load_day(conn, raw, PREVIOUS_DAY)

    assert events(conn) == [("m0", f"{PREVIOUS_DAY}/a.jsonl", 1), ("m1", f"{DAY}/a.jsonl", 1)]
    assert _payload_event(conn, "m1") == "Resent"
    assert load_log(conn, DAY)[3:5] == (1, 0)
    assert conn.execute("select count(*) from raw.superseded").fetchone() == (0,)


def test_any_load_order_of_days_and_files_gives_the_same_raw_events(tmp_path, write_dump):
    import itertools

    import duckdb

    raw = tmp_path / "raw"
    days = ["2025-12-30", PREVIOUS_DAY, DAY]
    received = ["2025-12-30T23:00:00Z", EARLY, LATE]
    for i, (day, at) in enumerate(zip(days, received, strict=True)):
        write_dump(raw, day, "b.jsonl", [line("shared", event=f"copy-{i}", receivedAt=at),
                                         line(f"own-{i}", receivedAt=at)])
        write_dump(raw, day, "a.jsonl", [line("pair", event=f"pair-{i}", receivedAt=LATE)])
    results = set()
    for n, order in enumerate(itertools.permutations(days)):
        conn = duckdb.connect(str(tmp_path / f"w{n}.duckdb"))
        for day in order:
            load_day(conn, raw, day)
        results.add(tuple(conn.execute(
            "select message_id, source_file, line_number, payload from raw.events order by 1"
        ).fetchall()))
        conn.close()
    assert len(results) == 1
    (rows,) = results
    winners = {r[0]: r[1] for r in rows}
    assert winners["shared"] == "2025-12-30/b.jsonl"  # the earliest receivedAt
    assert winners["pair"] == "2025-12-30/a.jsonl"  # a tie: the smallest file name
