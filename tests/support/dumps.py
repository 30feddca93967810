"""Writing hand-made JSON-lines dumps for tests."""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from pathlib import Path

Line = str | bytes | dict


def _line_bytes(line: Line) -> bytes:
    if isinstance(line, dict):
        return json.dumps(line).encode()
    if isinstance(line, str):
        return line.encode()
    return line


def write_dump_file(
    root: Path, day: str, name: str, lines: Sequence[Line], gz: bool = False
) -> Path:
    """Write `root/day/name` as JSON lines; dicts are dumped, str/bytes written as is.

    Each line gets a trailing `\\n`. With `gz=True` the file is gzip-compressed (the name is
    used as given, so pass e.g. `a.jsonl.gz`). Parent folders are created.
    """
    path = Path(root) / day / name
    path.parent.mkdir(parents=True, exist_ok=True)
    data = b"".join(_line_bytes(line) + b"\n" for line in lines)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path
