"""Run safety: one writer at a time, a clear message when the warehouse is locked, and a
Dagster instance template that queues runs instead of letting them collide."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
import yaml

from orchestration.definitions import defs
from orchestration.defs.partitions import WAREHOUSE_POOL
from orchestration.defs.resources import WarehouseResource
from orchestration.warehouse import WarehouseLockedError

REPO_ROOT = Path(__file__).resolve().parents[2]

HOLDER = textwrap.dedent(
    """
    import sys, time, duckdb
    conn = duckdb.connect(sys.argv[1])
    conn.execute("create table if not exists t as select 1 as x")
    print("holding", flush=True)
    sys.stdin.read()  # hold the write lock until the test closes stdin
    """
)


@pytest.fixture
def locked_warehouse(tmp_path):
    """A DuckDB file held open for writing by another process (like a build or a BI tool)."""
    path = tmp_path / "warehouse.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        yield path, holder.pid
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


@pytest.mark.parametrize("read_only", [False, True])
def test_connect_names_the_locked_warehouse_the_holder_and_the_published_file(
    locked_warehouse, read_only
):
    path, pid = locked_warehouse
    resource = WarehouseResource(warehouse=str(path), raw_dir=str(path.parent))
    with pytest.raises(WarehouseLockedError) as error, resource.connect(read_only=read_only):
        pass
    message = str(error.value)
    assert f"warehouse {path} is locked by another process" in message
    assert f"pid {pid}" in message
    assert "a build or a BI tool holds it" in message
    assert "BI tools should read the published file CDP_PUBLISH" in message
    # Still a DuckDB error, so callers that tolerate an unreadable warehouse keep doing so.
    assert isinstance(error.value, duckdb.Error)


def test_the_published_file_stays_readable_while_the_warehouse_is_locked(
    locked_warehouse, tmp_path
):
    from orchestration.publish import read_build_info

    path, _ = locked_warehouse
    published = tmp_path / "analytics.duckdb"
    with duckdb.connect(str(published)) as conn:
        conn.execute("create schema marts")
        conn.execute(
            "create table marts.build_info as select 'b1' as build_id, "
            "timestamp '2026-01-01' as published_at, 'sessions' as table_name, 3 as row_count"
        )
    assert read_build_info(published)["build_id"] == "b1"


def test_the_publish_path_defaults_to_analytics_duckdb_next_to_the_warehouse(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("CDP_PUBLISH", raising=False)
    resource = WarehouseResource(warehouse=str(tmp_path / "w.duckdb"))
    assert resource.publish_path == tmp_path / "analytics.duckdb"
    monkeypatch.setenv("CDP_PUBLISH", str(tmp_path / "bi" / "marts.duckdb"))
    assert resource.publish_path == tmp_path / "bi" / "marts.duckdb"
    explicit = WarehouseResource(warehouse=str(tmp_path / "w.duckdb"), publish=str(tmp_path / "x"))
    assert explicit.publish_path == tmp_path / "x"


def test_the_dagster_yaml_template_allows_one_run_and_one_warehouse_step_at_a_time(tmp_path):
    from dagster._core.instance.config import dagster_instance_config

    template = REPO_ROOT / "deploy" / "dagster.yaml"
    config = yaml.safe_load(template.read_text())
    assert config["concurrency"]["runs"]["max_concurrent_runs"] == 1
    assert config["concurrency"]["pools"]["default_limit"] == 1
    assert config["freshness"]["enabled"] is True
    # Dagster validates it as an instance configuration (the operations tests and the UI test
    # run a real instance from it).
    (tmp_path / "dagster.yaml").write_text(template.read_text())
    validated, _ = dagster_instance_config(str(tmp_path))
    assert validated["concurrency"]["pools"]["default_limit"] == 1


def test_every_step_that_writes_the_warehouse_is_in_the_warehouse_pool():
    repo = defs.get_repository_def()
    job = repo.get_job("cdp_nightly")
    pools = {node.name: node.definition.pool for node in job.graph.nodes}
    for step in ("raw__events", "cdp_dbt_models", "published__marts"):
        assert pools[step] == WAREHOUSE_POOL, step


def _assert_one_clear_line(result) -> None:
    assert result.exit_code == 1
    assert "Traceback" not in result.output and "Execution of step" not in result.output
    lines = result.output.strip().splitlines()
    errors = [i for i, line in enumerate(lines) if line.startswith("error:")]
    assert len(errors) == 1, result.output  # one error, the cause
    assert lines[errors[0]].startswith("error: warehouse ")
    assert "is locked by another process" in " ".join(lines[errors[0]:])
    # before it at most the line (wrapped) that says what the build was going to do
    assert all(line.startswith("building ") or not line.startswith(" ")
               for line in lines[:errors[0]][:1]), result.output
    assert "Dependencies for step" not in result.output and "warning:" not in result.output


def test_a_build_against_a_warehouse_another_process_holds_says_so_in_one_line(
    locked_warehouse, tmp_path
):
    from click.testing import CliRunner

    from orchestration.cli import main
    from orchestration.generator import generate

    path, _ = locked_warehouse
    generate(tmp_path / "raw", days=1, customers=5, seed=1, start=dt.date(2026, 3, 1))
    result = CliRunner().invoke(
        main, ["build", "--raw-dir", str(tmp_path / "raw"), "--warehouse", str(path)]
    )
    _assert_one_clear_line(result)


def test_a_lock_taken_while_the_build_runs_is_the_first_and_only_cause(tmp_path, monkeypatch):
    """Another build takes the warehouse after this one planned its days: the job's steps
    fail on the lock, and the cause is printed first, once, without the steps' noise."""
    from click.testing import CliRunner

    from orchestration.cli import main
    from orchestration.defs import runner
    from orchestration.generator import generate

    generate(tmp_path / "raw", days=1, customers=5, seed=1, start=dt.date(2026, 3, 1))
    path = tmp_path / "warehouse.duckdb"
    holders = []
    plan = runner.plan_days

    def plan_then_lose_the_lock(*args, **kwargs):
        days = plan(*args, **kwargs)
        holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert holder.stdout.readline().strip() == "holding"
        holders.append(holder)
        return days

    monkeypatch.setattr(runner, "plan_days", plan_then_lose_the_lock)
    try:
        result = CliRunner().invoke(
            main, ["build", "--raw-dir", str(tmp_path / "raw"), "--warehouse", str(path)]
        )
    finally:
        for holder in holders:
            holder.stdin.close()
            holder.wait(timeout=30)
    assert holders, "the build never got to plan its days"
    _assert_one_clear_line(result)


@pytest.mark.parametrize("command", [
    ["explain", "--email", "a@b.example"],
    ["forget", "--email", "a@b.example"],
    ["export", "--email", "a@b.example", "--out", "x.json"],
    ["audiences"],
])
def test_every_command_that_meets_a_held_warehouse_says_so_in_one_line(
    locked_warehouse, command, tmp_path, monkeypatch
):
    from click.testing import CliRunner

    from orchestration.cli import main

    path, pid = locked_warehouse
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, [*command, "--warehouse", str(path)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    text = " ".join(result.output.split())
    assert text.startswith(f"error: warehouse {path} is locked by another process (pid {pid}")
