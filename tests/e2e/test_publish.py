"""Published marts for BI: a read-only DuckDB file and Parquet files, swapped in atomically.

A reader in another process never sees an error or half a build while builds are published; a
publish that fails half-way, or a run whose dbt step fails, leaves the previous files as they
were.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from support.ops_warehouse import built_warehouse

from orchestration import publish
from orchestration.defs.publish import published_marts
from orchestration.defs.resources import WarehouseResource
from orchestration.defs.runner import BuildFailed, run_nightly_job
from orchestration.publish import PublishError, publish_marts, read_build_info

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return built_warehouse(tmp_path_factory)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _snapshot(folder: Path) -> dict[str, str]:
    """Name -> content hash of every file in a folder tree (temporary files included)."""
    return {
        str(p.relative_to(folder)): _digest(p) for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _warehouse_marts(warehouse: Path) -> dict[str, int]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        tables = publish.mart_relations(conn)
        return {t: conn.execute(f'select count(*) from marts."{t}"').fetchone()[0] for t in tables}


def test_the_nightly_job_publishes_every_mart_and_only_the_marts(built):
    assert built.published.exists()
    expected = _warehouse_marts(built.warehouse)
    assert {"customer_360", "sessions", "page_views", "page_metrics_daily", "identity_graph",
            "identity_conflicts", "orders"} <= set(expected)
    with duckdb.connect(str(built.published), read_only=True) as conn:
        schemas = {r[0] for r in conn.execute(
            "select distinct schema_name from duckdb_tables() union all "
            "select distinct schema_name from duckdb_views() where not internal"
        ).fetchall()}
        published = {
            t: conn.execute(f'select count(*) from marts."{t}"').fetchone()[0]
            for t in publish.mart_relations(conn)
        }
        comment = conn.execute(
            "select comment from duckdb_columns() "
            "where table_name = 'sessions' and column_name = 'is_bounce'"
        ).fetchone()[0]
    assert schemas == {"marts"}  # no raw, staging, intermediate or privacy
    assert published == expected
    assert read_build_info(built.published)["row_counts"] == expected
    assert comment and "no track events" in comment  # dbt column docs travel with the data
    for table, rows in expected.items():
        parquet = built.parquet_dir / f"{table}.parquet"
        count = duckdb.sql(f"select count(*) from read_parquet('{parquet}')").fetchall()[0][0]
        assert count == rows, table
    assert (built.parquet_dir / "build_info.parquet").exists()


def test_the_publish_asset_reports_numbers_that_plot_over_time(built, tmp_path):
    resource = WarehouseResource(
        warehouse=str(built.warehouse), raw_dir=str(built.raw),
        publish=str(tmp_path / "analytics.duckdb"),
    )
    result = dg.materialize(
        [published_marts], resources={"warehouse": resource}  # unpartitioned: the whole marts
    )
    assert result.success
    [mat] = result.asset_materializations_for_node("published__marts")
    meta = {key: value.value for key, value in mat.metadata.items()}
    with duckdb.connect(str(built.warehouse), read_only=True) as conn:
        customers, revenue = conn.execute(
            "select count(*), sum(revenue) from marts.customer_360"
        ).fetchone()
        sessions = conn.execute("select count(*) from marts.sessions").fetchone()[0]
        screen_views = conn.execute("select count(*) from marts.screen_views").fetchone()[0]
        entrances, bounces, conversions = conn.execute(
            "select count(*), count(*) filter (where s.is_bounce), "
            "count(*) filter (where s.has_conversion) from marts.sessions as s "
            "where s.page_views > 0"
        ).fetchone()
    assert meta["customers"] == customers
    assert meta["sessions"] == sessions
    assert meta["bounce_rate"] == pytest.approx(bounces / entrances, abs=1e-6)
    assert meta["conversion_rate"] == pytest.approx(conversions / entrances, abs=1e-6)
    assert meta["revenue"] == pytest.approx(float(revenue), abs=0.01)
    assert meta["screen_views"] == screen_views > 0
    for key in ("customers", "sessions", "orders", "page_views", "screen_views",
                "app_sessions"):
        assert isinstance(meta[key], int), key
    for key in ("conversion_rate", "bounce_rate", "revenue"):
        assert isinstance(meta[key], float), key
    assert (tmp_path / "parquet" / "sessions.parquet").exists()


READER = textwrap.dedent(
    """
    import json, os, sys, duckdb
    path, stop_file = sys.argv[1], sys.argv[2]
    report = {"iterations": 0, "errors": [], "inconsistent": [], "builds": []}
    print("ready", flush=True)
    while not os.path.exists(stop_file):
        try:
            with duckdb.connect(path, read_only=True) as conn:
                info = conn.execute(
                    "select build_id, table_name, row_count from marts.build_info"
                ).fetchall()
                sessions, session_page_views = conn.execute(
                    "select count(*), sum(page_views) from marts.sessions"
                ).fetchone()
                page_views = conn.execute("select count(*) from marts.page_views").fetchone()[0]
        except Exception as exc:
            report["errors"].append(repr(exc))
            continue
        report["iterations"] += 1
        build_ids = sorted({row[0] for row in info})
        counts = {row[1]: row[2] for row in info}
        seen = {"sessions": sessions, "page_views": page_views}
        if (len(build_ids) != 1 or any(counts.get(t) != n for t, n in seen.items())
                or session_page_views != page_views):
            report["inconsistent"].append([build_ids, counts, seen, session_page_views])
        if build_ids and build_ids[0] not in report["builds"]:
            report["builds"].append(build_ids[0])
    print(json.dumps(report), flush=True)
    """
)


def _smaller_copy(warehouse: Path, dest: Path) -> Path:
    """A copy of the warehouse with a third of the sessions (and their page views) removed."""
    shutil.copy(warehouse, dest)
    with duckdb.connect(str(dest)) as conn:
        conn.execute("""
            create temp table dropped as
            select session_id from marts.sessions where hash(session_id) % 3 = 0
        """)
        conn.execute("delete from marts.page_views where session_id in (select * from dropped)")
        conn.execute("delete from marts.sessions where session_id in (select * from dropped)")
    return dest


def test_a_reader_in_another_process_never_sees_an_error_or_half_a_build(built, tmp_path):
    small = _smaller_copy(built.warehouse, tmp_path / "small.duckdb")
    target, parquet = tmp_path / "bi" / "analytics.duckdb", tmp_path / "bi" / "parquet"
    publish_marts(built.warehouse, target, parquet)
    stop = tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(target), str(stop)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "ready"
        published = []
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline or len(published) < 6:
            source = small if len(published) % 2 else built.warehouse
            published.append(publish_marts(source, target, parquet)["build_id"])
        stop.touch()
        out, err = reader.communicate(timeout=60)
    finally:
        if reader.poll() is None:
            reader.kill()
    report = json.loads(out.strip().splitlines()[-1])
    assert report["errors"] == [], err
    assert report["inconsistent"] == []
    assert report["iterations"] >= 20
    assert len(report["builds"]) >= 3  # it really read several builds while they were swapped
    assert set(report["builds"]) <= set(published) | {report["builds"][0]}
    assert not list(target.parent.glob(".*.tmp")) and not list(parquet.glob(".*.tmp"))


@pytest.mark.parametrize("failing_step", ["_write_comments", "_fsync"])
def test_a_publish_that_fails_half_way_leaves_the_previous_files(
    built, tmp_path, monkeypatch, failing_step
):
    target, parquet = tmp_path / "analytics.duckdb", tmp_path / "parquet"
    first = publish_marts(built.warehouse, target, parquet)
    before = _snapshot(tmp_path)

    def boom(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(publish, failing_step, boom)
    with pytest.raises(PublishError, match="previously published files are unchanged"):
        publish_marts(built.warehouse, target, parquet)
    assert _snapshot(tmp_path) == before  # same files, same bytes, no temporary files left
    assert read_build_info(target)["build_id"] == first["build_id"]


def test_publishing_refuses_to_overwrite_the_warehouse(built, tmp_path):
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(built.warehouse, copy)
    with pytest.raises(PublishError, match="must not be the warehouse"):
        publish_marts(copy, copy, tmp_path / "parquet")


def test_a_run_whose_dbt_step_fails_skips_publishing_and_keeps_the_published_marts(
    built, tmp_path, monkeypatch
):
    warehouse, target = tmp_path / "warehouse.duckdb", tmp_path / "analytics.duckdb"
    shutil.copy(built.warehouse, warehouse)
    shutil.copy(built.published, target)
    before = _digest(target)
    monkeypatch.setenv("CDP_PUBLISH", str(target))
    # dbt cannot start: no such target in profiles.yml (the raw load before it succeeds).
    monkeypatch.setenv("CDP_DBT_TARGET", "no_such_target")
    with pytest.raises(BuildFailed, match="cdp_dbt_models") as failure:
        run_nightly_job(built.raw, warehouse, built.days[-1:], echo=lambda _line: None)
    assert "published__marts" not in str(failure.value)  # skipped, not failed
    assert _digest(target) == before
    assert not (tmp_path / "parquet").exists()
