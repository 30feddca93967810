"""bench/compare_marts.py: the marts of two warehouses, row for row."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb

from orchestration.settings import REPO_ROOT

SCRIPT = REPO_ROOT / "bench" / "compare_marts.py"
spec = importlib.util.spec_from_file_location("compare_marts", SCRIPT)
compare_marts = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compare_marts)


def warehouse(path: Path, sessions: list[tuple]) -> str:
    with duckdb.connect(str(path)) as conn:
        conn.execute("create schema marts")
        conn.execute("create table marts.sessions (session_id varchar, page_views int, "
                     "built_at timestamp)")
        conn.executemany("insert into marts.sessions values (?, ?, now())", sessions)
    return str(path)


def test_same_rows_in_any_order_and_other_build_times_are_identical(tmp_path: Path) -> None:
    old = warehouse(tmp_path / "old.duckdb", [("s1", 2), ("s2", 1)])
    new = warehouse(tmp_path / "new.duckdb", [("s2", 1), ("s1", 2)])
    assert compare_marts.main([old, new]) == 0


def test_a_changed_or_duplicated_row_is_a_difference(tmp_path: Path, capsys) -> None:
    old = warehouse(tmp_path / "old.duckdb", [("s1", 2), ("s2", 1)])
    new = warehouse(tmp_path / "new.duckdb", [("s1", 2), ("s2", 1), ("s2", 1)])
    assert compare_marts.main([old, new]) == 1
    assert "sessions: 2 rows, old-new 0, new-old 1" in capsys.readouterr().out


def test_differing_rows_counts_both_ways_and_skipped_tables_are_left_out(tmp_path: Path) -> None:
    old = warehouse(tmp_path / "old.duckdb", [("s1", 2), ("s2", 1)])
    new = warehouse(tmp_path / "new.duckdb", [("s1", 3), ("s2", 1), ("s2", 1)])
    tables = compare_marts.compare_tables(old, new)
    assert tables == {"sessions": {"rows": 2, "old_minus_new": 1, "new_minus_old": 2}}
    assert compare_marts.differing_rows(tables) == 3
    assert compare_marts.compare_tables(old, new, skip={"sessions"}) == {}
