"""The Dagster code location loads, and its pure helpers build the right commands."""

import datetime as dt

import dagster as dg

from orchestration.definitions import defs
from orchestration.defs.dbt import dbt_build_args
from orchestration.defs.groups import LAYERS
from orchestration.defs.jobs import nightly_schedule
from orchestration.defs.runner import build_run_config, partition_range_tags
from orchestration.ingest.folders import folder_fingerprint


def test_definitions_load_with_ingestion_dbt_assets_checks_job_schedule_and_sensor():
    repo = defs.get_repository_def()
    keys = {key.to_user_string() for key in repo.asset_graph.get_all_asset_keys()}
    assert "raw/events" in keys
    for mart in ("identity_graph", "identity_conflicts", "customer_360", "sessions",
                 "page_views", "page_metrics_daily"):
        assert f"marts/{mart}" in keys
    check_names = {key.name for key in repo.asset_graph.asset_check_keys}
    assert "no_over_merged_customer" in check_names
    # dbt tests on the raw source are checks too (source tests enabled).
    assert any(key.asset_key.to_user_string() == "raw/events"
               for key in repo.asset_graph.asset_check_keys)
    assert repo.has_job("cdp_nightly")
    assert {s.name for s in repo.schedule_defs} == {"nightly_schedule"}
    assert {s.name for s in repo.sensor_defs} == {"new_dump_folder_sensor", "nightly_failure_alert"}


def test_assets_are_grouped_by_layer():
    repo = defs.get_repository_def()
    groups = {
        key.to_user_string(): repo.asset_graph.get(key).group_name
        for key in repo.asset_graph.get_all_asset_keys()
    }
    assert set(groups.values()) == set(LAYERS)
    assert groups["raw/events"] == "ingestion"
    assert groups["privacy/pseudonymisation_key"] == "ingestion"
    assert groups["staging/stg_events__pages"] == "staging"
    assert groups["staging/junk_identifiers"] == "staging"  # a seed
    assert groups["intermediate/int_identity__edges"] == "intermediate"
    assert groups["intermediate/int_audiences__members"] == "intermediate"
    assert groups["marts/page_metrics_daily"] == "marts"
    assert groups["marts/audience__high_value"] == "marts"
    assert groups["published/marts"] == "publishing"
    assert groups["activation/audience_exports"] == "activation"


def test_dbt_args_carry_no_vars_so_partial_parsing_survives_between_runs():
    # the days to process come from raw.load_log (dbt_project/macros/incremental.sql)
    assert dbt_build_args() == ["build"]
    assert dbt_build_args(full_refresh=True) == ["build", "--full-refresh"]


def test_build_run_config_and_range_tags():
    assert build_run_config(True)["ops"]["cdp_dbt_models"]["config"] == {
        "full_refresh": True, "full_tests": False,
    }
    assert build_run_config(False, True, full_tests=True)["ops"]["cdp_dbt_models"]["config"] == {
        "full_refresh": False, "full_tests": True,
    }
    assert partition_range_tags("2026-01-01", "2026-01-02") == {
        "dagster/asset_partition_range_start": "2026-01-01",
        "dagster/asset_partition_range_end": "2026-01-02",
    }
    # one day is a partition, as the schedule's and the sensor's runs carry it
    assert partition_range_tags("2026-01-02", "2026-01-02") == {"dagster/partition": "2026-01-02"}


def test_nightly_schedule_requests_yesterdays_partition():
    context = dg.build_schedule_context(
        scheduled_execution_time=dt.datetime(2026, 3, 5, 2, 0, tzinfo=dt.UTC)
    )
    request = nightly_schedule(context)
    assert request.partition_key == "2026-03-04"
    # a Thursday night: the dbt tests read the loaded day's rows
    assert request.run_config["ops"]["cdp_dbt_models"]["config"] == {"full_tests": False}


def test_nightly_schedule_tests_every_row_on_sunday_nights():
    sunday = dg.build_schedule_context(
        scheduled_execution_time=dt.datetime(2026, 3, 8, 2, 0, tzinfo=dt.UTC)
    )
    request = nightly_schedule(sunday)
    assert request.partition_key == "2026-03-07"
    assert request.run_config["ops"]["cdp_dbt_models"]["config"] == {"full_tests": True}
    assert request.tags["cdp/tests"] == "full"


def test_folder_fingerprint_changes_when_a_file_is_added(tmp_path):
    day = tmp_path / "2026-01-01"
    day.mkdir()
    assert folder_fingerprint(day) == "empty"
    (day / "a.jsonl").write_text("{}\n")
    first = folder_fingerprint(day)
    (day / "b.jsonl.gz").write_bytes(b"x")
    assert folder_fingerprint(day) not in (first, "empty")


def test_sensor_requests_a_new_or_changed_day_folder_after_its_first_tick(tmp_path):
    from orchestration.defs.jobs import new_dump_folder_sensor
    from orchestration.defs.resources import WarehouseResource

    raw = tmp_path / "raw"
    (raw / "2026-01-01").mkdir(parents=True)
    (raw / "2026-01-01" / "a.jsonl").write_text("{}\n")
    resources = {"warehouse": WarehouseResource(raw_dir=str(raw), warehouse=str(tmp_path / "w"))}

    first = new_dump_folder_sensor(dg.build_sensor_context(resources=resources))
    assert first.run_requests == []  # the first tick only records what is there

    (raw / "2026-01-02").mkdir()
    (raw / "2026-01-02" / "a.jsonl.gz").write_bytes(b"data")
    second = new_dump_folder_sensor(
        dg.build_sensor_context(cursor=first.cursor, resources=resources)
    )
    assert [r.partition_key for r in second.run_requests] == ["2026-01-02"]

    third = new_dump_folder_sensor(
        dg.build_sensor_context(cursor=second.cursor, resources=resources)
    )
    assert third.run_requests == []


def test_dbt_resource_skips_the_version_subprocess_and_the_unused_adapter(monkeypatch):
    from importlib.metadata import version

    import dagster_dbt.core.resource as dbt_resource

    from orchestration.defs.resources import CdpDbtCliResource

    resource = defs.resources["dbt"]
    assert isinstance(resource, CdpDbtCliResource)

    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"dagster-dbt ran a subprocess before dbt build: {args}")

    monkeypatch.setattr(dbt_resource, "check_output", no_subprocess)
    assert str(resource._cli_version) == version("dbt-core")
    assert resource._initialize_dbt_core_adapter(["build"]) is None


def test_loading_the_definitions_prints_no_beta_warning_for_our_deliberate_backfill_policy():
    import subprocess
    import sys

    code = "import warnings; warnings.simplefilter('always'); import orchestration.definitions"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "backfill_policy" not in result.stderr
