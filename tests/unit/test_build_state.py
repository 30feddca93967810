"""A build with nothing new can skip dbt: the project fingerprint and the build log."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

from orchestration import settings
from orchestration.build_state import (
    PROJECT_FILES,
    LastBuild,
    project_fingerprint,
    record_build,
    up_to_date,
    up_to_date_since,
    why_test_every_row,
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the files a build depends on."""
    for name in PROJECT_FILES:
        source = settings.REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, tmp_path / name)
    return tmp_path


def test_fingerprint_is_stable_and_ignores_bytecode(project: Path) -> None:
    before = project_fingerprint(project)
    (project / "orchestration" / "__pycache__").mkdir()
    (project / "orchestration" / "__pycache__" / "x.pyc").write_bytes(b"cache")
    assert project_fingerprint(project) == before


@pytest.mark.parametrize("changed", [
    "dbt_project/models/marts/sessions.sql",
    "seeds/junk_identifiers.csv",
    "dbt_project.yml",
    "orchestration/identity/resolver.py",
])
def test_fingerprint_changes_with_any_project_file(project: Path, changed: str) -> None:
    before = project_fingerprint(project)
    path = project / changed
    path.write_text(path.read_text() + "\n")
    assert project_fingerprint(project) != before


def test_fingerprint_changes_when_a_model_is_added(project: Path) -> None:
    before = project_fingerprint(project)
    (project / "dbt_project" / "models" / "marts" / "new_mart.sql").write_text("select 1\n")
    assert project_fingerprint(project) != before


def test_up_to_date_only_when_nothing_changed_since_the_last_build() -> None:
    conn = duckdb.connect()
    assert up_to_date_since(conn, [], 0, "fp") is None  # never built
    record_build(conn, "fp", ["2026-03-01", "2026-03-02"], 12.5)
    assert up_to_date_since(conn, [], 0, "fp") is not None
    assert up_to_date_since(conn, ["2026-03-03"], 0, "fp") is None  # a new dump folder
    assert up_to_date_since(conn, [], 1, "fp") is None  # a pending erasure
    assert up_to_date_since(conn, [], 0, "other") is None  # a changed project file
    record_build(conn, "other", ["2026-03-01"], 1.0)
    assert up_to_date_since(conn, [], 0, "other") is not None


def test_a_day_loaded_after_the_last_build_needs_a_build() -> None:
    """A load whose dbt run failed (or a load-only run) leaves the day's folder unchanged
    since its load, but never built: the next build must run dbt."""
    built = LastBuild(dt.datetime(2026, 3, 2, 3, 0), "fp")
    before, after = dt.datetime(2026, 3, 2, 2, 0), dt.datetime(2026, 3, 2, 4, 0)
    assert up_to_date(built, before, [], 0, "fp") == built.built_at
    assert up_to_date(built, None, [], 0, "fp") == built.built_at
    assert up_to_date(built, after, [], 0, "fp") is None


def test_duckdb_warehouse_reads_its_last_load() -> None:
    conn = duckdb.connect()
    record_build(conn, "fp", ["2026-03-01"], 1.0)
    assert up_to_date_since(conn, [], 0, "fp") is not None  # no load log: nothing loaded since
    conn.execute("create schema if not exists raw")
    conn.execute("create table raw.load_log as select now()::timestamp + interval 1 hour "
                 "as loaded_at")
    assert up_to_date_since(conn, [], 0, "fp") is None


def test_a_build_tests_every_row_after_a_project_change_or_a_failed_run() -> None:
    """Its models rewrite more than its days then: every row of a changed model, or the days
    an earlier failed run loaded (caught up now, outside this run's range)."""
    built = LastBuild(dt.datetime(2026, 3, 2, 3, 0), "fp")
    before, after = dt.datetime(2026, 3, 2, 2, 0), dt.datetime(2026, 3, 2, 4, 0)
    assert why_test_every_row(built, before, "fp") is None
    assert why_test_every_row(built, None, "fp") is None
    assert why_test_every_row(None, None, "fp") == "no successful build recorded"
    assert why_test_every_row(built, before, "other") == (
        "project files changed since the last build")
    assert why_test_every_row(built, after, "fp") == (
        "days were loaded after the last successful build")
