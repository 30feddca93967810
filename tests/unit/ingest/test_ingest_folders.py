"""Which day folders a load reads (`orchestration.ingest.folders`) and the DuckDB `load_days`
loop the raw/events asset calls: unchanged folders kept, missing days left, accounting checked."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import duckdb
import pytest

from orchestration.ingest import duckdb_loader
from orchestration.ingest.accounting import LineAccountingError, LoadReport
from orchestration.ingest.folders import changed_days, folder_fingerprint, plan_load


def _line(message_id: str) -> str:
    return json.dumps({"type": "track", "event": "Clicked", "messageId": message_id,
                       "timestamp": "2026-01-01T10:00:00Z"})


@pytest.fixture
def raw(tmp_path: Path, write_dump) -> Path:
    raw_dir = tmp_path / "raw"
    write_dump(raw_dir, "2026-01-01", "a.jsonl", [_line("m1")])
    write_dump(raw_dir, "2026-01-02", "a.jsonl", [_line("m2")])
    (raw_dir / "not-a-day").mkdir()
    return raw_dir


def test_changed_days_are_the_folders_not_loaded_or_rewritten_since(raw, write_dump):
    loaded = {
        "2026-01-01": folder_fingerprint(raw / "2026-01-01"),
        "2026-01-02": folder_fingerprint(raw / "2026-01-02"),
    }
    assert changed_days(raw, {}) == ["2026-01-01", "2026-01-02"]
    assert changed_days(raw, loaded) == []

    write_dump(raw, "2026-01-02", "a.jsonl", [_line("m2"), _line("m3")])
    write_dump(raw, "2026-01-03", "a.jsonl", [_line("m4")])

    assert changed_days(raw, loaded) == ["2026-01-02", "2026-01-03"]


def test_plan_load_keeps_unchanged_folders_and_sets_missing_days_apart(raw):
    loaded = {"2026-01-01": folder_fingerprint(raw / "2026-01-01")}
    days = ["2026-01-01", "2026-01-02", "2026-01-05"]

    plan = plan_load(raw, days, loaded)
    assert (plan.load, plan.unchanged, plan.missing) == (["2026-01-02"], ["2026-01-01"],
                                                         ["2026-01-05"])
    # Without the load log's fingerprints every folder found is loaded.
    everything = plan_load(raw, None, None)
    assert (everything.load, everything.unchanged, everything.missing) == (
        ["2026-01-01", "2026-01-02"], [], []
    )


def test_load_days_reloads_only_changed_folders_when_asked(raw, tmp_path, caplog):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        first = duckdb_loader.load_days(conn, raw)
        with caplog.at_level(logging.INFO, logger=duckdb_loader.__name__):
            again = duckdb_loader.load_days(conn, raw, only_changed=True)
            everything = duckdb_loader.load_days(conn, raw, ["2026-01-01", "2026-01-02"])

    assert [str(r.received_date) for r in first] == ["2026-01-01", "2026-01-02"]
    assert again == []
    assert "2 day folder(s) unchanged since loaded: kept" in caplog.messages
    assert [r.loaded for r in everything] == [1, 1]


def test_load_days_warns_when_the_only_day_asked_for_has_no_folder(raw, tmp_path, caplog):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn, caplog.at_level(logging.WARNING):
        reports = duckdb_loader.load_days(conn, raw, ["2026-01-09"])

    assert reports == []
    missing = raw / "2026-01-09"
    assert caplog.messages == [f"{missing}: no such folder; day 2026-01-09 left unchanged"]


def test_load_days_stops_at_a_day_whose_lines_do_not_add_up(raw, tmp_path, monkeypatch):
    def miscounted(conn, raw_dir, day):
        return LoadReport(received_date=dt.date.fromisoformat(day), lines=3, loaded=1)

    monkeypatch.setattr(duckdb_loader, "load_day", miscounted)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn, pytest.raises(
        LineAccountingError, match="2026-01-01: line accounting does not add up"
    ):
        duckdb_loader.load_days(conn, raw)
