"""Identity resolution inside DuckDB: strings stay in the warehouse, Python sees integers.

The dbt model `int_identity__resolution` (DuckDB target) calls :func:`resolve_in_duckdb`.
The warehouse numbers what the resolver needs ordered: identifiers in priority order (type
priority, value, type) and messages in processing order (event time, message id; a message's
time is its earliest ``event_at``). Python gets two integer columns per input row, runs
:func:`~orchestration.identity.resolver.resolve_codes` (the rules are in its module docstring),
and hands back integers; the warehouse joins the strings back and computes ``customer_id``
(sha256 of the anchor).

At 10 M events this keeps the resolver's memory to a few integer arrays instead of a
pandas frame of ~25 M rows of Python strings (several GB). ``tests/unit/test_identity.py``
checks every rule through this function and ``tests/unit/test_identity_warehouse.py``
compares it with an independent reference (``tests/support/identity_oracle.py``) on random
graphs.
"""

from __future__ import annotations

from typing import Any

import duckdb
import numpy as np
import pandas as pd

from orchestration.identity.resolver import resolve_codes
from orchestration.identity.rules import (
    CONFLICT_COLUMNS,
    INPUT_COLUMNS,
    NODE_COLUMNS,
    RULE_MAX_USER_IDS,
    USER_ID,
    customer_id_sql,
    priority_sql,
)
from orchestration.sql import literal

#: Columns of the combined output (nodes and conflicts, told apart by ``record_type``).
OUTPUT_COLUMNS = ["record_type", *NODE_COLUMNS] + [
    c for c in CONFLICT_COLUMNS if c not in NODE_COLUMNS
]

_PREFIX = "cdp_identity_"


def _encode(conn: duckdb.DuckDBPyConnection, source: str) -> None:
    """Number identifiers (priority order) and messages (processing order) in temp tables."""
    nulls = conn.execute(
        f"select {', '.join(f'count(*) filter (where {c} is null)' for c in INPUT_COLUMNS)} "
        f"from {source}"
    ).fetchone()
    for column, count in zip(INPUT_COLUMNS, nulls or (), strict=True):
        if count:
            raise ValueError(f"identity resolution: {count} rows with a null {column}")
    conn.execute(f"""
        create or replace temp table {_PREFIX}nodes as
        select
            (row_number() over (
                order by {priority_sql('identifier_type')}, identifier_value, identifier_type
            ) - 1)::bigint as node,
            identifier_type,
            identifier_value,
            identifier_type = {literal(USER_ID)} as is_user_id
        from (select distinct identifier_type, identifier_value from {source})
    """)
    conn.execute(f"""
        create or replace temp table {_PREFIX}messages as
        select
            (row_number() over (order by event_at, message_id) - 1)::bigint as message,
            message_id,
            event_at
        from (select message_id, min(event_at) as event_at from {source} group by message_id)
    """)


