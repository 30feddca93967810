"""Suppression at load: the loader drops every message carrying a suppressed identifier (and
every quarantined line mentioning one) before anything is stored, and counts it."""

from __future__ import annotations

import duckdb

from orchestration.privacy.salt import salt_for, table_exists
from orchestration.privacy.values import message_values_query, text_values_query


def suppression_salt(conn: duckdb.DuckDBPyConnection) -> str | None:
    """The salt when the warehouse has a non-empty suppression list, else None (nothing to
    check, and no salt file is created)."""
    if not table_exists(conn, "privacy", "suppression"):
        return None
    if not conn.execute("select count(*) from privacy.suppression").fetchone()[0]:
        return None
    return salt_for(conn)


def mark_suppressed(conn: duckdb.DuckDBPyConnection, table: str, salt: str | None) -> None:
    """Add boolean `is_suppressed` to the loader's classified lines: a valid message carrying
    a suppressed identifier, or a rejected line mentioning one. The salt is a parameter."""
    conn.execute(
        f"alter table {table} add column if not exists is_suppressed boolean default false"
    )
    if salt is None:
        return
    # Valid messages: their identifier fields; rejected lines: what they mention. Two scans,
    # each with one kind of extraction, then every distinct value is hashed once.
    conn.execute(
        f"""
        create or replace temp table cdp_line_values as
        {message_values_query(table, "line", "source_file, line_number",
                              "reason is null and line_number is not null")}
        union all
        {text_values_query(table, "line", "source_file, line_number",
                           "reason is not null and line_number is not null")}
        """
    )
    conn.execute(
        """
        create or replace temp table cdp_suppressed_lines as
        with suppressed_values as (
            select d.value
            from (select distinct value from cdp_line_values where value is not null) as d
            inner join privacy.suppression as s
                on s.identifier_hash = sha256($salt || d.value)
        )
        select distinct v.source_file, v.line_number
        from cdp_line_values as v
        inner join suppressed_values as s on s.value = v.value
        """,
        {"salt": salt},
    )
    conn.execute(
        f"""
        update {table} as t set is_suppressed = true
        from cdp_suppressed_lines s
        where t.source_file = s.source_file and t.line_number = s.line_number
        """
    )
    conn.execute("drop table if exists cdp_suppressed_lines")
    conn.execute("drop table if exists cdp_line_values")
