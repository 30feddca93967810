"""End to end through Dagster: generated dumps -> nightly job in-process -> marts."""

import datetime as dt
import json
import re
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from orchestration.cli import main
from orchestration.defs.runner import run_nightly_job
from orchestration.generator import generate
from orchestration.ingest.folders import find_day_folders

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    raw, warehouse = root / "raw", root / "warehouse.duckdb"
    stats = generate(raw, days=4, customers=120, seed=11, start=dt.date(2026, 3, 1))
    days = find_day_folders(raw)
    summary = run_nightly_job(raw, warehouse, days, echo=lambda _line: None)
    return stats, summary, warehouse, raw


def test_every_generated_line_is_loaded_duplicate_or_quarantined(built):
    stats, summary, warehouse, _ = built
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        events = conn.execute("select count(*) from raw.events").fetchone()[0]
        quarantined = conn.execute("select count(*) from raw.quarantine").fetchone()[0]
        log = conn.execute(
            "select sum(lines), sum(loaded), sum(duplicates), sum(quarantined) from raw.load_log"
        ).fetchone()
    assert summary["lines_read"] == stats.lines == log[0]
    assert events == stats.events == summary["events_loaded"] == log[1]
    assert summary["duplicates"] == stats.duplicates == log[2]
    assert quarantined == stats.malformed == summary["quarantined"] == log[3]


def test_the_job_builds_every_mart_and_passes_every_test(built):
    _, summary, warehouse, _ = built
    assert summary["tests_failed"] == 0 and summary["tests_passed"] > 50
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        for mart in ("identity_graph", "customer_360", "sessions", "page_views",
                     "page_metrics_daily"):
            rows = conn.execute(f"select count(*) from marts.{mart}").fetchone()[0]
            assert rows > 0, mart
        schemas = {r[0] for r in conn.execute(
            "select distinct schema_name from duckdb_tables() union "
            "select distinct schema_name from duckdb_views() where not internal"
        ).fetchall()}
    assert {"raw", "staging", "intermediate", "marts"} <= schemas
    assert not any(s.startswith("main_") for s in schemas)


def test_rerunning_the_job_changes_nothing(built):
    _, _, warehouse, raw = built
    def snapshot():
        with duckdb.connect(str(warehouse), read_only=True) as conn:
            return {
                t: conn.execute(f"select count(*), sum(hash(x)) from {t} as x").fetchone()
                for t in ("raw.events", "raw.quarantine", "marts.identity_graph",
                          "marts.customer_360", "marts.sessions", "marts.page_views",
                          "marts.page_metrics_daily")
            }
    before = snapshot()
    run_nightly_job(raw, warehouse, find_day_folders(raw), echo=lambda _line: None)
    assert snapshot() == before


def test_cdp_build_fails_with_a_clear_message_when_there_are_no_dumps(tmp_path):
    result = CliRunner().invoke(
        main, ["build", "--raw-dir", str(tmp_path / "nothing"),
               "--warehouse", str(tmp_path / "w.duckdb")],
    )
    assert result.exit_code == 1
    assert "no YYYY-MM-DD dump folders" in result.output


def test_plan_days_reads_only_new_or_changed_folders(built, tmp_path):
    from orchestration.defs.runner import plan_days

    _, _, warehouse, raw = built
    days = find_day_folders(raw)
    # nothing changed since the build: the run covers the last day, loading nothing new
    assert plan_days(raw, warehouse, full_refresh=False) == (days[-1:], True)
    assert plan_days(raw, warehouse, full_refresh=True) == (days, False)
    assert plan_days(raw, tmp_path / "none.duckdb", full_refresh=False) == (days, False)


