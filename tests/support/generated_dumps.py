"""Reading generated dumps back, independently of the generator's own bookkeeping, by the
rules of DESIGN.md ("Input: raw event dumps")."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
from dataclasses import dataclass
from pathlib import Path

START = dt.date(2026, 10, 1)
TYPES = {"identify", "track", "page", "screen", "alias", "group"}
TIME_FIELDS = ("timestamp", "originalTimestamp", "sentAt", "receivedAt")
ISO_MS_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@dataclass
class Line:
    folder: str
    file: Path
    number: int
    text: str
    message: dict | None  # a valid message, else None
    reason: str | None  # why the line must be quarantined


def _parse_time(value: object) -> dt.datetime | None:
    if not isinstance(value, str) or not ISO_MS_Z.match(value):
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _classify(text: str) -> tuple[dict | None, str | None]:
    """The DESIGN.md validity rules, implemented independently of the generator."""
    try:
        msg = json.loads(text)
    except json.JSONDecodeError:
        return None, "invalid JSON"
    if not isinstance(msg, dict):
        return None, "not an object"
    if not msg.get("type"):
        return None, "missing type"
    if msg["type"] not in TYPES:
        return None, "unknown type"
    if not msg.get("messageId"):
        return None, "missing messageId"
    if all(_parse_time(msg.get(f)) is None for f in ("timestamp", "originalTimestamp",
                                                    "receivedAt")):
        return None, "no usable time"
    return msg, None


def _read(out: Path) -> list[Line]:
    lines = []
    for path in sorted(out.rglob("*")):
        if path.is_dir():
            continue
        assert path.name.endswith(".jsonl.gz"), path
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for number, raw in enumerate(fh, start=1):
                text = raw.rstrip("\n")
                msg, reason = _classify(text)
                lines.append(Line(path.parent.name, path, number, text, msg, reason))
    return lines


def _event_time(msg: dict) -> dt.datetime:
    """Event time as DESIGN.md defines it."""
    ts = _parse_time(msg.get("timestamp"))
    if ts is not None:
        return ts
    orig = _parse_time(msg.get("originalTimestamp"))
    recv = _parse_time(msg.get("receivedAt"))
    sent = _parse_time(msg.get("sentAt"))
    if orig is not None:
        return orig + (recv - sent if recv is not None and sent is not None else dt.timedelta())
    assert recv is not None
    return recv


def _valid(lines: list[Line]) -> list[dict]:
    return [ln.message for ln in lines if ln.message is not None]


def _distinct(lines: list[Line]) -> list[dict]:
    """One message per messageId: the copy received first."""
    seen: dict[str, dict] = {}
    for msg in _valid(lines):
        mid = msg["messageId"]
        if mid not in seen or msg["receivedAt"] < seen[mid]["receivedAt"]:
            seen[mid] = msg
    return list(seen.values())


def _tracks(messages: list[dict], event: str) -> list[dict]:
    return [m for m in messages if m["type"] == "track" and m.get("event") == event]


def _tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}