def _fetch_codes(
    conn: duckdb.DuckDBPyConnection, source: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rows = conn.execute(f"""
        select m.message, n.node
        from {source} as i
        inner join {_PREFIX}messages as m on m.message_id = i.message_id
        inner join {_PREFIX}nodes as n
            on n.identifier_type = i.identifier_type
            and n.identifier_value = i.identifier_value
    """).fetchnumpy()
    is_user = conn.execute(
        f"select is_user_id from {_PREFIX}nodes order by node"
    ).fetchnumpy()["is_user_id"]
    times = conn.execute(
        f"select epoch_us(event_at) as t from {_PREFIX}messages order by message"
    ).fetchnumpy()["t"]
    return (
        np.asarray(rows["message"], dtype=np.int64),
        np.asarray(rows["node"], dtype=np.int64),
        np.asarray(is_user, dtype=bool),
        np.asarray(times, dtype=np.int64),
    )


def resolve_in_duckdb(
    conn: duckdb.DuckDBPyConnection,
    source: str,
    max_user_ids_per_customer: int = 1,
    stats: dict[str, Any] | None = None,
) -> duckdb.DuckDBPyRelation:
    """Resolve the identifiers in ``source`` (a table or view with :data:`INPUT_COLUMNS`).

    Returns a relation with :data:`OUTPUT_COLUMNS`: one ``node`` row per identifier and one
    ``conflict`` row per link set aside, in the resolver's canonical order (nodes by first
    message, then priority; conflicts by message, then in the order set aside). It reads temp
    tables of ``conn``, so materialise it on the same connection. A null in any input column
    raises ``ValueError`` naming the column. ``stats``, when given, is filled with the
    resolver's run statistics (nodes, customers, messages, distinct identifier sets,
    components resolved in bulk and in order, conflicts, seconds).
    """
    _encode(conn, source)
    message, node, is_user, times = _fetch_codes(conn, source)
    solved = resolve_codes(message, node, is_user, times, max_user_ids_per_customer)
    if stats is not None:
        stats.update(solved.stats)
    del message, node, is_user, times
    nodes = pd.DataFrame(
        {
            "node": np.arange(len(solved.customer), dtype=np.int64),
            "anchor": solved.anchor[solved.customer],
            "first_message": solved.node_first,
            "last_message": solved.node_last,
            "messages": solved.node_messages,
            "component": solved.component,
        }
    )
    conflicts = pd.DataFrame(
        solved.conflicts.reshape(-1, 3), columns=["message", "set_aside", "kept"]
    ).assign(position=lambda f: np.arange(len(f), dtype=np.int64))
    conn.register(f"{_PREFIX}resolved_nodes", nodes)
    conn.register(f"{_PREFIX}resolved_conflicts", conflicts)
    return conn.sql(f"""
        with

        node_rows as (

            select
                'node' as record_type,
                n.identifier_type,
                n.identifier_value,
                {customer_id_sql('a.identifier_type', 'a.identifier_value')} as customer_id,
                a.identifier_type as anchor_type,
                a.identifier_value as anchor_value,
                f.event_at as first_seen_at,
                l.event_at as last_seen_at,
                f.message_id as first_message_id,
                r.messages::bigint as messages,
                null::varchar as message_id,
                null::timestamp as occurred_at,
                null::varchar as rule,
                null::varchar as conflicting_identifier_type,
                null::varchar as conflicting_identifier_value,
                0 as part,
                r.first_message as order_1,
                r.node as order_2
            from {_PREFIX}resolved_nodes as r
            inner join {_PREFIX}nodes as n on n.node = r.node
            inner join {_PREFIX}nodes as a on a.node = r.anchor
            inner join {_PREFIX}messages as f on f.message = r.first_message
            inner join {_PREFIX}messages as l on l.message = r.last_message

        ),

        conflict_rows as (

            select
                'conflict' as record_type,
                s.identifier_type,
                s.identifier_value,
                null::varchar as customer_id,
                null::varchar as anchor_type,
                null::varchar as anchor_value,
                null::timestamp as first_seen_at,
                null::timestamp as last_seen_at,
                null::varchar as first_message_id,
                null::bigint as messages,
                m.message_id,
                m.event_at as occurred_at,
                {literal(RULE_MAX_USER_IDS)} as rule,
                k.identifier_type as conflicting_identifier_type,
                k.identifier_value as conflicting_identifier_value,
                1 as part,
                c.position as order_1,
                0 as order_2
            from {_PREFIX}resolved_conflicts as c
            inner join {_PREFIX}messages as m on m.message = c.message
            inner join {_PREFIX}nodes as s on s.node = c.set_aside
            inner join {_PREFIX}nodes as k on k.node = c.kept

        )

        select {', '.join(OUTPUT_COLUMNS)}
        from (
            select * from node_rows
            union all
            select * from conflict_rows
        )
        order by part, order_1, order_2
    """)


def resolved_components(conn: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    """The raw component of each identifier of the last :func:`resolve_in_duckdb` on ``conn``:
    ``identifier_type, identifier_value, component`` (a number local to that run), the
    connected components of identifiers linked by any message, merge protection aside. A
    customer lies within one; incremental resolution recomputes them whole."""
    return conn.sql(f"""
        select n.identifier_type, n.identifier_value, r.component
        from {_PREFIX}resolved_nodes as r
        inner join {_PREFIX}nodes as n on n.node = r.node
    """)
