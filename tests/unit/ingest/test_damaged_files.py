"""Damaged and unreadable files: what can be read is loaded, the rest quarantined."""

from __future__ import annotations

import gzip
import struct
import zlib

import pytest
from support.ingest_cases import (
    DAY,
    GZIP_HEADER,
    STORED_BLOCK_HEADER,
    TS,
    counts,
    events,
    line,
    quarantine,
    raw_line,
    stored_gzip,
    truncated_stored_gzip,
)

from orchestration.ingest.contract import (
    REASON_BLANK,
    REASON_INVALID_ENCODING,
    REASON_TRUNCATED_GZIP,
    REASON_UNREADABLE_FILE,
)
from orchestration.ingest.duckdb_loader import load_day


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
