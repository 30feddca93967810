"""GDPR erasure: requests (`cdp forget`), applying them at the next build, compacting the file.

* `cdp forget` records an erasure request in `privacy.requests`: the identifier type and a
  salted hash of its value, never the value itself.
* The next build (the `raw/events` asset, before it loads any day) resolves each pending
  request to its whole customer in `marts.identity_graph` of the last build, deletes every
  message carrying any of the customer's identifiers from `raw.events` (and its copies set aside
  in `raw.superseded`), every `raw.quarantine`
  line mentioning one, and every row of the customer from the tables dbt keeps between runs
  (`staging`, `intermediate`, `marts`; dbt then rebuilds the marts without it). The salted hash
  of each identifier goes to `privacy.suppression`, and the number of audience members erased
  (per audience, no ids) to `privacy.erased_memberships` for `marts.audience_sizes`. The
  warehouse file is then rewritten, since DuckDB leaves the bytes of deleted rows in free
  blocks. When an erased message sat in another visitor's session (a shared device), `cdp
  build` runs dbt with a full refresh so the incremental session models re-sessionize it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from orchestration.identifiers import normalise_identifier
from orchestration.privacy.salt import ensure_privacy_schema, hash_value, salt_for, table_exists
from orchestration.privacy.scope import (
    IDENTIFIER_COLUMNS,
    SCOPE_TABLES,
    quarantine_matches_sql,
    row_conditions,
    scope_request,
    shared_session_count,
    swept_tables,
)
from orchestration.sql import literal


def record_request(
    conn: duckdb.DuckDBPyConnection, identifier_type: str, value: str
) -> tuple[str, bool]:
    """Record an erasure request; returns (request_id, created). A pending request for the
    same identifier is reused. The value is normalised and only its salted hash is stored."""
    normalised = normalise_identifier(identifier_type, value)
    salt = salt_for(conn)
    ensure_privacy_schema(conn, salt)
    identifier_hash = hash_value(salt, normalised)
    existing = conn.execute(
        "select request_id from privacy.requests where identifier_hash = ? and status = 'pending'",
        [identifier_hash],
    ).fetchone()
    if existing:
        return existing[0], False
    request_id = uuid.uuid4().hex
    conn.execute(
        """
        insert into privacy.requests
            (request_id, requested_at, status, completed_at, identifier_type, identifier_hash,
             rows_removed)
        values (?, now()::timestamp, 'pending', null, ?, ?, null)
        """,
        [request_id, identifier_type, identifier_hash],
    )
    return request_id, True


def identifier_in_graph(conn: duckdb.DuckDBPyConnection, identifier_type: str, value: str) -> bool:
    if not table_exists(conn, "marts", "identity_graph"):
        return False
    return conn.execute(
        "select count(*) from marts.identity_graph where identifier_type = ? "
        "and identifier_value = ?",
        [identifier_type, normalise_identifier(identifier_type, value)],
    ).fetchone()[0] > 0


@dataclass
class ErasureReport:
    """What the erasure step of one build did."""

    requests_completed: int = 0
    rows_removed: dict[str, int] = field(default_factory=dict)
    identifiers_suppressed: int = 0
    shared_sessions: int = 0

    @property
    def total_rows_removed(self) -> int:
        return sum(self.rows_removed.values())

    def as_dict(self) -> dict:
        return {**asdict(self), "total_rows_removed": self.total_rows_removed}

def _erase_rows(conn: duckdb.DuckDBPyConnection, salt: str) -> tuple[dict[str, int], int]:
    """Delete the scoped rows everywhere (inside the caller's transaction); returns the rows
    removed per table and how many sessions of other visitors were scrubbed."""
    removed: dict[str, int] = {}
    shared = shared_session_count(conn)

    def count(name: str, n: int) -> None:
        if n:
            removed[name] = removed.get(name, 0) + int(n)

    for raw_table in ("events", "superseded"):
        if table_exists(conn, "raw", raw_table):
            count(f"raw.{raw_table}", conn.execute(
                f"delete from raw.{raw_table} "
                "where message_id in (select message_id from cdp_erase_messages)"
            ).fetchone()[0])
    if table_exists(conn, "raw", "quarantine"):
        count("raw.quarantine", conn.execute(
            f"delete from raw.quarantine where rowid in ({quarantine_matches_sql()})",
            {"salt": salt},
        ).fetchone()[0])
    for schema, table, columns in swept_tables(conn):
        name = f"{schema}.{table}"
        if "session_key" in columns:
            # Rows of the customer's own sessions and messages go; in another visitor's session
            # (a shared device) only the erased identifier values are blanked.
            conditions = row_conditions(columns, identifiers=False)
            if conditions:
                count(name, conn.execute(
                    f'delete from "{schema}"."{table}" where {" or ".join(conditions)}'
                ).fetchone()[0])
            for column in sorted(columns & set(IDENTIFIER_COLUMNS)):
                conn.execute(
                    f'update "{schema}"."{table}" set "{column}" = null '
                    f'where "{column}" in (select value from cdp_erase_values)'
                )
            continue
        conditions = row_conditions(columns, identifiers=True)
        count(name, conn.execute(
            f'delete from "{schema}"."{table}" where {" or ".join(conditions)}'
        ).fetchone()[0])
    return removed, shared


def _record_erased_memberships(conn: duckdb.DuckDBPyConnection, request_id: str) -> None:
    """Count, per audience, the erased customers who were members after the last build (their
    latest change in marts.audience_membership_history is `entered`), before their history rows
    go: marts.audience_sizes reports them as `erased`, so a size change adds up to entered -
    exited - erased. Counts only: no customer id or identifier is kept."""
    if not table_exists(conn, "marts", "audience_membership_history"):
        return
    conn.execute(
        """
        insert into privacy.erased_memberships
        select ?, ?, audience_name, count(*)
        from (
            select audience_name, customer_id, arg_max(change, built_at) as latest_change
            from marts.audience_membership_history
            where customer_id in (select customer_id from cdp_erase_customers)
            group by audience_name, customer_id
        )
        where latest_change = 'entered'
        group by audience_name
        """,
        # UTC, as dbt's run_started_at that marts.audience_sizes compares it with
        [request_id, dt.datetime.now(dt.UTC).replace(tzinfo=None)],
    )


def pending_requests(conn: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """(request_id, identifier_type, identifier_hash) of pending requests, oldest first."""
    if not table_exists(conn, "privacy", "requests"):
        return []
    return conn.execute(
        "select request_id, identifier_type, identifier_hash from privacy.requests "
        "where status = 'pending' order by requested_at, request_id"
    ).fetchall()


def apply_pending_erasures(
    conn: duckdb.DuckDBPyConnection, log: Callable[[str], None] = lambda _m: None
) -> ErasureReport:
    """Ensure the privacy tables and key; erase the customer of every pending request.

    Each request is one transaction: rows deleted, hashes added to the suppression list and
    the request marked completed with its counts, or nothing at all.
    """
    salt = salt_for(conn)
    ensure_privacy_schema(conn, salt)
    report = ErasureReport()
    for request_id, _identifier_type, identifier_hash in pending_requests(conn):
        conn.execute("begin transaction")
        try:
            scope_request(conn, salt, [identifier_hash])
            _record_erased_memberships(conn, request_id)
            removed, shared = _erase_rows(conn, salt)
            suppressed = conn.execute(
                """
                insert or ignore into privacy.suppression
                select distinct identifier_hash, now()::timestamp, ? from cdp_erase_hashes
                """,
                [request_id],
            ).fetchone()[0]
            customers = conn.execute("select count(*) from cdp_erase_customers").fetchone()[0]
            identifiers = conn.execute("select count(*) from cdp_erase_values").fetchone()[0]
            summary = {
                "customers": int(customers),
                "identifiers": int(identifiers),
                "shared_sessions": shared,
                "tables": removed,
                "total": sum(removed.values()),
            }
            conn.execute(
                """
                update privacy.requests
                set status = 'completed', completed_at = now()::timestamp, rows_removed = ?
                where request_id = ?
                """,
                [json.dumps(summary, sort_keys=True), request_id],
            )
            conn.execute("commit")
        except BaseException:
            conn.execute("rollback")
            raise
        finally:
            for table in SCOPE_TABLES:
                conn.execute(f"drop table if exists {table}")
        report.requests_completed += 1
        report.identifiers_suppressed += int(suppressed)
        report.shared_sessions += shared
        for name, n in removed.items():
            report.rows_removed[name] = report.rows_removed.get(name, 0) + n
        log(
            f"erasure request {request_id}: {customers} customer(s), {identifiers} "
            f"identifier(s), {summary['total']} row(s) removed {removed or ''}"
        )
        if shared:
            log(
                f"erasure request {request_id}: {shared} session(s) of other visitors held "
                "erased messages (a shared device); run `cdp build --full-refresh` to "
                "re-sessionize them (`cdp build` does so itself)"
            )
    return report


def compact_warehouse(warehouse: Path) -> dict[str, int]:
    """Rewrite the warehouse into a fresh file and swap it in (atomic rename).

    DuckDB marks the blocks of deleted rows free but does not wipe them, so the bytes of an
    erased customer would stay readable in the file until overwritten. Copying the database
    (`COPY FROM DATABASE`) writes only live rows. Every connection to the warehouse must be
    closed. A failure before the rename leaves the warehouse as it was.
    """
    warehouse = Path(warehouse).resolve()
    tmp = warehouse.with_name(f".{warehouse.name}.compact-{uuid.uuid4().hex[:8]}.tmp")
    before = warehouse.stat().st_size
    try:
        with duckdb.connect(str(tmp)) as conn:
            target = conn.execute("select current_database()").fetchone()[0]
            conn.execute(f"attach {literal(warehouse)} as cdp_compact_source (read_only)")
            conn.execute(f'copy from database cdp_compact_source to "{target}"')
            conn.execute("detach cdp_compact_source")
            conn.execute("checkpoint")
        os.chmod(tmp, warehouse.stat().st_mode & 0o777)
        os.replace(tmp, warehouse)
    finally:
        for path in (tmp, tmp.with_name(tmp.name + ".wal")):
            path.unlink(missing_ok=True)
    return {"bytes_before": before, "bytes_after": warehouse.stat().st_size}


def erasures_need_full_refresh(warehouse: Path) -> bool:
    """True when a pending erasure touches sessions of other visitors (a shared device), so
    the incremental session models must be rebuilt from scratch. Read-only."""
    warehouse = Path(warehouse)
    if not warehouse.exists():
        return False
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        pending = pending_requests(conn)
        if not pending:
            return False
        salt = salt_for(conn)
        for _request_id, _type, identifier_hash in pending:
            scope_request(conn, salt, [identifier_hash])
            if shared_session_count(conn):
                return True
    return False
