"""Audience export files: written atomically (temporary file in the same folder, renamed into
place, mode 0600 since they hold personal data), and removed when no longer exported."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import os
import re
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import duckdb

from orchestration import settings
from orchestration.sql import literal

MEMBERS_CSV = ".members.csv"
MEMBERS_PARQUET = ".members.parquet"
CUSTOMER_MATCH_CSV = ".customer_match.csv"
EXPORT_SUFFIXES = (MEMBERS_CSV, MEMBERS_PARQUET, CUSTOMER_MATCH_CSV)
FILE_MODE = 0o600
_TMP = re.compile(r"^\..+\.[0-9a-f]{8}\.tmp$")


def export_dir_for(warehouse: Path) -> Path:
    """CDP_EXPORT_DIR, else `exports` next to the warehouse (data/exports by default)."""
    return settings.export_dir(warehouse)


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Run `write(tmp)` on a temporary file next to `path`, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, decimal.Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def write_csv(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Callable[[Path], None]:
    def write(tmp: Path) -> None:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(list(header))
            writer.writerows([_csv_value(v) for v in row] for row in rows)
    return write


def write_parquet(conn: duckdb.DuckDBPyConnection, query: str) -> Callable[[Path], None]:
    def write(tmp: Path) -> None:
        conn.execute(f"copy ({query}) to {literal(tmp)} (format parquet)")
    return write


def discard_exports(export_dir: Path) -> list[str]:
    """Remove every audience export file under `export_dir` (other files stay); the next
    successful build writes them again. For a step that erased customers while the exports of
    the previous build may still hold them (e.g. when the build then fails before exporting)."""
    return remove_stale_files(Path(export_dir).expanduser().resolve(), set())


def remove_stale_files(export_dir: Path, written: set[Path]) -> list[str]:
    """Our export files (and leftover temporary files) that this run did not write."""
    removed = []
    if not export_dir.is_dir():
        return removed
    for folder in sorted(p for p in export_dir.iterdir() if p.is_dir()):
        for path in sorted(folder.iterdir()):
            ours = path.name.endswith(EXPORT_SUFFIXES) or (
                _TMP.match(path.name) and any(s in path.name for s in EXPORT_SUFFIXES)
            )
            if path.is_file() and ours and path not in written:
                path.unlink(missing_ok=True)
                removed.append(str(path))
    return removed
