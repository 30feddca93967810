"""`cdp export`: everything held on a customer as one JSON file (read-only, GDPR access)."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import os
import uuid
from pathlib import Path
from typing import Any

import duckdb

from orchestration.identifiers import normalise_identifier
from orchestration.privacy.salt import relation_exists, table_exists
from orchestration.privacy.scope import quarantine_matches_sql
from orchestration.privacy.values import message_values_query
from orchestration.warehouse import connect


def _records(conn: duckdb.DuckDBPyConnection, sql: str, params: list | dict | None = None
             ) -> list[dict[str, Any]]:
    cursor = conn.execute(sql, params or [])
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def export_customer(warehouse: Path, identifier_type: str, value: str) -> dict[str, Any]:
    """Everything held on the customer of (identifier_type, value); read-only.

    Raises LookupError when the warehouse or the identifier is unknown.
    """
    warehouse = Path(warehouse)
    if not warehouse.exists():
        raise LookupError(f"{warehouse}: no warehouse (run `cdp build` first)")
    normalised = normalise_identifier(identifier_type, value)
    with connect(warehouse, read_only=True) as conn:  # a held lock: WarehouseLockedError
        conn.execute("set timezone = 'UTC'")
        if not table_exists(conn, "marts", "identity_graph"):
            raise LookupError(f"{warehouse}: no marts.identity_graph (run `cdp build` first)")
        found = conn.execute(
            "select customer_id from marts.identity_graph "
            "where identifier_type = ? and identifier_value = ?",
            [identifier_type, normalised],
        ).fetchone()
        if found is None:
            raise LookupError(
                f"no {identifier_type} {normalised!r} in marts.identity_graph: nothing is held "
                "on it as of the last build"
            )
        customer_id = found[0]
        identifiers = _records(
            conn,
            "select * from marts.identity_graph where customer_id = ? "
            "order by first_seen_at, identifier_type, identifier_value",
            [customer_id],
        )
        values = sorted({r["identifier_value"] for r in identifiers})
        conn.execute("create or replace temp table cdp_erase_values (value varchar)")
        conn.executemany("insert into cdp_erase_values values (?)", [[v] for v in values])
        conn.execute("create or replace temp table cdp_erase_hashes (identifier_hash varchar)")

        def one(schema: str, table: str) -> dict | None:
            if not relation_exists(conn, schema, table):
                return None
            rows = _records(
                conn, f'select * from "{schema}"."{table}" where customer_id = ?', [customer_id]
            )
            return rows[0] if rows else None

        def many(schema: str, table: str, order: str) -> list[dict]:
            if not relation_exists(conn, schema, table):
                return []
            return _records(
                conn,
                f'select * from "{schema}"."{table}" where customer_id = ? order by {order}',
                [customer_id],
            )

        conflicts = []
        if relation_exists(conn, "marts", "identity_conflicts"):
            conflicts = _records(
                conn,
                """
                select * from marts.identity_conflicts
                where identifier_value in (select value from cdp_erase_values)
                   or conflicting_identifier_value in (select value from cdp_erase_values)
                order by occurred_at, message_id
                """,
            )
        events = _records(
            conn,
            f"""
            with message_values as (
                {message_values_query("raw.events", "payload", "message_id")}
            )
            select message_id, type, event_at, received_date, source_file, line_number, payload
            from raw.events
            where message_id in (
                select message_id from message_values
                where value in (select value from cdp_erase_values)
            )
            order by event_at, message_id
            """,
        )
        for event in events:
            event["payload"] = json.loads(event["payload"])
        quarantined = _records(
            conn,
            f"""
            select source_file, line_number, received_date, reason, raw_line
            from raw.quarantine
            where rowid in ({quarantine_matches_sql("''")})
            order by received_date, source_file, line_number
            """,
        ) if table_exists(conn, "raw", "quarantine") else []
        report = {
            "exported_at": dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(),
            "warehouse": str(warehouse),
            "requested": {"identifier_type": identifier_type, "identifier_value": normalised},
            "customer_id": customer_id,
            "customer": one("marts", "customer_360"),
            "traits": one("intermediate", "int_customers__traits"),
            "identifiers": identifiers,
            "identity_conflicts": conflicts,
            "sessions": many("marts", "sessions", "started_at, session_id"),
            "page_views": many("marts", "page_views", "viewed_at, event_id"),
            "screen_views": many("marts", "screen_views", "viewed_at, event_id"),
            "events": events,
            "quarantined_lines": quarantined,
        }
    return report


def json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return str(value)


def write_export(report: dict[str, Any], out: Path) -> Path:
    """Write the export as JSON (mode 0600: it holds personal data), atomically."""
    out = Path(out).expanduser().resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(report, fh, indent=2, default=json_default, ensure_ascii=False)
            fh.write("\n")
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out
