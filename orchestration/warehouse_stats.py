"""Small read-only queries on the warehouse used for Dagster metadata and the CLI summary."""

from __future__ import annotations

import duckdb

SCHEMAS = ("raw", "staging", "intermediate", "marts", "privacy")


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
