"""The semantic layer gives the marts' numbers: `mf query` (MetricFlow, the dbt semantic layer's
engine) on the published marts equals SQL over marts.page_metrics_daily, marts.sessions,
marts.orders and marts.customer_360. It reads the published file (profile output `published`),
so it answers while a build holds the warehouse, and its rows come ordered by day."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest
from support.ops_warehouse import REPO_ROOT, built_warehouse, dbt_docs

pytestmark = pytest.mark.slow

METRICS = ["bounce_rate", "conversion_rate", "sessions", "revenue", "orders", "customers"]


@pytest.fixture(scope="module")
def mf_rows(tmp_path_factory):
    """`mf query` of the metrics by day over the built days, ordered by day, as
    {day: {metric: value}} in the order received, while another process would find the
    warehouse locked; with the published file the numbers are checked against."""
    built = built_warehouse(tmp_path_factory)
    # The dbt project with target/semantic_manifest.json (mf reads it from <project>/target),
    # parsed for a warehouse file named like the built one (its relations name the database
    # after the file).
    docs = dbt_docs(tmp_path_factory)
    project = docs.project
    assert (project / "target" / "semantic_manifest.json").exists()
    # A warehouse held by a writer (as during a build): mf must not need to open it.
    locked = project.parent / "locked" / built.warehouse.name
    locked.parent.mkdir()
    shutil.copy(built.warehouse, locked)
    env = {
        **os.environ, "CDP_DBT_TARGET": "published", "CDP_WAREHOUSE": str(locked),
        "CDP_PUBLISH": str(built.published), "DBT_PROFILES_DIR": str(project),
    }
    out = project.parent / "metrics.csv"
    command = [
        str(Path(shutil.which("mf") or REPO_ROOT / ".venv" / "bin" / "mf")), "query",
        "--metrics", ",".join(METRICS), "--group-by", "metric_time__day",
        "--order", "metric_time__day",
        "--start-time", built.days[0], "--end-time", built.days[-1], "--csv", str(out),
    ]
    with duckdb.connect(str(locked)):  # holds the write lock while mf runs
        done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True,
                              timeout=300)
    assert done.returncode == 0 and out.exists(), done.stdout + done.stderr
    rows = {}
    with out.open() as f:
        for row in csv.DictReader(f):
            day = row.pop("metric_time__day")[:10]
            rows[day] = {k: float(v) if v not in ("", None) else None for k, v in row.items()}
    return built, built.published, rows


def test_mf_query_reads_the_published_file_and_orders_its_rows(mf_rows):
    built, _published, rows = mf_rows
    assert list(rows) == sorted(rows) == built.days


def _sql(database: Path, query: str) -> dict[str, tuple]:
    with duckdb.connect(str(database), read_only=True) as conn:
        return {str(r[0]): tuple(r[1:]) for r in conn.execute(query).fetchall()}


def test_bounce_and_conversion_rate_by_day_equal_page_metrics_daily(mf_rows):
    built, published, rows = mf_rows
    expected = _sql(published, """
        select date, sum(bounces) / sum(entrances), sum(conversions) / sum(entrances)
        from marts.page_metrics_daily group by date having sum(entrances) > 0
    """)
    expected = {day: v for day, v in expected.items() if built.days[0] <= day <= built.days[-1]}
    assert expected
    for day, (bounce_rate, conversion_rate) in expected.items():
        assert rows[day]["bounce_rate"] == pytest.approx(bounce_rate, abs=1e-9), day
        assert rows[day]["conversion_rate"] == pytest.approx(conversion_rate, abs=1e-9), day


def test_bounce_rate_over_all_days_equals_the_sessions_mart(mf_rows):
    # Each session with a page view is one entrance; a bounce has exactly one page view.
    built, published, rows = mf_rows
    (bounces, entrances), = _sql(published, f"""
        select 1, count(*) filter (where s.is_bounce), count(*)
        from marts.sessions as s
        inner join marts.page_views as landing
            on landing.session_id = s.session_id and landing.is_landing
        where landing.viewed_date between '{built.days[0]}' and '{built.days[-1]}'
    """).values()
    daily = _sql(published, f"""
        select date, sum(entrances) from marts.page_metrics_daily
        where date between '{built.days[0]}' and '{built.days[-1]}' group by date
    """)
    weighted = sum(rows[day]["bounce_rate"] * n for day, (n,) in daily.items() if n)
    assert weighted == pytest.approx(bounces, abs=1e-6)
    assert sum(n for (n,) in daily.values()) == entrances


def test_sessions_revenue_orders_and_customers_by_day_equal_the_marts(mf_rows):
    built, published, rows = mf_rows
    sessions = _sql(published, "select started_date, count(*) from marts.sessions group by 1")
    orders = _sql(published, """
        select ordered_date, count(*), sum(coalesce(revenue, 0)) from marts.orders group by 1
    """)
    customers = _sql(published, """
        select d.day, (select count(*) from marts.customer_360
                       where cast(first_seen_at as date) <= d.day)
        from (select distinct cast(first_seen_at as date) as day from marts.customer_360) as d
    """)
    for day in built.days:
        assert rows[day]["sessions"] == sessions.get(day, (None,))[0], day
        n_orders, revenue = orders.get(day, (None, None))
        assert rows[day]["orders"] == n_orders, day
        assert rows[day]["revenue"] == pytest.approx(revenue and float(revenue), abs=0.01), day
        if day in customers:
            assert rows[day]["customers"] == customers[day][0], day
    with duckdb.connect(str(published), read_only=True) as conn:
        total = conn.execute("select count(*) from marts.customer_360").fetchone()[0]
        revenue_360 = conn.execute("select sum(revenue) from marts.customer_360").fetchone()[0]
    assert rows[built.days[-1]]["customers"] == total
    assert sum(r["revenue"] or 0 for r in rows.values()) == pytest.approx(float(revenue_360))
