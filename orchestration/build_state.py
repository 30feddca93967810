"""What the last successful build was made from, so a build with nothing new can skip dbt.

A build is needed when a dump folder is new or changed (the load log's fingerprints), when a
day was loaded after the last successful build (its dbt run failed, or it was loaded alone),
when an erasure request is pending, or when a project file changed since the last successful
build: the dbt project (models, macros, tests, seeds, dbt_project.yml, profiles.yml) or the
Python package dbt calls (the identity resolver) and that loads the data. `raw.build_log` holds
one row per successful build with the fingerprint of those files.

The rule (`up_to_date`) is engine-neutral; the DuckDB reads and writes of raw.build_log are
here, Spark's in `orchestration.ingest.spark_build`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration import settings

# What a build's result depends on besides the dumps (relative to the repository root).
PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "dbt_project", "seeds", "orchestration")
_SKIPPED_DIRS = {"__pycache__", "target", "logs"}

BUILD_LOG_DDL = """
create schema if not exists raw;
create table if not exists raw.build_log (
    built_at            timestamp not null,
    project_fingerprint varchar not null,
    first_day           date,
    last_day            date,
    seconds             double
);
"""


def project_fingerprint(root: Path = settings.REPO_ROOT) -> str:
    """sha256 over the paths and contents of every project file (sorted, so stable)."""
    digest = hashlib.sha256()
    for name in PROJECT_FILES:
        top = root / name
        files = [top] if top.is_file() else sorted(
            p for p in top.rglob("*")
            if p.is_file() and not _SKIPPED_DIRS.intersection(p.relative_to(root).parts)
        )
        for path in files:
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


@dataclass(frozen=True)
class LastBuild:
    built_at: dt.datetime
    project_fingerprint: str


def last_build(conn: duckdb.DuckDBPyConnection) -> LastBuild | None:
    """The latest successful build recorded in the warehouse, if any."""
    try:
        row = conn.execute(
            "select built_at, project_fingerprint from raw.build_log "
            "order by built_at desc limit 1"
        ).fetchone()
    except duckdb.CatalogException:
        return None
    return LastBuild(row[0], row[1]) if row else None


def record_build(
    conn: duckdb.DuckDBPyConnection, fingerprint: str, days: list[str], seconds: float
) -> None:
    conn.execute(BUILD_LOG_DDL)
    conn.execute(
        "insert into raw.build_log values (now()::timestamp, ?, ?, ?, ?)",
        [fingerprint, days[0] if days else None, days[-1] if days else None, seconds],
    )


def last_load(conn: duckdb.DuckDBPyConnection) -> dt.datetime | None:
    """When a day was last loaded (raw.load_log), if ever."""
    try:
        row = conn.execute("select max(loaded_at) from raw.load_log").fetchone()
    except duckdb.CatalogException:
        return None
    return row[0] if row else None


def up_to_date(
    last: LastBuild | None, last_loaded_at: dt.datetime | None, changed_days: list[str],
    pending_erasures: int, fingerprint: str,
) -> dt.datetime | None:
    """When the warehouse was last built from exactly what is there now: no changed day, no
    day loaded since, no pending erasure and the same project files. None when a build is
    needed. (`last_loaded_at` and the build's time on the engine's one clock.)"""
    if changed_days or pending_erasures:
        return None
    if last is None or last.project_fingerprint != fingerprint:
        return None
    if last_loaded_at is not None and last_loaded_at > last.built_at:
        return None
    return last.built_at


def up_to_date_since(
    conn: duckdb.DuckDBPyConnection, changed_days: list[str], pending_erasures: int,
    fingerprint: str,
) -> dt.datetime | None:
    """`up_to_date` for a DuckDB warehouse."""
    return up_to_date(last_build(conn), last_load(conn), changed_days, pending_erasures,
                      fingerprint)


def why_test_every_row(
    last: LastBuild | None, last_loaded_at: dt.datetime | None, fingerprint: str
) -> str | None:
    """Why a build over some days must still test every row, before it loads anything (None:
    testing the rows of its days is enough). The models then rewrite more than those days:
    after a change of project files, or after a run that loaded days and failed (its days are
    caught up by this run's models but are not in this run's range)."""
    if last is None:
        return "no successful build recorded"
    if last.project_fingerprint != fingerprint:
        return "project files changed since the last build"
    if last_loaded_at is not None and last_loaded_at > last.built_at:
        return "days were loaded after the last successful build"
    return None


def nothing_to_do(since: dt.datetime) -> str:
    """What a build that skips dbt says."""
    return (
        f"nothing to do: no new or changed dump folder, no pending erasure and no changed "
        f"project file since the build of {since:%Y-%m-%d %H:%M:%S} UTC; dbt not run "
        "(--full-refresh rebuilds anyway)"
    )
