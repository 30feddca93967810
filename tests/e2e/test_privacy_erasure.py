"""Privacy end to end: erasure (`cdp forget`), suppression at load, access export, consent
and pseudonymised BI.

A hand-made warehouse is built three times through the nightly Dagster job (in-process): the
original dumps; after `cdp forget --email` of person P; after reloading the original dumps plus
a new dump full of P's identifiers (tests/support/privacy_people.py)."""

from __future__ import annotations

import hashlib
import json
import os
import stat

import pytest
from click.testing import CliRunner
from support.dumps import write_dump_file
from support.privacy_people import (
    C_ANON,
    D_USER,
    DAY1,
    DAY1_P,
    DAY2,
    DAY2_P,
    DAY3,
    DAY3_OTHERS,
    DAY3_P,
    P_EMAIL,
    P_EMAIL_SENT,
    P_LAPTOP,
    P_MALFORMED,
    P_MALFORMED_DAY3,
    P_MESSAGES,
    P_NAME,
    P_NEEDLES,
    P_NEW_LINES,
    P_ORIGINAL_LINES,
    P_PHONE,
    P_PHONE_DEVICE,
    P_USER,
    SALT,
    customer_360,
    customer_of,
    query,
    search_warehouse,
    write_original_dumps,
)

from orchestration import privacy, settings
from orchestration.cli import main
from orchestration.defs.runner import run_nightly_job
from orchestration.ingest.folders import find_day_folders

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
