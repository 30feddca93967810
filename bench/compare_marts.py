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


# Tables that differ between any two warehouses by design: they record each build (a
# day-by-day warehouse has one entry per build, a rebuild one).
RECORDS_OF_BUILDS = {"audience_membership_history", "audience_sizes"}


def compare_tables(old: str, new: str, skip: set[str] = frozenset()) -> dict[str, dict]:
    """{table: {"rows", "old_minus_new", "new_minus_old"}} for every table of schema `marts`
    in either warehouse but `skip`; a table only in one, or with other columns, has "error"."""
    conn = duckdb.connect()
    conn.execute("attach ? as old (read_only)", [old])
    conn.execute("attach ? as new (read_only)", [new])
    tables = {db: {row[0] for row in conn.execute(
        "select table_name from duckdb_tables() where database_name = ? and schema_name = "
        "'marts'", [db]).fetchall()} - set(skip) for db in ("old", "new")}
    result: dict[str, dict] = {}
    for table in sorted(tables["old"] ^ tables["new"]):
        result[table] = {"error": f"only in {'old' if table in tables['old'] else 'new'}"}
    for table in sorted(tables["old"] & tables["new"]):
        if columns(conn, "old", table) != columns(conn, "new", table):
            result[table] = {"error": "columns differ"}
            continue
        kept = [c for c in columns(conn, "old", table) if c not in BUILD_TIME_COLUMNS]
        select = ", ".join(f'"{c}"' for c in kept)
        counts = [conn.execute(
            f"select count(*) from (select {select} from {a}.marts.{table} "
            f"except all select {select} from {b}.marts.{table})").fetchone()[0]
            for a, b in (("old", "new"), ("new", "old"))]
        rows = conn.execute(f"select count(*) from old.marts.{table}").fetchone()[0]
        result[table] = {"rows": rows, "old_minus_new": counts[0], "new_minus_old": counts[1]}
    conn.close()
    return result


def differing_rows(result: dict[str, dict]) -> int:
    """Rows in one warehouse and not the other, over every table (a table in error counts 1)."""
    return sum(t.get("old_minus_new", 0) + t.get("new_minus_old", 0) + ("error" in t)
               for t in result.values())


def compare(old: str, new: str) -> int:
    result = compare_tables(old, new)
    for table, outcome in result.items():
        if "error" in outcome:
            print(f"{table}: {outcome['error']}")
        else:
            print(f"{table}: {outcome['rows']} rows, old-new {outcome['old_minus_new']}, "
                  f"new-old {outcome['new_minus_old']}")
    differing = [t for t, o in result.items()
                 if "error" in o or o["old_minus_new"] or o["new_minus_old"]]
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
