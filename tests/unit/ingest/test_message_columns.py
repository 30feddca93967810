"""Parse once: the loader writes every message field the models read into raw.events'
columns, exactly as the payload says, and fills columns added later from the payload."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import yaml
from support.dumps import write_dump_file

from orchestration.ingest.contract import EVENTS, MESSAGE_COLUMNS
from orchestration.ingest.duckdb_loader import load_day

DAY = "2026-03-01"
ROOT = Path(__file__).resolve().parents[3]

PAGE = {
    "type": "page", "messageId": "m-page", "anonymousId": "  a-1 ", "userId": 42,
    "name": "Pricing", "timestamp": "2026-03-01T10:00:00+02:00",
    "receivedAt": "2026-03-01T08:00:05Z",
    "properties": {"path": "/pricing", "title": "Prices", "revenue": 12.5},
    "context": {
        "page": {"url": "https://x.test/pricing?utm_source=mail", "referrer": ""},
        "campaign": {"source": "mail"},
        "consent": {"categoryPreferences": {"Analytics": True}},
        "app": {"name": "Shop", "version": "3.1"},
    },
}
IDENTIFY = {
    "type": "identify", "messageId": "m-identify", "userId": "u-1",
    "timestamp": "2026-03-01T09:00:00Z", "receivedAt": "not a time",
    "traits": {"email": " A@X.test ", "company": {"name": "Acme"},
               "created_at": "2025-12-31T23:00:00-01:00"},
}


def _load(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    write_dump_file(tmp_path / "raw", DAY, "a.jsonl", [PAGE, IDENTIFY])
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    load_day(conn, tmp_path / "raw", DAY)
    return conn


def _row(conn: duckdb.DuckDBPyConnection, message_id: str) -> dict:
    cursor = conn.execute("select * from raw.events where message_id = ?", [message_id])
    names = [d[0] for d in cursor.description]
    return dict(zip(names, cursor.fetchone(), strict=True))


def test_loader_writes_each_field_as_sent_and_times_in_utc(tmp_path: Path) -> None:
    conn = _load(tmp_path)
    page, identify = _row(conn, "m-page"), _row(conn, "m-identify")
    assert page["anonymous_id"] == "  a-1 "  # cleaning is the models' job
    assert page["user_id"] == "42"  # a number as its text
    assert page["name"] == "Pricing"
    assert page["properties_path"] == "/pricing"
    assert page["properties_revenue"] == "12.5"
    assert page["context_page_referrer"] == ""
    assert page["context_campaign_source"] == "mail"
    assert page["context_app_version"] == "3.1"
    assert json.loads(page["properties"]) == PAGE["properties"]
    assert json.loads(page["context_consent_category_preferences"]) == {"Analytics": True}
    assert str(page["received_at"]) == "2026-03-01 08:00:05"
    assert page["traits"] is None and page["context_device_model"] is None
    assert identify["traits_email"] == " A@X.test "
    assert identify["traits_company_name"] == "Acme"
    assert str(identify["traits_created_at"]) == "2026-01-01 00:00:00"
    assert identify["received_at"] is None  # not a time


def test_columns_added_later_are_filled_from_the_payload(tmp_path: Path) -> None:
    conn = _load(tmp_path)
    expected = conn.execute("select * from raw.events order by message_id").fetchall()
    # a warehouse written before the message columns existed
    conn.execute(f"alter table raw.events drop column {MESSAGE_COLUMNS[0].column}")
    conn.execute(f"alter table raw.events drop column {MESSAGE_COLUMNS[-1].column}")
    conn.close()
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    from orchestration.ingest.duckdb_loader import ensure_raw_schema

    ensure_raw_schema(conn)
    columns = ", ".join(c.name for c in EVENTS.columns)
    assert conn.execute(
        f"select {columns} from raw.events order by message_id"
    ).fetchall() == expected


def test_raw_source_yaml_documents_every_message_column_with_its_path() -> None:
    source = yaml.safe_load(
        (ROOT / "dbt_project/models/staging/_events__sources.yml").read_text()
    )["sources"][0]
    events = next(t for t in source["tables"] if t["name"] == "events")
    documented = {
        c["name"]: (c["config"]["meta"]["json_path"], c["config"]["meta"]["json_kind"])
        for c in events["columns"] if "json_path" in c.get("config", {}).get("meta", {})
    }
    assert documented == {f.column: (f.path, f.kind) for f in MESSAGE_COLUMNS}
    assert all(c.get("description") for c in events["columns"])
