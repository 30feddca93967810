"""Privacy steps on small DuckDB files: suppression at load, the erasure step, the salt, and
which identifiers `cdp forget` accepts."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import stat

import duckdb
import pytest
from click.testing import CliRunner
from support.dumps import write_dump_file
from support.privacy_people import (
    DAY1,
    P_EMAIL,
    P_PHONE,
    P_PHONE_SENT,
    SALT,
    at,
    message,
    page,
    query,
    track,
)

from orchestration import identifiers, privacy
from orchestration.cli import main
from orchestration.ingest.duckdb_loader import load_day

# --- fast tests: loader, erasure step, salt, normalisation --------------------------------


@pytest.fixture
def salted(monkeypatch):
    monkeypatch.setenv(privacy.SALT_ENV, SALT)
    return SALT


def suppress(conn, *values: str) -> None:
    privacy.ensure_privacy_schema(conn, SALT)
    for value in values:
        conn.execute(
            "insert into privacy.suppression values (?, now()::timestamp, 'r1')",
            [privacy.hash_value(SALT, value)],
        )


def test_load_drops_and_counts_messages_carrying_a_suppressed_identifier(tmp_path, salted):
    raw = tmp_path / "raw"
    lines = [
        page("s-1", at(DAY1, "10:00"), "/", anon="anon-gone"),                  # suppressed
        message("s-2", "alias", at(DAY1, "10:01"), user="u-x", previousId="anon-gone"),
        page("s-3", at(DAY1, "10:02"), "/", user="anon-gone"),                   # id as userId
        message("s-4", "identify", at(DAY1, "10:03"), anon="a-ok",
                traits={"email": "  Gone@Example.COM "}),                         # normalised
        track("s-5", at(DAY1, "10:04"), "X", anon="a-ok",
              context={"traits": {"phone": "+1 (555) 010-9999"}}),               # phone
        page("s-6", at(DAY1, "10:05"), "/", anon="a-ok"),                        # kept
        page("s-1", at(DAY1, "10:00"), "/", anon="anon-gone"),                  # its retry
        page("s-6", at(DAY1, "10:05"), "/", anon="a-ok"),                        # duplicate
        '{"type":"page","anonymousId":"anon-gone"',                              # suppressed
        '{"type":"identify","traits":{"email":"gone@example.com"}',              # suppressed
        "{not json at all",                                                      # quarantined
    ]
    write_dump_file(raw, DAY1, "a.jsonl", lines)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        suppress(conn, "anon-gone", "gone@example.com", "+15550109999")
        report = load_day(conn, raw, DAY1)
        stored = conn.execute("select message_id from raw.events").fetchall()
        quarantined = conn.execute("select raw_line from raw.quarantine").fetchall()
        log = conn.execute("select lines, loaded, duplicates, suppressed, quarantined "
                           "from raw.load_log").fetchall()
    assert (report.lines, report.loaded, report.duplicates, report.suppressed,
            report.quarantined) == (11, 1, 1, 8, 1)
    assert report.accounted
    assert stored == [("s-6",)]
    assert quarantined == [("{not json at all",)]
    assert log == [(11, 1, 1, 8, 1)]


def test_load_without_a_suppression_list_needs_no_salt(tmp_path, monkeypatch, write_dump):
    monkeypatch.delenv(privacy.SALT_ENV, raising=False)
    monkeypatch.setenv(privacy.SALT_FILE_ENV, str(tmp_path / "salt"))
    write_dump(tmp_path / "raw", DAY1, "a.jsonl", [page("m1", at(DAY1, "10:00"), "/", anon="a")])
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        report = load_day(conn, tmp_path / "raw", DAY1)
    assert (report.loaded, report.suppressed) == (1, 0)
    assert not (tmp_path / "salt").exists()


def test_load_log_of_an_older_warehouse_gains_the_suppressed_column(tmp_path, write_dump):
    write_dump(tmp_path / "raw", DAY1, "a.jsonl", [page("m1", at(DAY1, "10:00"), "/", anon="a")])
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        conn.execute("create schema raw")
        conn.execute("""
            create table raw.load_log (
                received_date date primary key, loaded_at timestamp not null,
                files integer not null, empty_files integer not null, lines bigint not null,
                loaded bigint not null, duplicates bigint not null, quarantined bigint not null,
                unreadable_files integer not null, seconds double not null)
        """)
        conn.execute("insert into raw.load_log values "
                     "('2026-02-01', now()::timestamp, 1, 0, 5, 5, 0, 0, 0, 0.1)")
        load_day(conn, tmp_path / "raw", DAY1)
        rows = conn.execute(
            "select received_date, lines, suppressed from raw.load_log order by 1"
        ).fetchall()
    assert rows == [(dt.date(2026, 2, 1), 5, 0), (dt.date(2026, 3, 1), 1, 0)]


def test_erasure_without_an_identity_graph_removes_the_identifier_itself(tmp_path, salted):
    raw = tmp_path / "raw"
    write_dump_file(raw, DAY1, "a.jsonl", [
        page("e-1", at(DAY1, "10:00"), "/", anon="anon-erase-me"),
        page("e-2", at(DAY1, "10:01"), "/", anon="anon-keep"),
        '{"broken": "anon-erase-me", ',
        '{"broken": "anon-keep", ',
    ])
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as conn:
        load_day(conn, raw, DAY1)
        request_id, created = privacy.record_request(conn, "anonymous_id", " anon-erase-me ")
        again, created_again = privacy.record_request(conn, "anonymous_id", "anon-erase-me")
        report = privacy.apply_pending_erasures(conn)
        events = conn.execute("select message_id from raw.events").fetchall()
        quarantine = conn.execute("select raw_line from raw.quarantine").fetchall()
        status = conn.execute("select status, rows_removed from privacy.requests").fetchall()
    assert created and not created_again and again == request_id
    assert report.requests_completed == 1
    assert report.rows_removed == {"raw.events": 1, "raw.quarantine": 1}
    assert events == [("e-2",)]
    assert quarantine == [('{"broken": "anon-keep", ',)]
    assert status[0][0] == "completed" and json.loads(status[0][1])["total"] == 2
    sizes = privacy.compact_warehouse(path)
    assert sizes["bytes_after"] <= sizes["bytes_before"]
    assert b"anon-erase-me" not in path.read_bytes()
    with duckdb.connect(str(path)) as conn:  # the rewritten file is a working warehouse
        assert conn.execute("select count(*) from raw.events").fetchone()[0] == 1


def test_hashes_are_type_agnostic_and_follow_identity_normalisation():
    assert identifiers.normalise_identifier("email", "  Pat.Doe@Example.ORG ") == P_EMAIL
    assert identifiers.normalise_identifier("phone", P_PHONE_SENT) == P_PHONE
    assert identifiers.normalise_identifier("user_id", " Abc ") == "Abc"
    assert privacy.hash_value(SALT, "x") == hashlib.sha256((SALT + "x").encode()).hexdigest()
    with duckdb.connect() as conn:
        assert conn.execute("select sha256(? || 'x')", [SALT]).fetchone()[0] == \
            privacy.hash_value(SALT, "x")


@pytest.mark.parametrize("kind,value", [
    ("anonymous_id", "null"), ("user_id", "  "), ("email", "test@test.com"),
    ("email", "not-an-email"), ("phone", "12"),
])
def test_forget_refuses_placeholder_and_unusable_identifiers(kind, value):
    with pytest.raises(ValueError):
        identifiers.normalise_identifier(kind, value)


def test_forget_records_a_request_and_prints_no_personal_data(tmp_path, salted):
    path = tmp_path / "w.duckdb"
    duckdb.connect(str(path)).close()
    result = CliRunner().invoke(
        main, ["forget", "--user-id", "someone-7", "--warehouse", str(path)]
    )
    assert result.exit_code == 0, result.output
    assert "erasure request recorded" in " ".join(result.output.split())
    rows = query(path, "select status, identifier_type, identifier_hash from privacy.requests")
    assert rows == [("pending", "user_id", privacy.hash_value(SALT, "someone-7"))]
    bad = CliRunner().invoke(main, ["forget", "--email", "x@y.z", "--user-id", "u",
                                    "--warehouse", str(path)])
    assert bad.exit_code == 2 and "exactly one of" in bad.output


def test_salt_file_is_created_once_with_mode_0600(tmp_path, monkeypatch):
    monkeypatch.delenv(privacy.SALT_ENV, raising=False)
    monkeypatch.delenv(privacy.SALT_FILE_ENV, raising=False)
    warehouse = tmp_path / "wh" / "warehouse.duckdb"
    first = privacy.load_salt(warehouse)
    path = tmp_path / "wh" / "privacy_salt"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(first) == 64 and privacy.load_salt(warehouse) == first


def test_a_lost_salt_is_refused_once_the_warehouse_holds_hashes(tmp_path, monkeypatch):
    monkeypatch.delenv(privacy.SALT_ENV, raising=False)
    monkeypatch.setenv(privacy.SALT_FILE_ENV, str(tmp_path / "salt"))
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as conn:
        privacy.record_request(conn, "user_id", "someone-7")
    (tmp_path / "salt").unlink()
    with duckdb.connect(str(path)) as conn, pytest.raises(privacy.PrivacyError, match="salt"):
        privacy.apply_pending_erasures(conn)
    assert not (tmp_path / "salt").exists()
    monkeypatch.setenv(privacy.SALT_ENV, "another-salt")
    with duckdb.connect(str(path)) as conn, pytest.raises(privacy.PrivacyError, match="differs"):
        privacy.apply_pending_erasures(conn)
