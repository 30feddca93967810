"""Reloading a day replaces it atomically; what is stored for a message and in the load log."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from support.ingest_cases import (
    DAY,
    DAY_DATE,
    PREVIOUS_DAY,
    TS,
    counts,
    events,
    line,
    load_log,
    quarantine,
)

from orchestration.ingest.duckdb_loader import load_day


def _snapshot(conn) -> tuple:
    return (
        conn.execute("select * from raw.events order by all").fetchall(),
        conn.execute("select * from raw.quarantine order by all").fetchall(),
        conn.execute(
            "select * exclude (loaded_at, seconds) from raw.load_log order by all"
        ).fetchall(),
    )


def _messy_day(raw: Path, write_dump) -> None:
    write_dump(raw, DAY, "a.jsonl", [line("m1"), "", "{bad", line("m1"), line("m2")])
    write_dump(raw, DAY, "sub/b.jsonl.gz", [line("m3"), b"\xff", line("m4")], gz=True)
    (raw / DAY / "c.jsonl.gz").write_bytes(b"garbage")


def test_loading_the_same_day_twice_changes_nothing(raw, conn, write_dump):
    _messy_day(raw, write_dump)

    first = load_day(conn, raw, DAY)
    before = _snapshot(conn)
    second = load_day(conn, raw, DAY)

    assert _snapshot(conn) == before
    assert counts(first) == counts(second) == (8, 4, 1, 3)
    assert first.quarantine_by_reason == second.quarantine_by_reason
    assert len(before[0]) == 4 and len(before[1]) == 4 and len(before[2]) == 1


def test_reload_after_files_change_replaces_the_day_only(raw, conn, write_dump):
    write_dump(raw, PREVIOUS_DAY, "a.jsonl", [line("old")])
    write_dump(raw, DAY, "a.jsonl", [line("m1"), line("m2"), "{bad"])
    write_dump(raw, DAY, "b.jsonl", [line("m3")])
    load_day(conn, raw, PREVIOUS_DAY)
    load_day(conn, raw, DAY)

    write_dump(raw, DAY, "a.jsonl", [line("m2"), line("m4")])
    (raw / DAY / "b.jsonl").unlink()
    report = load_day(conn, raw, DAY)

    assert events(conn) == [
        ("m2", f"{DAY}/a.jsonl", 1),
        ("m4", f"{DAY}/a.jsonl", 2),
        ("old", f"{PREVIOUS_DAY}/a.jsonl", 1),
    ]
    assert quarantine(conn) == []
    assert counts(report) == (2, 2, 0, 0)
    assert load_log(conn) == (1, 0, 2, 2, 0, 0, 0)


class _FailingConnection:
    """Delegates to a real connection but fails the statement that contains `marker`."""

    def __init__(self, conn, marker: str, duckdb_error: bool):
        self._conn = conn
        self._marker = marker
        self._duckdb_error = duckdb_error

    def execute(self, sql, *args, **kwargs):
        if self._marker in sql:
            if self._duckdb_error:  # a real error raised by DuckDB inside the transaction
                return self._conn.execute("select error('disk full')")
            raise RuntimeError("disk full")
        return self._conn.execute(sql, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._conn, name)


@pytest.mark.parametrize("duckdb_error", [False, True], ids=["python-error", "duckdb-error"])
def test_failed_insert_leaves_the_previous_day_intact(raw, conn, write_dump, duckdb_error):
    write_dump(raw, DAY, "a.jsonl", [line("m1"), "{bad", line("m2")])
    load_day(conn, raw, DAY)
    before = _snapshot(conn)

    write_dump(raw, DAY, "a.jsonl", [line("new1"), "{worse", "[]", line("new2")])
    # raw.quarantine is written after the day's events were deleted and re-inserted.
    failing = _FailingConnection(conn, "insert into raw.quarantine", duckdb_error)
    with pytest.raises((RuntimeError, duckdb.Error), match="disk full"):
        load_day(failing, raw, DAY)

    assert _snapshot(conn) == before
    # No transaction is left open: the next load works and replaces the day.
    assert counts(load_day(conn, raw, DAY)) == (4, 2, 0, 2)
    assert [m for m, _, _ in events(conn)] == ["new1", "new2"]


# --- what is stored ----------------------------------------------------------------------


def test_type_is_trimmed_and_lower_cased_and_payload_is_the_original_text(raw, conn, write_dump):
    page = '  {"type": " Page ",  "messageId":"p1", "name": "Café ☕", "timestamp":"' + TS + '"} '
    track = '{"type":"TRACK","messageId":"t1","event":"Signed Up","timestamp":"' + TS + '"}'
    write_dump(raw, DAY, "a.jsonl", [page, track])

    load_day(conn, raw, DAY)

    rows = conn.execute(
        "select message_id, type, payload, received_date from raw.events order by message_id"
    ).fetchall()
    assert rows == [("p1", "page", page, DAY_DATE), ("t1", "track", track, DAY_DATE)]


def test_load_log_matches_the_report(raw, conn, write_dump):
    _messy_day(raw, write_dump)
    report = load_day(conn, raw, DAY)
    assert load_log(conn) == (
        report.files,
        report.empty_files,
        report.lines,
        report.loaded,
        report.duplicates,
        report.quarantined,
        report.unreadable_files,
    )
    assert report.received_date == DAY_DATE
