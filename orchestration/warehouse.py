"""The DuckDB warehouse: opening it (with a clear message when a build holds it) and small
read-only queries used for Dagster metadata and the CLI summary."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb

from orchestration import settings

SCHEMAS = ("raw", "staging", "intermediate", "marts", "privacy")


class WarehouseLockedError(duckdb.IOException):
    """Another process holds the warehouse file (DuckDB allows one writing process)."""


LOCKED = "is locked by another process"


def locked_message(path: Path, error: BaseException) -> str:
    """What to tell the user when DuckDB cannot lock the warehouse file."""
    holder = re.search(r"held in (.+?) \(PID (\d+)\)", str(error))
    by = f" (pid {holder.group(2)}, {holder.group(1)})" if holder else ""
    return (
        f"warehouse {path} {LOCKED}{by}: a build or a BI tool holds it; "
        "BI tools should read the published file CDP_PUBLISH "
        f"(default {settings.DEFAULT_PUBLISH}), never the warehouse. DuckDB said: {error}"
    )


@contextmanager
def connect(path: Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the warehouse file, UTC, under the memory cap; closed on exit.

    Open connections only for the work at hand: DuckDB allows one writing process, and a
    connection left open would lock the dbt subprocess (and every reader) out of the file.
    """
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = duckdb.connect(
            str(path), read_only=read_only,
            config={"memory_limit": settings.duckdb_memory_limit()},
        )
    except duckdb.IOException as exc:
        if "Could not set lock on file" in str(exc):
            raise WarehouseLockedError(locked_message(path, exc)) from exc
        raise
    try:
        conn.execute("set timezone = 'UTC'")
        yield conn
    finally:
        conn.close()


def table_row_counts(conn: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], int]:
    """Row count of every base table in our schemas, keyed by (schema, table)."""
    tables = conn.execute(
        f"""
        select schema_name, table_name from duckdb_tables()
        where database_name = current_database()
          and schema_name in ({", ".join(f"'{s}'" for s in SCHEMAS)})
        """
    ).fetchall()
    counts = {}
    for schema, table in tables:
        counts[(schema, table)] = int(
            conn.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
        )
    return counts


def rows_per_day(
    conn: duckdb.DuckDBPyConnection, table: str, days: Sequence[str], column: str = "received_date"
) -> dict[str, int]:
    """Rows of `table` (schema.name) per day of `column` for each of `days` (0 for a day
    without rows): what a partitioned asset holds for each of its partitions."""
    if not days:
        return {}
    rows = conn.execute(
        f"select strftime({column}, '%Y-%m-%d'), count(*) from {table} "
        f"where {column} in (select unnest(?::date[])) group by 1",
        [list(days)],
    ).fetchall()
    counts = {day: 0 for day in days}
    counts.update({day: int(n) for day, n in rows})
    return counts


def table_columns(conn: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """The columns (name, type as DuckDB names it) of every table and view in our schemas, in
    order, keyed by (schema, table)."""
    rows = conn.execute(
        f"""
        select table_schema, table_name, column_name, data_type
        from information_schema.columns
        where table_catalog = current_database()
          and table_schema in ({", ".join(f"'{s}'" for s in SCHEMAS)})
        order by table_schema, table_name, ordinal_position
        """
    ).fetchall()
    columns: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, table, column, data_type in rows:
        columns.setdefault((schema, table), []).append((column, data_type))
    return columns
