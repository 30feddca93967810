"""The change log of incremental identity resolution: which graph rows a run changed.

``<model>__changes`` (beside the model, see :class:`~orchestration.identity.state.StateTables`)
holds one row per identifier whose node row an incremental run changed (new, another
``customer_id``, or gone), with the run's time (``changed_at``, the latest one kept).
``int_identity__message_customers`` reassigns the messages carrying those identifiers. A full
resolution empties it: its state's ``full_resolved_at`` means that everything changed.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from orchestration.identity.state import StateTables

_CHANGED = "cdp_identity_changed"


def reset_changes(conn: duckdb.DuckDBPyConnection, changes: str) -> None:
    """An empty change log (after a full resolution)."""
    conn.execute(f"""
        create or replace table {changes} (
            identifier_type varchar, identifier_value varchar, changed_at timestamp
        )
    """)


def record_changes(
    conn: duckdb.DuckDBPyConnection, tables: StateTables, touched: str, output: str,
    stamp: dt.datetime,
) -> None:
    """Stamp the `touched` identifiers whose node row changes between the model's rows and the
    new `output` rows: new, another customer_id, or gone. Call before the old rows are
    deleted."""
    conn.execute(f"""
        create or replace temp table {_CHANGED} as
        with

        old as (

            select m.identifier_type, m.identifier_value, m.customer_id
            from {tables.model} as m
            semi join {touched} as n
                on m.identifier_type = n.identifier_type
                and m.identifier_value = n.identifier_value
            where m.record_type = 'node'

        ),

        new as (

            select identifier_type, identifier_value, customer_id
            from {output}
            where record_type = 'node'

        )

        select
            coalesce(old.identifier_type, new.identifier_type) as identifier_type,
            coalesce(old.identifier_value, new.identifier_value) as identifier_value
        from old
        full outer join new
            on old.identifier_type = new.identifier_type
            and old.identifier_value = new.identifier_value
        where old.customer_id is distinct from new.customer_id
    """)
    conn.execute(f"""
        delete from {tables.changes} as c using {_CHANGED} as x
        where c.identifier_type = x.identifier_type
            and c.identifier_value = x.identifier_value
    """)
    conn.execute(f"""
        insert into {tables.changes}
        select identifier_type, identifier_value, $stamp from {_CHANGED}
    """, {"stamp": stamp})
