"""Messages, queries and damaged gzip files for the loader tests (tests/unit/ingest/)."""

from __future__ import annotations

import datetime as dt
import gzip
import json

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
