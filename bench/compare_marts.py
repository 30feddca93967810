"""Compare the marts of two DuckDB warehouses row for row (EXCEPT ALL, both ways).

    uv run python bench/compare_marts.py OLD.duckdb NEW.duckdb

For a change that must not change results (a refactor, a faster model): build the same dumps
with the old and the new code into two warehouses, then compare. Every table of schema
`marts` is compared on its columns; build-time stamps (`built_at`, `entered_at`) are left out
because they differ between any two builds. Exit status 1 when a table differs or is missing.
"""

from __future__ import annotations

import argparse
import sys

import duckdb

BUILD_TIME_COLUMNS = {"built_at", "entered_at"}


def columns(conn: duckdb.DuckDBPyConnection, db: str, table: str) -> list[str]:
    return [row[0] for row in conn.execute(
        "select column_name from duckdb_columns() where database_name = ? and schema_name = "
        "'marts' and table_name = ? order by column_index", [db, table]).fetchall()]


def compare(old: str, new: str) -> int:
    conn = duckdb.connect()
    conn.execute("attach ? as old (read_only)", [old])
    conn.execute("attach ? as new (read_only)", [new])
    tables = {db: {row[0] for row in conn.execute(
        "select table_name from duckdb_tables() where database_name = ? and schema_name = "
        "'marts'", [db]).fetchall()} for db in ("old", "new")}
    differing = sorted(tables["old"] ^ tables["new"])
    for table in differing:
        print(f"{table}: only in {'old' if table in tables['old'] else 'new'}")
    for table in sorted(tables["old"] & tables["new"]):
        if columns(conn, "old", table) != columns(conn, "new", table):
            print(f"{table}: columns differ")
            differing.append(table)
            continue
        kept = [c for c in columns(conn, "old", table) if c not in BUILD_TIME_COLUMNS]
        select = ", ".join(f'"{c}"' for c in kept)
        counts = [conn.execute(
            f"select count(*) from (select {select} from {a}.marts.{table} "
            f"except all select {select} from {b}.marts.{table})").fetchone()[0]
            for a, b in (("old", "new"), ("new", "old"))]
        rows = conn.execute(f"select count(*) from old.marts.{table}").fetchone()[0]
        print(f"{table}: {rows} rows, old-new {counts[0]}, new-old {counts[1]}")
        if any(counts):
            differing.append(table)
    print("identical" if not differing else f"{len(differing)} table(s) differ")
    return 1 if differing else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", help="the warehouse built by the old code")
    parser.add_argument("new", help="the warehouse built by the new code")
    args = parser.parse_args(argv)
    return compare(args.old, args.new)


if __name__ == "__main__":
    sys.exit(main())