def test_cdp_build_after_a_new_day_loads_only_that_day(tmp_path, monkeypatch):
    raw_all, raw = tmp_path / "all", tmp_path / "raw"
    stats = generate(raw_all, days=3, customers=40, seed=5, start=dt.date(2026, 4, 1))
    days = find_day_folders(raw_all)
    raw.mkdir()
    for day in days[:-1]:
        (raw / day).symlink_to(raw_all / day, target_is_directory=True)
    warehouse = tmp_path / "w.duckdb"
    args = ["build", "--raw-dir", str(raw), "--warehouse", str(warehouse)]
    summary_json = tmp_path / "summary.json"
    first = CliRunner().invoke(main, [*args, "--summary-json", str(summary_json)])
    assert first.exit_code == 0, first.output
    _assert_summary_json_times_every_step(summary_json, stats.events)
    # quiet: the summary on the terminal, every line of dbt and Dagster in the log file
    assert len(first.output.splitlines()) <= 40, first.output
    assert not re.search(r"\d+ of \d+ (START|OK|PASS)", first.output)  # dbt's node lines
    assert "Running dbt command" not in first.output
    log = Path(first.output.split("full log: ")[1].split()[0])
    assert log.parent == tmp_path / "logs"
    assert "Completed successfully" in log.read_text()
    (raw / days[-1]).symlink_to(raw_all / days[-1], target_is_directory=True)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert f"run over {days[-1]} .. {days[-1]}" in result.output
    assert "1 day folder(s) unchanged" not in result.output  # the range holds only the new day
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        assert conn.execute("select count(*) from raw.events").fetchone()[0] == stats.events
        loaded_days = conn.execute("select count(*) from raw.load_log").fetchone()[0]
    assert loaded_days == len(days)
    # nothing new: dbt is not run at all, and the build says so in one line
    result = CliRunner().invoke(main, [*args, "--summary-json", str(summary_json)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("nothing to do: no new or changed dump folder")
    assert json.loads(summary_json.read_text())["ran"] is False
    assert "building" not in result.output
    # a changed project file with no new dump: the job runs over the last day, which is kept
    # as loaded and not reported missing
    monkeypatch.setattr("orchestration.cli.build.project_fingerprint", lambda: "changed")
    result = CliRunner().invoke(main, [*args, "-v"])  # -v: the log lines on the terminal too
    assert result.exit_code == 0, result.output
    assert "1 day folder(s) unchanged since loaded: kept" in result.output
    assert "no such folder" not in result.output


def _assert_summary_json_times_every_step(path: Path, events: int) -> None:
    """`--summary-json`: the table's numbers, each step's seconds, and the dbt invocation
    that the run's run_results.json names."""
    from orchestration.settings import REPO_ROOT

    summary = json.loads(path.read_text())
    assert summary["ran"] is True and summary["tests_failed"] == 0
    assert 0 < summary["events_loaded"] < events  # the last day is held back
    steps = summary["steps"]
    assert {"raw__events", "cdp_dbt_models", "published__marts",
            "activation__audience_exports"} <= set(steps)
    assert all(s["seconds"] >= 0 and s["started_at"] > 1e9 for s in steps.values())
    assert steps["raw__events"]["started_at"] < steps["cdp_dbt_models"]["started_at"]
    assert sum(s["seconds"] for s in steps.values()) <= summary["seconds"]
    assert 0 < summary["publish_seconds"] <= steps["published__marts"]["seconds"]
    run_folder = next((REPO_ROOT / "target").glob(f"cdp_dbt_models-{summary['run_id'][:7]}-*"))
    run_results = json.loads((run_folder / "run_results.json").read_text())
    assert run_results["metadata"]["invocation_id"] == summary["dbt_invocation_id"]


def test_cdp_build_records_its_run_in_the_project_instance(tmp_path, monkeypatch):
    """`cdp build` then `cdp ui`: the UI's instance (.dagster/ by default) holds the run."""
    import dagster as dg

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("CDP_RECORD_RUNS", "1")
    monkeypatch.chdir(tmp_path)
    generate(tmp_path / "raw", days=2, customers=20, seed=3, start=dt.date(2026, 5, 1))
    result = CliRunner().invoke(main, ["build", "--raw-dir", "raw", "--warehouse", "w.duckdb"])
    assert result.exit_code == 0, result.output
    with dg.DagsterInstance.from_config(str(tmp_path / ".dagster")) as instance:
        (run,) = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.SUCCESS
        assert run.tags["dagster/asset_partition_range_start"] == "2026-05-01"
        assert run.tags["dagster/asset_partition_range_end"] == "2026-05-02"
        assert instance.get_latest_materialization_event(dg.AssetKey(["marts", "sessions"]))
