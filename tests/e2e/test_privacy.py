"""Privacy: erasure (`cdp forget`), suppression at load, access export, consent, pseudonymised BI.

The end-to-end scenario builds a hand-made warehouse three times through the nightly Dagster
job (in-process): the original dumps; after `cdp forget --email` of person P; after reloading
the original dumps plus a new dump full of P's identifiers. The fast tests below it drive the
loader and the erasure step directly on small DuckDB files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import stat
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from support.dumps import write_dump_file

from orchestration import identifiers, privacy, settings
from orchestration.cli import main
from orchestration.defs.runner import run_nightly_job
from orchestration.ingest.duckdb_loader import load_day
from orchestration.ingest.folders import find_day_folders

DAY1, DAY2, DAY3 = "2026-03-01", "2026-03-02", "2026-03-03"

# Person P: two devices, a user id, an email (sent in mixed case), a name and a phone.
P_LAPTOP = "anon-7f3a9c-laptop"
P_PHONE_DEVICE = "anon-91bc2e-phone"
P_USER = "user-4242-pd"
P_EMAIL_SENT = "Pat.Doe@Example.org"
P_EMAIL = "pat.doe@example.org"
P_NAME, P_FIRST, P_LAST = "Patricia Doe-Quincey", "Patricia", "Doe-Quincey"
P_PHONE_SENT = "+44 20 7946 0958"
P_PHONE = "+442079460958"
P_NEEDLES = [P_LAPTOP, P_PHONE_DEVICE, P_USER, P_EMAIL, P_NAME, P_FIRST, P_LAST,
             P_PHONE_SENT, P_PHONE]

A_ANON, A_USER, A_EMAIL = "anon-a-desk", "user-a-17", "ana@lima.example"
B_ANON = "anon-b-visitor"
C_ANON, C_USER = "anon-c-mobile", "user-c-3"
D_ANON, D_USER = "anon-d-new", "user-d-5"

SALT = "test-salt-" + "0" * 54


def at(day: str, hhmm: str) -> str:
    return f"{day}T{hhmm}:00Z"


def message(mid: str, kind: str, when: str, *, anon: str | None = None,
            user: str | None = None, consent: bool | None = None, **fields) -> dict:
    msg: dict = {"type": kind, "messageId": mid, "timestamp": when}
    if anon:
        msg["anonymousId"] = anon
    if user:
        msg["userId"] = user
    context = fields.pop("context", {})
    if consent is not None:
        context["consent"] = {"categoryPreferences": {"Analytics": consent, "Advertising": False}}
    if context:
        msg["context"] = context
    msg.update(fields)
    return msg


def page(mid: str, when: str, path: str, **kw) -> dict:
    context = {"page": {"path": path, "url": f"https://shop.example{path}", "title": path}}
    return message(mid, "page", when, context=context, **kw)


def track(mid: str, when: str, event: str, properties: dict | None = None, **kw) -> dict:
    return message(mid, "track", when, event=event, properties=properties or {}, **kw)


P_TRAITS = {"email": P_EMAIL_SENT, "name": P_NAME, "first_name": P_FIRST, "last_name": P_LAST,
            "phone": P_PHONE_SENT}

DAY1_P = [
    page("m-p-01", at(DAY1, "10:00"), "/", anon=P_LAPTOP),
    page("m-p-02", at(DAY1, "10:03"), "/products/kettle", anon=P_LAPTOP),
    message("m-p-03", "identify", at(DAY1, "10:05"), anon=P_LAPTOP, user=P_USER, traits=P_TRAITS),
    page("m-p-04", at(DAY1, "10:06"), "/checkout", anon=P_LAPTOP, user=P_USER),
]
P_MALFORMED = '{"type":"identify","userId":"user-4242-pd","traits":{"email":"pat.doe@example.org"'
DAY1_OTHERS = [
    page("m-a-01", at(DAY1, "09:00"), "/", anon=A_ANON),
    message("m-a-02", "identify", at(DAY1, "09:01"), anon=A_ANON, user=A_USER,
            traits={"email": A_EMAIL, "name": "Ana Lima"}),
    track("m-a-03", at(DAY1, "09:02"), "Order Completed", {"order_id": "o-a-1", "revenue": 30},
          anon=A_ANON, user=A_USER),
    page("m-b-01", at(DAY1, "11:00"), "/", anon=B_ANON),
    page("m-b-02", at(DAY1, "11:10"), "/about", anon=B_ANON),
    # C refuses analytics consent, then gives it: only the later messages count.
    page("m-c-01", at(DAY1, "12:00"), "/", anon=C_ANON, consent=False),
    track("m-c-02", at(DAY1, "12:01"), "Product Viewed", anon=C_ANON, consent=False),
    page("m-c-03", at(DAY1, "14:00"), "/", anon=C_ANON, consent=True),
    page("m-c-04", at(DAY1, "14:02"), "/pricing", anon=C_ANON, consent=True),
    track("m-c-05", at(DAY1, "14:03"), "Signed Up", anon=C_ANON, consent=True),
    message("m-c-06", "identify", at(DAY1, "14:04"), anon=C_ANON, user=C_USER, consent=True,
            traits={"email": "cy@c.example", "name": "Cy Chen"}),
]
OTHER_MALFORMED = json.dumps(
    {"type": "bogus", "messageId": "m-x-1", "timestamp": at(DAY1, "08:00")}
)
DAY2_P = [
    message("m-p-05", "alias", at(DAY2, "08:00"), user=P_USER, previousId=P_PHONE_DEVICE),
    page("m-p-06", at(DAY2, "08:01"), "/", anon=P_PHONE_DEVICE),
    page("m-p-07", at(DAY2, "08:04"), "/products/kettle", anon=P_PHONE_DEVICE),
    track("m-p-08", at(DAY2, "08:06"), "Order Completed", {"order_id": "o-p-1", "revenue": 55.5},
          anon=P_PHONE_DEVICE, user=P_USER),
]
DAY2_OTHERS = [
    page("m-a-04", at(DAY2, "09:00"), "/account", anon=A_ANON, user=A_USER),
    page("m-b-03", at(DAY2, "13:00"), "/", anon=B_ANON),
]
# A new dump after the erasure: P's identifiers again, in other fields and spellings.
DAY3_P = [
    page("m-p-09", at(DAY3, "07:00"), "/", anon=P_LAPTOP),
    message("m-p-10", "identify", at(DAY3, "07:01"), anon="anon-55aa-tablet",
            traits={"email": "  PAT.DOE@example.org "}),
    message("m-p-11", "identify", at(DAY3, "07:02"), user=P_USER,
            traits={"phone": "+44 (20) 7946-0958"}),
    # an anonymous id used as a user id: hashes are type-agnostic
    page("m-p-12", at(DAY3, "07:03"), "/", user=P_PHONE_DEVICE),
]
P_MALFORMED_DAY3 = '{"type":"identify","traits":{"phone":"+44 20 7946 0958"'
DAY3_OTHERS = [
    page("m-d-01", at(DAY3, "09:00"), "/", anon=D_ANON),
    message("m-d-02", "identify", at(DAY3, "09:01"), anon=D_ANON, user=D_USER,
            traits={"email": "dee@d.example"}),
]

P_MESSAGES = len(DAY1_P) + len(DAY2_P)
# Every original line of P: messages, the retried copy of m-p-02, the malformed line.
P_ORIGINAL_LINES = P_MESSAGES + 1 + 1
P_NEW_LINES = len(DAY3_P) + 1


def write_original_dumps(raw: Path) -> None:
    write_dump_file(raw, DAY1, "a.jsonl", [*DAY1_P, P_MALFORMED, *DAY1_OTHERS, OTHER_MALFORMED])
    write_dump_file(raw, DAY1, "retries/b.jsonl", [DAY1_P[1]])  # a retried delivery
    write_dump_file(raw, DAY2, "a.jsonl.gz", [*DAY2_P, *DAY2_OTHERS], gz=True)


def search_warehouse(path: Path, needles: list[str]) -> list[tuple[str, str, str, str]]:
    """(schema, relation, column, needle) wherever a needle occurs, case-insensitively, in any
    column (cast to text) of any table or view of any schema."""
    lowered = [n.lower() for n in needles]
    hits = []
    with duckdb.connect(str(path), read_only=True) as conn:
        relations = conn.execute(
            """
            select schema_name, table_name from duckdb_tables()
            where database_name = current_database()
            union all
            select schema_name, view_name from duckdb_views()
            where database_name = current_database() and not internal
            """
        ).fetchall()
        for schema, name in relations:
            columns = [r[0] for r in conn.execute(
                "select column_name from duckdb_columns() where database_name = "
                "current_database() and schema_name = ? and table_name = ?", [schema, name],
            ).fetchall()]
            for column in columns:
                found = conn.execute(
                    f"""
                    select distinct n.needle
                    from "{schema}"."{name}" as r,
                         (select unnest(?::varchar[]) as needle) as n
                    where contains(lower(cast(r."{column}" as varchar)), n.needle)
                    """,
                    [lowered],
                ).fetchall()
                hits.extend((schema, name, column, needle) for (needle,) in found)
    return hits


def customer_360(path: Path) -> dict[str, tuple]:
    with duckdb.connect(str(path), read_only=True) as conn:
        rows = conn.execute(
            "select * exclude (days_since_last_seen) from marts.customer_360"
        ).fetchall()
    return {row[0]: row for row in rows}


def customer_of(path: Path, value: str) -> str | None:
    with duckdb.connect(str(path), read_only=True) as conn:
        row = conn.execute(
            "select customer_id from marts.identity_graph where identifier_value = ?", [value]
        ).fetchone()
    return row[0] if row else None


def query(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as conn:
        return conn.execute(sql, params or []).fetchall()


# --- the scenario: build, forget, rebuild, reload + new dump, rebuild ---------------------


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    root = tmp_path_factory.mktemp("privacy")
    raw, warehouse = root / "raw", root / "warehouse.duckdb"
    write_original_dumps(raw)
    out: dict = {"root": root, "raw": raw, "warehouse": warehouse}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(privacy.SALT_ENV, SALT)
        mp.setenv("CDP_PUBLISH", str(root / "published" / "analytics.duckdb"))
        quiet = lambda _line: None  # noqa: E731

        out["build1"] = run_nightly_job(raw, warehouse, find_day_folders(raw), echo=quiet)
        out["before"] = customer_360(warehouse)
        out["p_customer"] = customer_of(warehouse, P_EMAIL)
        export = CliRunner().invoke(
            main, ["export", "--email", P_EMAIL_SENT, "--warehouse", str(warehouse),
                   "--out", str(root / "p.json")],
        )
        assert export.exit_code == 0, export.output
        out["export"] = root / "p.json"
        out["pseudonymised"] = query(
            warehouse,
            "select customer_id, email, phone, name from marts.customer_360_pseudonymised",
        )

        forget = CliRunner().invoke(
            main, ["forget", "--email", P_EMAIL_SENT, "--warehouse", str(warehouse)]
        )
        assert forget.exit_code == 0, forget.output
        out["requests_pending"] = query(warehouse, "select * from privacy.requests")

        out["build2"] = run_nightly_job(raw, warehouse, find_day_folders(raw), echo=quiet)
        out["after_erasure"] = customer_360(warehouse)
        out["requests_done"] = query(warehouse, "select * from privacy.requests")

        write_dump_file(raw, DAY3, "a.jsonl", [*DAY3_P, P_MALFORMED_DAY3, *DAY3_OTHERS])
        out["build3"] = run_nightly_job(raw, warehouse, find_day_folders(raw), echo=quiet)
        out["after_reload"] = customer_360(warehouse)
    return out


@pytest.mark.slow
def test_forgotten_customer_is_nowhere_in_the_warehouse_after_reloading_old_and_new_dumps(
    scenario,
):
    warehouse = scenario["warehouse"]
    assert scenario["p_customer"] is not None  # P was there before
    assert search_warehouse(warehouse, P_NEEDLES) == []
    # Nor in the bytes of the file (deleted rows are not left in DuckDB's free blocks) ...
    data = warehouse.read_bytes().lower()
    assert [n for n in P_NEEDLES if n.lower().encode() in data] == []
    # ... nor in the published copy for BI.
    published = scenario["root"] / "published" / "analytics.duckdb"
    if published.exists():
        assert search_warehouse(published, P_NEEDLES) == []


@pytest.mark.slow
def test_other_customers_are_unchanged_by_the_erasure(scenario):
    before = {k: v for k, v in scenario["before"].items() if k != scenario["p_customer"]}
    assert len(before) == 3  # A, B, C
    assert scenario["after_erasure"] == before
    new = {k: v for k, v in scenario["after_reload"].items() if k not in before}
    assert {k: v for k, v in scenario["after_reload"].items() if k in before} == before
    # D, the only customer of the new dump besides P, joins; P does not come back.
    assert [row[1] for row in new.values()] == [D_USER]


@pytest.mark.slow
def test_completed_request_counts_rows_removed_per_table(scenario):
    (row,) = scenario["requests_done"]
    request_id, _, status, completed_at, identifier_type, _, rows_removed = row
    removed = json.loads(rows_removed)
    assert status == "completed" and completed_at is not None and identifier_type == "email"
    assert removed["customers"] == 1
    # both anonymous ids, the user id, the email and the phone
    assert removed["identifiers"] == 5
    assert removed["tables"]["raw.events"] == P_MESSAGES
    assert removed["tables"]["raw.quarantine"] == 1
    assert removed["tables"]["marts.customer_360"] == 1
    assert removed["tables"]["marts.identity_graph"] == 5
    assert removed["tables"]["intermediate.int_sessions__events_unioned"] == 6  # pages + track
    assert removed["total"] == sum(removed["tables"].values())
    assert scenario["build2"]["erasures_completed"] == 1
    assert scenario["build2"]["rows_erased"] == removed["total"]
    suppression = query(scenario["warehouse"], "select request_id from privacy.suppression")
    assert len(suppression) == 5 and {r[0] for r in suppression} == {request_id}


@pytest.mark.slow
def test_erasure_request_stores_only_the_salted_hash(scenario):
    (pending,) = scenario["requests_pending"]
    assert pending[2] == "pending" and pending[4] == "email"
    assert pending[5] == hashlib.sha256((SALT + P_EMAIL).encode()).hexdigest()
    for rows in (scenario["requests_pending"], scenario["requests_done"]):
        text = json.dumps(rows, default=str).lower()
        assert [n for n in P_NEEDLES if n.lower() in text] == []


@pytest.mark.slow
def test_reloaded_and_new_dumps_with_erased_identifiers_are_suppressed_and_counted(scenario):
    build2, build3 = scenario["build2"], scenario["build3"]
    # build 2 erased first, then reloaded the original days: P's lines are dropped at load
    assert build2["suppressed"] == P_ORIGINAL_LINES
    assert build3["suppressed"] == P_ORIGINAL_LINES + P_NEW_LINES
    log = dict(query(scenario["warehouse"],
                     "select strftime(received_date, '%Y-%m-%d'), suppressed from raw.load_log"))
    assert log == {DAY1: len(DAY1_P) + 2, DAY2: len(DAY2_P), DAY3: P_NEW_LINES}
    accounted = query(
        scenario["warehouse"],
        "select sum(lines) = sum(loaded + duplicates + suppressed + quarantined) from raw.load_log",
    )
    assert accounted == [(True,)]
    assert build3["quarantined"] == 1  # only the other malformed line is left


@pytest.mark.slow
def test_refused_consent_keeps_messages_out_of_sessions_page_views_and_customer_360(scenario):
    warehouse = scenario["warehouse"]
    customer = customer_of(warehouse, C_ANON)
    sessions = query(
        warehouse,
        "select page_views, track_events, landing_page_path, is_bounce from marts.sessions "
        "where customer_id = ?", [customer],
    )
    assert sessions == [(2, 1, "/", False)]  # only the messages sent after consent was given
    views = query(
        warehouse,
        "select event_id from marts.page_views where customer_id = ? order by viewed_at",
        [customer],
    )
    assert views == [("m-c-03",), ("m-c-04",)]
    c360 = query(
        warehouse,
        "select sessions, page_views, track_events, converting_sessions "
        "from marts.customer_360 where customer_id = ?", [customer],
    )
    assert c360 == [(1, 2, 1, 1)]
    metrics = query(
        warehouse,
        "select page_views, entrances from marts.page_metrics_daily "
        "where date = date '2026-03-01' and page_path = '/pricing'",
    )
    assert metrics == [(1, 0)]


@pytest.mark.slow
def test_consent_excluded_messages_are_counted_per_day_and_type(scenario):
    rows = query(
        scenario["warehouse"],
        "select strftime(event_date, '%Y-%m-%d'), message_type, excluded_messages "
        "from intermediate.int_privacy__consent_excluded order by all",
    )
    assert rows == [(DAY1, "page", 1), (DAY1, "track", 1)]
    assert scenario["build1"]["consent_excluded"] == 2
    assert scenario["build3"]["consent_excluded"] == 2


@pytest.mark.slow
def test_export_holds_identifiers_events_and_sessions_of_the_customer(scenario):
    report = json.loads(scenario["export"].read_text())
    assert stat.S_IMODE(os.stat(scenario["export"]).st_mode) == 0o600
    assert report["customer_id"] == scenario["p_customer"]
    assert sorted((i["identifier_type"], i["identifier_value"]) for i in report["identifiers"]) == [
        ("anonymous_id", P_LAPTOP), ("anonymous_id", P_PHONE_DEVICE), ("email", P_EMAIL),
        ("phone", P_PHONE), ("user_id", P_USER),
    ]
    assert [e["message_id"] for e in report["events"]] == [
        f"m-p-0{i}" for i in range(1, 9)
    ]
    assert report["events"][2]["payload"]["traits"]["name"] == P_NAME  # parsed JSON
    assert report["customer"]["email"] == P_EMAIL and report["customer"]["orders"] == 1
    assert report["traits"]["phone"] == P_PHONE
    assert len(report["sessions"]) == 2
    assert sum(s["page_views"] for s in report["sessions"]) == 5
    assert len(report["page_views"]) == 5
    assert [q["raw_line"] for q in report["quarantined_lines"]] == [P_MALFORMED]


@pytest.mark.slow
def test_export_of_an_unknown_identifier_fails_with_a_clear_message(scenario, tmp_path):
    result = CliRunner().invoke(
        main, ["export", "--email", "nobody@nowhere.example", "--warehouse",
               str(scenario["warehouse"]), "--out", str(tmp_path / "x.json")],
    )
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert "no email 'nobody@nowhere.example' in marts.identity_graph" in output
    assert not (tmp_path / "x.json").exists()


@pytest.mark.slow
def test_pseudonymised_customer_360_holds_keyed_hashes_not_raw_pii(scenario):
    key = privacy.pseudonymisation_key(SALT)
    rows = {r[0]: r[1:] for r in scenario["pseudonymised"]}
    assert len(rows) == len(scenario["before"])
    email, phone, name = rows[scenario["p_customer"]]
    assert email == hashlib.sha256((key + P_EMAIL).encode()).hexdigest()
    assert phone == hashlib.sha256((key + P_PHONE).encode()).hexdigest()
    assert name == hashlib.sha256((key + P_NAME).encode()).hexdigest()
    text = json.dumps(scenario["pseudonymised"])
    assert "@" not in text and P_NAME not in text
    # the key is not in the compiled SQL
    compiled = (settings.REPO_ROOT / "target").rglob("customer_360_pseudonymised.sql")
    assert all(key not in p.read_text() for p in compiled)


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
