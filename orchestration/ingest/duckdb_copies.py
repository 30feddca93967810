"""Which copy of a message raw.events holds: the DuckDB side of the contract's COPY_ORDER.

The day's best copy of each message (`find_first_copies`) competes with the copies other days
hold in raw.events or raw.superseded (`rank_copies`): the winner is in raw.events, the others
in raw.superseded. Only the copies of the day's messages (and of those it held before) move;
the other days whose rows moved are recounted and stamped as reloaded
(`recount_other_days`), so incremental models process them again.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from orchestration.ingest.contract import COPY_ORDER


def rank_copies(conn: duckdb.DuckDBPyConnection, day: dt.date) -> None:
    """Inside the caller's transaction: empty the day in the raw tables, rank every copy of
    its messages into temp table `cdp_ranked` (held_in: day, events or superseded; wins) and
    move the other days' copies whose place changed. The day's own copies are the caller's
    to write."""
    conn.execute("""
        create or replace temp table cdp_ids as
        select message_id from cdp_first_copies
        union select message_id from raw.events where received_date = $day
        union select message_id from raw.superseded where received_date = $day
    """, {"day": day})
    for table in ("raw.events", "raw.superseded", "raw.quarantine"):
        conn.execute(f"delete from {table} where received_date = ?", [day])
    conn.execute(f"""
        create or replace temp table cdp_ranked as
        with copies as (
            select message_id, received_at, source_file, line_number,
                   received_date, 'day' as held_in
            from cdp_first_copies
            union all
            select message_id, received_at, source_file, line_number, received_date, 'events'
            from raw.events semi join cdp_ids using (message_id)
            union all
            select message_id, received_at, source_file, line_number, received_date,
                   'superseded'
            from raw.superseded semi join cdp_ids using (message_id)
        )
        select *, row_number() over (partition by message_id order by {COPY_ORDER}) = 1 as wins
        from copies
    """)
    # other days' copies that change table
    _move(conn, "raw.events", "raw.superseded", "held_in = 'events' and not wins")
    _move(conn, "raw.superseded", "raw.events", "held_in = 'superseded' and wins")


def _move(conn: duckdb.DuckDBPyConnection, source: str, target: str, which: str) -> None:
    """Move the ranked copies `which` from table `source` to `target`."""
    keys = f"(select source_file, line_number from cdp_ranked where {which})"
    conn.execute(f"""
        insert into {target} by name
        select * from {source} s semi join {keys} k using (source_file, line_number)
    """)
    conn.execute(f"""
        delete from {source} s using {keys} k
        where s.source_file = k.source_file and s.line_number = k.line_number
    """)


def recount_other_days(conn: duckdb.DuckDBPyConnection, day: dt.date) -> None:
    """Days other than `day` that lost or regained a message: loaded and duplicates again,
    and stamped as reloaded."""
    conn.execute("""
        update raw.load_log as l
        set loaded = n.loaded,
            duplicates = l.lines - l.quarantined - l.suppressed - n.loaded,
            loaded_at = now()::timestamp
        from (
            select d.received_date, (
                select count(*) from raw.events e where e.received_date = d.received_date
            ) as loaded
            from (
                select distinct received_date from cdp_ranked
                where held_in <> 'day' and wins = (held_in = 'superseded')
                  and received_date <> $day
            ) d
        ) n
        where l.received_date = n.received_date
    """, {"day": day})


def find_first_copies(conn: duckdb.DuckDBPyConnection) -> None:
    """Temp table `cdp_first_copies`: the day's best copy of each message (COPY_ORDER), on the
    narrow columns only (never the payload)."""
    conn.execute(f"""
        create or replace temp table cdp_first_copies as
        select message_id, received_at, source_file, line_number, received_date
        from cdp_classified
        where reason is null and not is_suppressed
        qualify row_number() over (partition by message_id order by {COPY_ORDER}) = 1
    """)
