"""What can be saved of a dump file an engine could not read to the end.

Both loaders read whole files with their engine's reader; when that fails (a truncated or
corrupt gzip, a `.gz` that is not gzip), they hand the file here: the complete lines before a
gzip cut come back as a plain file to read instead, the cut as one `truncated gzip` line, and
a file with nothing readable as one `unreadable file` line without a line number.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

from orchestration.ingest.contract import (
    QUARANTINE_RAW_LINE_CHARS,
    REASON_TRUNCATED_GZIP,
    REASON_UNREADABLE_FILE,
)

# (source_file, line_number, line, stage_reason): a staged line, as in relation `cdp_lines`.
StagedLine = tuple[str, int | None, str, str]


@dataclass(frozen=True)
class Salvage:
    """The readable part of a damaged file and the staged line that stands for the rest."""

    readable: Path | None  # a plain file of the complete lines before the cut, if any
    rejected: StagedLine


def salvage(path: Path, display: str, error: str, tmp_dir: Path) -> Salvage:
    """Recover a damaged gzip's readable lines, or reject the whole file with `error` (the
    reader's message, one line) as its text."""
    recovery = None
    if path.name.lower().endswith(".gz") and is_gzip(path):
        recovery = recover_gzip(path, tmp_dir)
    if recovery is None:
        return Salvage(None, (display, None, error, REASON_UNREADABLE_FILE))
    recovered, complete_lines, tail = recovery
    # The partial last line (possibly empty) stands for everything after the cut.
    cut = (display, complete_lines + 1, tail[:QUARANTINE_RAW_LINE_CHARS], REASON_TRUNCATED_GZIP)
    return Salvage(recovered if recovered.stat().st_size else None, cut)


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def recover_gzip(path: Path, tmp_dir: Path) -> tuple[Path, int, str] | None:
    """Decompress what can be read of a damaged gzip into a plain file.

    Returns the plain file, how many complete lines it holds, and the unreadable tail;
    None when zlib rejects the stream before producing a byte (e.g. a corrupt header).
    Input is fed in small chunks so the output before a corrupt block is kept, and every
    gzip member is read (`cat a.gz b.gz` files are valid gzip).
    """
    out = tmp_dir / (path.name + ".recovered.jsonl")
    data = bytearray()
    with open(path, "rb") as fh:
        raw = fh.read()
    chunk = 16 * 1024
    start, failed = 0, False
    while start < len(raw) and not failed:
        decomp = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
        end = start
        try:
            while end < len(raw) and not decomp.eof:
                data += decomp.decompress(raw[end : end + chunk])
                end = min(end + chunk, len(raw))
        except zlib.error:
            failed = True
        if not decomp.eof:
            break
        start = end - len(decomp.unused_data)
    if failed and not data:
        return None
    text = bytes(data)
    last_newline = text.rfind(b"\n")
    complete, tail = (text[: last_newline + 1], text[last_newline + 1 :])
    out.write_bytes(complete)
    return out, complete.count(b"\n"), tail.decode("utf-8", errors="replace")
