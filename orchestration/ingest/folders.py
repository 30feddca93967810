"""The dump folders: which days exist, their files, and which days need loading.

Plain file-system code shared by both engines' loaders, the Dagster sensor and `cdp build`.
Change detection is a pure function of the folders and the fingerprints each day was loaded
with, so an engine only has to fetch its raw.load_log fingerprints.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from orchestration.ingest.accounting import LoadReport
from orchestration.ingest.contract import DUMP_SUFFIXES


def find_day_folders(raw_dir: Path) -> list[str]:
    """The `YYYY-MM-DD` folders under `raw_dir`, sorted (other names are ignored)."""
    if not raw_dir.is_dir():
        return []
    days = []
    for child in raw_dir.iterdir():
        if child.is_dir() and _is_date(child.name):
            days.append(child.name)
    return sorted(days)


def find_dump_files(day_dir: Path) -> list[Path]:
    """Every dump file at any depth below the day folder, in a stable order."""
    if not day_dir.is_dir():
        return []
    return sorted(
        p for p in day_dir.rglob("*") if p.is_file() and p.name.lower().endswith(DUMP_SUFFIXES)
    )


def folder_fingerprint(day_dir: Path) -> str:
    """Changes whenever a dump file is added, removed or rewritten in the folder."""
    parts = []
    for path in find_dump_files(day_dir):
        stat = path.stat()
        parts.append(f"{path.relative_to(day_dir)}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16] if parts else "empty"


def changed_days(raw_dir: Path, loaded: Mapping[str, str | None]) -> list[str]:
    """Day folders not loaded yet, or whose files changed since they were loaded.

    `loaded` maps each loaded day (`YYYY-MM-DD`) to the fingerprint it was loaded with
    (raw.load_log); empty when nothing was loaded (no warehouse or no load log yet).
    """
    return [
        day for day in find_day_folders(raw_dir)
        if loaded.get(day) != folder_fingerprint(raw_dir / day)
    ]


@dataclass
class LoadPlan:
    """Which of the requested days a run loads, keeps (unchanged) or cannot find."""

    load: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def plan_load(
    raw_dir: Path, days: list[str] | None, loaded: Mapping[str, str | None] | None
) -> LoadPlan:
    """Sort the requested days (default: every day folder) into load / unchanged / missing.

    With `loaded` (the fingerprints of raw.load_log) a folder unchanged since its load is
    kept; without it every folder found is loaded. A day without a folder is not an empty
    day: what was loaded for it stays.
    """
    present = find_day_folders(raw_dir)
    unchanged = (
        set(present) - set(changed_days(raw_dir, loaded)) if loaded is not None else set()
    )
    plan = LoadPlan()
    for day in present if days is None else days:
        if day in unchanged:
            plan.unchanged.append(day)
        elif day in present:
            plan.load.append(day)
        else:
            plan.missing.append(day)
    return plan


@dataclass(frozen=True)
class DayFolder:
    """One received day's folder as a load finds it, before reading any file."""

    received_date: dt.date
    path: Path
    # Taken before reading: a file written during the load makes the next build reload the day.
    fingerprint: str
    files: list[Path]
    # The non-empty files and their names in the raw tables (relative to the raw dir).
    displays: dict[Path, str]

    @property
    def exists(self) -> bool:
        return self.path.is_dir()

    def new_report(self) -> LoadReport:
        """The day's report with what the folder alone tells: files, empty files, missing."""
        return LoadReport(
            received_date=self.received_date,
            files=len(self.files),
            empty_files=len(self.files) - len(self.displays),
            folder_missing=not self.exists,
        )


def day_folder(raw_dir: Path, received_date: dt.date | str) -> DayFolder:
    if isinstance(received_date, str):
        received_date = dt.date.fromisoformat(received_date)
    raw_dir = Path(raw_dir)
    path = raw_dir / received_date.isoformat()
    fingerprint = folder_fingerprint(path)
    files = find_dump_files(path)
    displays = {
        p: p.relative_to(raw_dir).as_posix() for p in files if p.stat().st_size > 0
    }
    return DayFolder(received_date, path, fingerprint, files, displays)


def _is_date(name: str) -> bool:
    try:
        dt.date.fromisoformat(name)
    except ValueError:
        return False
    return len(name) == 10
