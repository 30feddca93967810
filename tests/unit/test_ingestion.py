"""`orchestration.ingest.duckdb_loader.load_day`: every input line is loaded, a duplicate or
quarantined."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import struct
import zlib
from pathlib import Path

import duckdb
import pytest

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

DAY = "2026-01-01"
DAY_DATE = dt.date(2026, 1, 1)
PREVIOUS_DAY = "2025-12-31"
TS = "2026-01-01T10:00:00Z"


def ev(message_id: str, **fields) -> dict:
    """A valid track message; `fields` override or add keys (None removes a key)."""
    message = {"type": "track", "event": "Clicked", "messageId": message_id, "timestamp": TS}
    message.update(fields)
    return {k: v for k, v in message.items() if v is not None}


def line(message_id: str, **fields) -> str:
    return json.dumps(ev(message_id, **fields))


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    path = tmp_path / "raw"
    path.mkdir()
    return path


@pytest.fixture
def conn(tmp_path: Path):
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    yield connection
    connection.close()


def events(conn, day: str | None = None) -> list[tuple]:
    """(message_id, source_file, line_number) of raw.events, optionally for one day."""
    where = f"where received_date = date '{day}'" if day else ""
    return conn.execute(
        f"select message_id, source_file, line_number from raw.events {where} order by 1, 2, 3"
    ).fetchall()


def quarantine(conn) -> list[tuple]:
    """(source_file, line_number, reason) of raw.quarantine, in file/line order."""
    return conn.execute(
        "select source_file, line_number, reason from raw.quarantine "
        "order by source_file, line_number nulls first"
    ).fetchall()


def raw_line(conn, source_file: str, line_number: int) -> str | None:
    return conn.execute(
        "select raw_line from raw.quarantine where source_file = ? and line_number = ?",
        [source_file, line_number],
    ).fetchone()[0]


def counts(report) -> tuple[int, int, int, int]:
    return report.lines, report.loaded, report.duplicates, report.quarantined


def load_log(conn, day: str = DAY) -> tuple:
    return conn.execute(
        "select files, empty_files, lines, loaded, duplicates, quarantined, unreadable_files "
        "from raw.load_log where received_date = ?",
        [dt.date.fromisoformat(day)],
    ).fetchone()


def stored_gzip(data: bytes) -> bytes:
    """gzip with uncompressed (stored) deflate blocks: byte offsets are predictable."""
    return gzip.compress(data, compresslevel=0, mtime=0)


GZIP_HEADER = 10  # fixed gzip header without optional fields
STORED_BLOCK_HEADER = 5  # BFINAL/BTYPE byte + LEN + NLEN


def truncated_stored_gzip(lines: list[str], complete: int, tail_chars: int) -> bytes:
    """A gzip holding `lines`, cut `tail_chars` bytes into line `complete + 1`."""
    data = "".join(text + "\n" for text in lines).encode()
    assert len(data) < 65_000, "one stored block"
    cut = GZIP_HEADER + STORED_BLOCK_HEADER + sum(len(t) + 1 for t in lines[:complete])
    return stored_gzip(data)[: cut + tail_chars]


# --- every quarantine reason -------------------------------------------------------------


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


# --- damaged and unreadable files --------------------------------------------------------


def test_truncated_gzip_loads_lines_before_the_cut_and_quarantines_the_cut(raw, conn):
    lines = [line("t1"), b"", b'{"bad": "\xff"}', line("t4"), line("t5"), line("t6")]
    data = [t if isinstance(t, bytes) else t.encode() for t in lines]
    cut = GZIP_HEADER + STORED_BLOCK_HEADER + sum(len(t) + 1 for t in data[:4]) + 20
    path = raw / DAY / "sub" / "t.jsonl.gz"
    path.parent.mkdir(parents=True)
    path.write_bytes(stored_gzip(b"".join(t + b"\n" for t in data))[:cut])

    report = load_day(conn, raw, DAY)

    src = f"{DAY}/sub/t.jsonl.gz"
    assert events(conn) == [("t1", src, 1), ("t4", src, 4)]
    assert quarantine(conn) == [
        (src, 2, REASON_BLANK),
        (src, 3, REASON_INVALID_ENCODING),
        (src, 5, REASON_TRUNCATED_GZIP),
    ]
    assert raw_line(conn, src, 5) == line("t5")[:20]
    assert counts(report) == (5, 2, 0, 3)
    assert report.unreadable_files == 0


def test_truncated_compressed_gzip_recovers_what_zlib_can_read(raw, conn):
    lines = [line(f"m{i:04d}", properties={"i": i * 7919}) for i in range(1, 2001)]
    data = gzip.compress("".join(t + "\n" for t in lines).encode(), mtime=0)
    cut = data[: len(data) // 2]
    readable = zlib.decompressobj(wbits=31).decompress(cut)
    complete = readable.count(b"\n")
    assert 0 < complete < 2000
    (raw / DAY).mkdir()
    (raw / DAY / "a.jsonl.gz").write_bytes(cut)

    report = load_day(conn, raw, DAY)

    src = f"{DAY}/a.jsonl.gz"
    assert [n for _, _, n in events(conn)] == list(range(1, complete + 1))
    assert quarantine(conn) == [(src, complete + 1, REASON_TRUNCATED_GZIP)]
    assert counts(report) == (complete + 1, complete, 0, 1)


def test_truncated_second_gzip_member_keeps_the_first_members_lines(raw, conn):
    # `cat a.gz b.gz` is a valid gzip; a cut in the second member must not lose it.
    first = gzip.compress(f"{line('a1')}\n{line('a2')}\n".encode(), mtime=0)
    second = truncated_stored_gzip([line("b1"), line("b2")], complete=1, tail_chars=15)
    (raw / DAY).mkdir()
    (raw / DAY / "a.jsonl.gz").write_bytes(first + second)

    report = load_day(conn, raw, DAY)

    src = f"{DAY}/a.jsonl.gz"
    assert events(conn) == [("a1", src, 1), ("a2", src, 2), ("b1", src, 3)]
    assert quarantine(conn) == [(src, 4, REASON_TRUNCATED_GZIP)]
    assert raw_line(conn, src, 4) == line("b2")[:15]
    assert counts(report) == (4, 3, 0, 1)


def test_gzip_corrupt_mid_stream_keeps_the_lines_before_the_damage(raw, conn):
    # Stored deflate blocks; the third block's NLEN is broken ("invalid stored block lengths").
    lines = [f'{{"type":"page","messageId":"m{i:05d}","timestamp":"{TS}"}}' for i in range(3000)]
    data = bytearray(stored_gzip("".join(t + "\n" for t in lines).encode()))
    pos, blocks = GZIP_HEADER, []
    while True:
        length = struct.unpack_from("<H", data, pos + 1)[0]
        blocks.append((pos, length))
        if data[pos] & 1:
            break
        pos += STORED_BLOCK_HEADER + length
    assert len(blocks) >= 3
    data[blocks[2][0] + 3] ^= 0xFF
    (raw / DAY).mkdir()
    (raw / DAY / "a.jsonl.gz").write_bytes(bytes(data))
    line_bytes = len(lines[0]) + 1
    first_block_lines = blocks[0][1] // line_bytes
    before_damage = (blocks[0][1] + blocks[1][1]) // line_bytes

    report = load_day(conn, raw, DAY)

    numbers = [n for _, _, n in events(conn)]
    recovered = len(numbers)
    assert numbers == list(range(1, recovered + 1))
    assert first_block_lines <= recovered <= before_damage
    assert quarantine(conn) == [(f"{DAY}/a.jsonl.gz", recovered + 1, REASON_TRUNCATED_GZIP)]
    assert counts(report) == (recovered + 1, recovered, 0, 1)


def _corrupt_gzip_header() -> bytes:
    data = bytearray(gzip.compress(f"{line('lost')}\n".encode(), mtime=0))
    data[2] = 99  # compression method: only 8 (deflate) exists
    return bytes(data)


@pytest.mark.parametrize(
    "content",
    [b"this is not gzip at all\n", _corrupt_gzip_header()],
    ids=["not-gzip", "corrupt-header"],
)
def test_unreadable_file_is_one_quarantine_row_without_line_number(raw, conn, write_dump, content):
    write_dump(raw, DAY, "good.jsonl", [line("m1")])
    (raw / DAY / "bad.jsonl.gz").write_bytes(content)

    report = load_day(conn, raw, DAY)

    src = f"{DAY}/bad.jsonl.gz"
    assert quarantine(conn) == [(src, None, REASON_UNREADABLE_FILE)]
    error_text = conn.execute("select raw_line from raw.quarantine").fetchone()[0]
    assert error_text  # the reader's error message, for the person investigating
    assert events(conn) == [("m1", f"{DAY}/good.jsonl", 1)]
    assert report.unreadable_files == 1
    assert report.quarantine_by_reason == {REASON_UNREADABLE_FILE: 1}
    assert counts(report) == (1, 1, 0, 0)  # an unreadable file has no lines to count
    assert report.accounted


# --- accounting and provenance -----------------------------------------------------------


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


# --- which files are read ----------------------------------------------------------------


def test_dump_files_at_any_depth_and_every_suffix_are_read(raw, conn, write_dump):
    write_dump(raw, DAY, "a.jsonl", [line("jsonl")])
    write_dump(raw, DAY, "x/b.json", [line("json")])
    write_dump(raw, DAY, "x/y/z/c.jsonl.gz", [line("jsonl-gz")], gz=True)
    write_dump(raw, DAY, "x/y/d.json.gz", [line("json-gz")], gz=True)
    write_dump(raw, DAY, "UPPER.JSONL.GZ", [line("upper-gz")], gz=True)
    for ignored in ["e.txt", "f.csv", "g.jsonl.bak", "h.gz", "x/README.md"]:
        write_dump(raw, DAY, ignored, [line(f"ignored-{ignored}")])

    report = load_day(conn, raw, DAY)

    assert events(conn) == [
        ("json", f"{DAY}/x/b.json", 1),
        ("json-gz", f"{DAY}/x/y/d.json.gz", 1),
        ("jsonl", f"{DAY}/a.jsonl", 1),
        ("jsonl-gz", f"{DAY}/x/y/z/c.jsonl.gz", 1),
        ("upper-gz", f"{DAY}/UPPER.JSONL.GZ", 1),
    ]
    assert report.files == 5
    assert counts(report) == (5, 5, 0, 0)


def test_empty_file_is_counted_in_empty_files(raw, conn, write_dump):
    write_dump(raw, DAY, "a.jsonl", [line("m1")])
    write_dump(raw, DAY, "sub/empty.jsonl", [])

    report = load_day(conn, raw, DAY)

    assert (report.files, report.empty_files) == (2, 1)
    assert counts(report) == (1, 1, 0, 0)
    assert quarantine(conn) == []


def test_empty_day_folder_loads_nothing_and_logs_zeros(raw, conn):
    (raw / DAY).mkdir()

    report = load_day(conn, raw, DAY)

    assert not report.folder_missing
    assert (report.files, *counts(report)) == (0, 0, 0, 0, 0)
    assert events(conn) == [] and quarantine(conn) == []
    assert load_log(conn) == (0, 0, 0, 0, 0, 0, 0)


def test_missing_day_folder_is_reported_not_raised(raw, conn):
    report = load_day(conn, raw, DAY)

    assert report.folder_missing
    assert (report.files, *counts(report)) == (0, 0, 0, 0, 0)
    assert events(conn) == [] and quarantine(conn) == []


# --- deduplication -----------------------------------------------------------------------


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


# --- event time --------------------------------------------------------------------------


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


# --- reloads and atomicity ---------------------------------------------------------------


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
