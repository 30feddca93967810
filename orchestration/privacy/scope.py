"""What one erasure request erases: the customer, their identifier values, their messages,
session keys and quarantined lines, as temp tables the erasure and the access export read."""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

from orchestration.privacy.salt import table_exists
from orchestration.privacy.values import (
    MIN_TEXT_CANDIDATE,
    message_values_query,
    text_values_query,
)

# Columns of dbt tables that hold an identifier value: rows with an erased value are deleted.
IDENTIFIER_COLUMNS = (
    "anonymous_id", "user_id", "previous_id", "email", "phone", "identifier_value",
    "raw_value", "anchor_value", "a_value", "b_value", "conflicting_identifier_value",
)
MESSAGE_ID_COLUMNS = ("message_id", "event_id")
# Schemas whose tables are swept for the erased customer's rows: every schema but these two
# (raw.events and raw.quarantine are erased explicitly, privacy holds only hashes).
UNSWEPT_SCHEMAS = ("raw", "privacy")
MIN_SUBSTRING_NEEDLE = MIN_TEXT_CANDIDATE
# The temp tables scope_request creates (dropped when a request is done).
SCOPE_TABLES = ("cdp_erase_hashes", "cdp_erase_customers", "cdp_erase_values",
                "cdp_erase_messages", "cdp_erase_keys", "cdp_message_values")


def scope_request(conn: duckdb.DuckDBPyConnection, salt: str, hashes: Iterable[str]) -> None:
    """Temp tables describing what one request erases, from the salted hash(es) it names:

    cdp_erase_customers (customer_id)  customers holding a named identifier (last build)
    cdp_erase_values    (value)        every identifier value of those customers, plus every
                                        value carried by a message that hashes to a named one
    cdp_erase_hashes    (identifier_hash)
    cdp_erase_messages  (message_id)   messages of raw.events carrying any of the values
    cdp_erase_keys      (session_key)  session keys built from the values
    """
    conn.execute("create or replace temp table cdp_erase_hashes (identifier_hash varchar)")
    conn.executemany("insert into cdp_erase_hashes values (?)", [[h] for h in hashes])
    conn.execute("create or replace temp table cdp_erase_customers (customer_id varchar)")
    conn.execute("create or replace temp table cdp_erase_values (value varchar)")
    if table_exists(conn, "marts", "identity_graph"):
        conn.execute(
            """
            insert into cdp_erase_customers
            select distinct customer_id from marts.identity_graph
            where sha256($salt || identifier_value)
                  in (select identifier_hash from cdp_erase_hashes)
            """,
            {"salt": salt},
        )
        conn.execute(
            """
            insert into cdp_erase_values
            select distinct identifier_value from marts.identity_graph
            where customer_id in (select customer_id from cdp_erase_customers)
            """
        )
        conn.execute(
            "insert into cdp_erase_hashes select distinct sha256($salt || value) "
            "from cdp_erase_values",
            {"salt": salt},
        )
    if table_exists(conn, "raw", "events"):
        # every stored copy of a message: raw.events and the copies set aside (raw.superseded)
        copies = "raw.events"
        if table_exists(conn, "raw", "superseded"):
            copies = "(select message_id, payload from raw.events union all " \
                     "select message_id, payload from raw.superseded)"
        conn.execute(
            f"""
            create or replace temp table cdp_message_values as
            {message_values_query(copies, "payload", "message_id")}
            """
        )
    else:
        conn.execute(
            "create or replace temp table cdp_message_values (message_id varchar, value varchar)"
        )
    conn.execute(
        """
        insert into cdp_erase_values
        select value from (select distinct value from cdp_message_values where value is not null)
        where sha256($salt || value) in (select identifier_hash from cdp_erase_hashes)
          and value not in (select value from cdp_erase_values)
        """,
        {"salt": salt},
    )
    conn.execute(
        """
        create or replace temp table cdp_erase_messages as
        select distinct message_id from cdp_message_values
        where value in (select value from cdp_erase_values)
        """
    )
    conn.execute("drop table if exists cdp_message_values")
    conn.execute(
        """
        create or replace temp table cdp_erase_keys as
        select 'anonymous_id:' || value as session_key from cdp_erase_values
        union
        select 'user_id:' || value from cdp_erase_values
        """
    )


def quarantine_matches_sql(salt_param: str = "$salt") -> str:
    """rowids of raw.quarantine lines mentioning an erased value."""
    return f"""
        with candidates as (
            {text_values_query("raw.quarantine", "raw_line", "rowid as row_id")}
        )
        select row_id from candidates
        where value in (select value from cdp_erase_values)
           or sha256({salt_param} || value) in (select identifier_hash from cdp_erase_hashes)
        union
        select q.rowid from raw.quarantine q
        inner join cdp_erase_values v
            on length(v.value) >= {MIN_SUBSTRING_NEEDLE}
           and (contains(q.raw_line, v.value)
                or (v.value like '%@%' and contains(lower(q.raw_line), lower(v.value))))
    """


def swept_tables(conn: duckdb.DuckDBPyConnection) -> list[tuple[str, str, set[str]]]:
    """Base tables (seeds, dbt tables, anything but raw and privacy) with the columns that can
    tie a row to a customer: (schema, table, columns)."""
    wanted = {*IDENTIFIER_COLUMNS, *MESSAGE_ID_COLUMNS, "session_key", "customer_id"}
    rows = conn.execute(
        f"""
        select c.schema_name, c.table_name, list(c.column_name)
        from duckdb_columns() c
        inner join duckdb_tables() t
            on t.database_name = c.database_name and t.schema_name = c.schema_name
           and t.table_name = c.table_name
        where c.database_name = current_database()
          and c.schema_name not in ({", ".join(f"'{s}'" for s in UNSWEPT_SCHEMAS)})
          and c.data_type = 'VARCHAR'
        group by all
        order by all
        """
    ).fetchall()
    tables = []
    for schema, table, columns in rows:
        found = {c for c in columns if c in wanted}
        if found:
            tables.append((schema, table, found))
    return tables


def row_conditions(columns: set[str], *, identifiers: bool) -> list[str]:
    conditions = []
    for column in sorted(columns & set(MESSAGE_ID_COLUMNS)):
        conditions.append(f'"{column}" in (select message_id from cdp_erase_messages)')
    if "session_key" in columns:
        conditions.append('"session_key" in (select session_key from cdp_erase_keys)')
    if "customer_id" in columns:
        conditions.append('"customer_id" in (select customer_id from cdp_erase_customers)')
    if identifiers:
        for column in sorted(columns & set(IDENTIFIER_COLUMNS)):
            conditions.append(f'"{column}" in (select value from cdp_erase_values)')
    return conditions


def shared_session_count(conn: duckdb.DuckDBPyConnection) -> int:
    """Sessions of other visitors (session keys not of the erased customer) that hold an erased
    message or one of its identifiers, e.g. a kiosk browser another customer owns."""
    keys: set[str] = set()
    for schema, table, columns in swept_tables(conn):
        if "session_key" not in columns:
            continue
        touching = row_conditions(columns - {"session_key", "customer_id"}, identifiers=True)
        if not touching:
            continue
        keys.update(
            r[0] for r in conn.execute(
                f"""
                select distinct session_key from "{schema}"."{table}"
                where session_key not in (select session_key from cdp_erase_keys)
                  and ({" or ".join(touching)})
                """
            ).fetchall()
        )
    return len(keys)
