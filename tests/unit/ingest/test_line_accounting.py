"""Every line is accounted for, with its physical file and line number."""

from __future__ import annotations

from support.ingest_cases import (
    DAY,
    DAY_DATE,
    PREVIOUS_DAY,
    counts,
    events,
    line,
    load_log,
    quarantine,
    raw_line,
    truncated_stored_gzip,
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
    REASON_TRUNCATED_GZIP,
    REASON_UNKNOWN_TYPE,
    REASON_UNREADABLE_FILE,
)
from orchestration.ingest.duckdb_loader import load_day


def test_every_line_is_accounted_for_in_a_day_with_every_fault(raw, conn, write_dump, monkeypatch):
    monkeypatch.setattr(duckdb_staging, "MAX_LINE_BYTES", 1024)
    write_dump(raw, PREVIOUS_DAY, "old.jsonl", [line("o1")])
    load_day(conn, raw, PREVIOUS_DAY)
    a_lines = [
        line("a1"),  # 1
        "",  # 2
        "{oops",  # 3
        "[1]",  # 4
        line("a2"),  # 5 (duplicate: b.jsonl sorts first)
        line("t", type=None),  # 6
        line("t", type="purchase"),  # 7
        line("x", messageId=None),  # 8
        line("e", event=None),  # 9
        line("n", timestamp=None),  # 10
        b'{"type": "page", "messageId": "u1", "name": "\xff"}',  # 11
        line("a1"),  # 12 duplicate in the same file
        line("a3"),  # 13
    ]
    write_dump(raw, DAY, "sub/a.jsonl.gz", a_lines, gz=True)
    write_dump(raw, DAY, "b.jsonl", [line("b1"), line("a2"), "  ", line("o1")])
    write_dump(raw, DAY, "deep/er/c.json", [line("c1"), line("c2", pad="p" * 2000)])
    (raw / DAY / "t.jsonl.gz").write_bytes(
        truncated_stored_gzip([line(f"t{i}") for i in range(1, 6)], complete=3, tail_chars=9)
    )
    (raw / DAY / "x.jsonl.gz").write_bytes(b"not gzip")
    (raw / DAY / "empty.jsonl").write_bytes(b"")
    (raw / DAY / "notes.txt").write_text("not a dump\n")

    report = load_day(conn, raw, DAY)

    assert (report.files, report.empty_files, report.unreadable_files) == (6, 1, 1)
    assert counts(report) == (23, 8, 3, 12)
    assert report.lines == report.loaded + report.duplicates + report.quarantined
    assert report.accounted
    assert load_log(conn) == (6, 1, 23, 8, 3, 12, 1)
    a, b, c, t, x = (
        f"{DAY}/{n}"
        for n in ["sub/a.jsonl.gz", "b.jsonl", "deep/er/c.json", "t.jsonl.gz", "x.jsonl.gz"]
    )
    assert events(conn, DAY) == [
        ("a1", a, 1),
        ("a2", b, 2),
        ("a3", a, 13),
        ("b1", b, 1),
        ("c1", c, 1),
        ("t1", t, 1),
        ("t2", t, 2),
        ("t3", t, 3),
    ]
    assert events(conn, PREVIOUS_DAY) == [("o1", f"{PREVIOUS_DAY}/old.jsonl", 1)]
    rows = conn.execute(
        "select source_file, line_number, received_date, reason from raw.quarantine "
        "order by source_file, line_number nulls first"
    ).fetchall()
    assert rows == [
        (b, 3, DAY_DATE, REASON_BLANK),
        (c, 2, DAY_DATE, REASON_LINE_TOO_LONG),
        (a, 2, DAY_DATE, REASON_BLANK),
        (a, 3, DAY_DATE, REASON_INVALID_JSON),
        (a, 4, DAY_DATE, REASON_NOT_OBJECT),
        (a, 6, DAY_DATE, REASON_MISSING_TYPE),
        (a, 7, DAY_DATE, REASON_UNKNOWN_TYPE),
        (a, 8, DAY_DATE, REASON_MISSING_MESSAGE_ID),
        (a, 9, DAY_DATE, REASON_MISSING_EVENT_NAME),
        (a, 10, DAY_DATE, REASON_NO_TIME),
        (a, 11, DAY_DATE, REASON_INVALID_ENCODING),
        (t, 4, DAY_DATE, REASON_TRUNCATED_GZIP),
        (x, None, DAY_DATE, REASON_UNREADABLE_FILE),
    ]
    # raw.quarantine also holds the unreadable file, which has no lines to count.
    assert len(rows) == report.quarantined + report.unreadable_files
    assert raw_line(conn, a, 3) == "{oops"
    assert raw_line(conn, a, 7) == a_lines[6]
    assert raw_line(conn, t, 4) == line("t4")[:9]


def test_good_line_after_invalid_utf8_keeps_its_physical_line_number(raw, conn, write_dump):
    write_dump(raw, DAY, "a.jsonl", [line("m1"), b"\xff", line("m3")])
    load_day(conn, raw, DAY)
    assert events(conn) == [("m1", f"{DAY}/a.jsonl", 1), ("m3", f"{DAY}/a.jsonl", 3)]
    assert quarantine(conn) == [(f"{DAY}/a.jsonl", 2, REASON_INVALID_ENCODING)]


def test_line_numbers_stay_physical_around_runs_of_rejected_lines(raw, conn, write_dump):
    lines = [
        b"\xff",  # 1 rejected first line
        line("m2"),
        b"\xfe",  # 3
        b"\xfd",  # 4 two rejects in a row
        "",  # 5 blank
        line("m6"),
        line("m7"),
        b"\xfc",  # 8 rejected last line
    ]
    write_dump(raw, DAY, "a.jsonl", lines)

    report = load_day(conn, raw, DAY)

    src = f"{DAY}/a.jsonl"
    assert events(conn) == [("m2", src, 2), ("m6", src, 6), ("m7", src, 7)]
    assert [(n, r) for _, n, r in quarantine(conn)] == [
        (1, REASON_INVALID_ENCODING),
        (3, REASON_INVALID_ENCODING),
        (4, REASON_INVALID_ENCODING),
        (5, REASON_BLANK),
        (8, REASON_INVALID_ENCODING),
    ]
    assert counts(report) == (8, 3, 0, 5)


def test_half_the_lines_in_latin1_keep_every_line_number(raw, conn, write_dump):
    # A Latin-1 export: every other line is invalid UTF-8.
    lines = [
        line(f"m{i}", n=i) if i % 2 else f'{{"name": "caf\xe9 {i}"}}'.encode("latin-1")
        for i in range(1, 4001)
    ]
    write_dump(raw, DAY, "a.jsonl", lines)

    report = load_day(conn, raw, DAY)

    assert counts(report) == (4000, 2000, 0, 2000)
    assert (
        conn.execute(
            "select count(*) from raw.events where line_number <> cast(payload->>'n' as bigint)"
        ).fetchone()[0]
        == 0
    )
    assert (
        conn.execute("select count(*) from raw.quarantine where line_number % 2 = 1").fetchone()[0]
        == 0
    )


def test_crlf_endings_are_stripped_and_a_last_line_without_newline_is_read(raw, conn):
    (raw / DAY).mkdir()
    (raw / DAY / "a.jsonl").write_bytes(f"{line('m1')}\r\n{line('m2')}\r\n{line('m3')}".encode())
    report = load_day(conn, raw, DAY)
    assert counts(report) == (3, 3, 0, 0)
    payloads = conn.execute("select payload from raw.events order by line_number").fetchall()
    assert payloads == [(line("m1"),), (line("m2"),), (line("m3"),)]
