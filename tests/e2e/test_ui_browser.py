"""The Dagster UI after `cdp demo`, in a real browser: what an operator looks for on the morning
after. `cdp demo` runs in a temporary folder and records its run in a temporary instance, `cdp ui`
serves that instance, and headless Chromium checks the asset graph with its checks, the demo's
run, raw/events' partitions (from the first demo day, filled for every demo day) with each day's
row counts, a mart's columns and types, and the checks' descriptions and history.

With CDP_UPDATE_SCREENSHOT=1 the test writes the README's pictures (docs/img/); otherwise they go
to the test's temp folder, so a test run never dirties the work tree. Needs Debian's Chromium
(`apt-get install -y chromium`; .ci/run installs it)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.parse
from pathlib import Path

import duckdb
import pytest
from support.dagster_server import (
    REPO_ROOT,
    free_port,
    graphql,
    running_ui,
    server_env,
    wait_until_code_location_loaded,
)

from orchestration.defs.groups import LAYERS

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
IMAGES = REPO_ROOT / "docs" / "img"
DEMO_DAYS = 30
# The ingestion asset, the main marts and the published marts, on the global asset lineage page.
MARTS = ("identity_graph", "sessions", "page_views", "page_metrics_daily", "customer_360", "orders")
SELECTION = " or ".join(
    ['key:"raw/events"', *(f'key:"marts/{mart}"' for mart in MARTS), 'key:"published/marts"']
)
VIEWPORT = {"width": 1800, "height": 1450}
# Below about 0.6 the graph draws nodes as bare names; above it they show status and checks.
DETAILED_ZOOM = (0.61, 0.68)
TIMEOUT_MS = 180_000

RUNS = """{ runsOrError { ... on Runs { results { runId jobName status tags { key value } } } } }"""
MODEL_COLUMNS = """{ assetNodes {
  assetKey { path } computeKind kinds
  assetMaterializations(limit: 1) { metadataEntries { label
    ... on TableSchemaMetadataEntry { schema { columns { name type } } } } }
} }"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> dict:
    """`cdp demo` (its defaults but for fewer customers) in a temp folder, then `cdp ui` on the
    instance it recorded its run in."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's Chromium (apt-get install -y "
                    "chromium; .ci/run does) to run the browser check")
    root = tmp_path_factory.mktemp("demo")
    env = server_env(
        CDP_RAW_DIR=str(root / "raw"), CDP_WAREHOUSE=str(root / "warehouse.duckdb"),
        DAGSTER_HOME=str(root / "dagster_home"),
    )
    cdp = shutil.which("cdp", path=str(Path(sys.executable).parent)) or "cdp"
    done = subprocess.run([cdp, "demo", "--days", str(DEMO_DAYS), "--customers", "500"],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout + done.stderr
    days = sorted(p.name for p in (root / "raw").iterdir() if p.is_dir())
    assert len(days) == DEMO_DAYS
    port = str(free_port())
    with running_ui([cdp, "ui", "--port", port], env, root / "cdp-ui.log") as url:
        wait_until_code_location_loaded(url)
        yield {"url": url, "root": root, "days": days, "warehouse": root / "warehouse.duckdb"}


@pytest.fixture(scope="module")
def browser(demo):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = chromium.new_context(viewport=VIEWPORT)
        # Open every asset group on the lineage page (the UI keeps that in local storage).
        expanded = json.dumps({"expanded": ",".join(f"global@global:{g}" for g in LAYERS)})
        context.add_init_script(
            "localStorage.setItem('asset-graph-open-graph-nodes-global-__GLOBAL__', "
            f"{json.dumps(expanded)});"
        )
        yield context
        chromium.close()


def _screenshot(name: str, tmp_path: Path) -> Path:
    return (IMAGES if os.environ.get("CDP_UPDATE_SCREENSHOT") else tmp_path) / name


def _open(context, url: str, wait_for: str):
    page = context.new_page()
    page.goto(url, wait_until="domcontentloaded", timeout=TIMEOUT_MS)
    page.get_by_text(wait_for).first.wait_for(timeout=TIMEOUT_MS)
    page.wait_for_timeout(2000)
    skip = page.get_by_role("button", name="Skip")  # a newsletter prompt on first visit
    if skip.count() and skip.first.is_visible():
        skip.first.click()
        page.wait_for_timeout(500)
    return page


def _save(page, path: Path, height: int = VIEWPORT["height"]) -> None:
    """A screenshot of the page's top `height` pixels."""
    path.parent.mkdir(parents=True, exist_ok=True)
    page.mouse.move(VIEWPORT["width"] - 5, VIEWPORT["height"] - 5)  # no hover highlight
    page.wait_for_timeout(500)
    page.screenshot(path=str(path), clip={"x": 0, "y": 0, "width": VIEWPORT["width"],
                                          "height": height})
    assert 20_000 < path.stat().st_size < 1_500_000, path


def test_the_demo_run_is_recorded_with_its_partition_range(demo):
    runs = graphql(demo["url"], RUNS)["runsOrError"]["results"]
    nightly = [run for run in runs if run["jobName"] == "cdp_nightly"]
    assert len(nightly) == 1 and nightly[0]["status"] == "SUCCESS", runs
    tags = {tag["key"]: tag["value"] for tag in nightly[0]["tags"]}
    assert tags["dagster/asset_partition_range_start"] == demo["days"][0]
    assert tags["dagster/asset_partition_range_end"] == demo["days"][-1]


def test_the_asset_graph_shows_ingestion_marts_published_marts_and_checks(
    demo, browser, tmp_path
):
    page = _open(browser, f"{demo['url']}/asset-groups~{urllib.parse.quote(SELECTION, safe='')}/",
                 "page_metrics_daily")
    _frame_the_graph(page)
    for name in ("events", "marts", *MARTS):
        assert page.get_by_text(name, exact=True).first.is_visible(), name
    # published/marts is the node `marts` with the Parquet kind
    assert page.get_by_text("Parquet", exact=True).first.is_visible()
    # every node shows its checks: the dbt tests and raw/events' source tests, passed
    assert page.get_by_text("Asset checks", exact=True).count() == len(MARTS) + 2
    passed = page.get_by_text(re.compile(r"^\d+ / \d+ Passed$"))
    assert passed.count() == len(MARTS) + 1  # published/marts has no checks
    body = page.inner_text("body")
    assert "Failed" not in body and "Latest event" in body
    _save(page, _screenshot("asset-graph.png", tmp_path))


def test_partitions_start_at_the_first_demo_day_and_every_demo_day_is_loaded(
    demo, browser, tmp_path
):
    days = demo["days"]
    day = days[len(days) // 2]
    page = _open(browser, f"{demo['url']}/assets/raw/events?view=partitions&partition={day}",
                 "Materialized (")
    body = page.inner_text("body")
    # the partitions run from the first demo day to today, whose dump has not come yet
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert f"{DEMO_DAYS + 1} Partitions Selected" in body
    assert f"Materialized ({DEMO_DAYS})" in body and "Missing (1)" in body
    assert "Failed (0)" in body
    assert days[0] in body and today in body and "2015" not in body
    # the selected day's own numbers: its rows and its load's line accounting
    with duckdb.connect(str(demo["warehouse"]), read_only=True) as conn:
        rows, loaded, duplicates = conn.execute(
            "select (select count(*) from raw.events where received_date = ?), loaded, "
            "duplicates from raw.load_log where received_date = ?", [day, day]).fetchone()
    table = _metadata(page)
    assert _number(table["dagster/row_count"]) == rows
    assert _number(table["events_loaded"]) == loaded
    assert _number(table["duplicates"]) == duplicates
    assert {"quarantined", "lines_read", "suppressed"} <= set(table)
    _save(page, _screenshot("partitions.png", tmp_path))


def test_a_staging_model_counts_the_rows_of_each_received_day(demo, browser):
    day = demo["days"][1]
    page = _open(
        browser,
        f"{demo['url']}/assets/staging/stg_events__pages?view=partitions&partition={day}",
        "Materialized (",
    )
    with duckdb.connect(str(demo["warehouse"]), read_only=True) as conn:
        (rows,) = conn.execute("select count(*) from staging.stg_events__pages "
                               "where received_date = ?", [day]).fetchone()
    assert _number(_metadata(page)["dagster/row_count"]) == rows


def test_every_dbt_model_shows_its_columns_and_types(demo, browser):
    nodes = graphql(demo["url"], MODEL_COLUMNS)["assetNodes"]
    dbt_models = [n for n in nodes if "dbt" in n["kinds"] and n["assetMaterializations"]]
    assert len(dbt_models) > 30
    for node in dbt_models:
        schemas = [e["schema"] for e in node["assetMaterializations"][0]["metadataEntries"]
                   if e["label"] == "dagster/column_schema"]
        assert schemas and schemas[0]["columns"], node["assetKey"]
        assert all(c["type"] not in ("", "?") for c in schemas[0]["columns"]), node["assetKey"]
    page = _open(browser, f"{demo['url']}/assets/marts/sessions", "Columns")
    body = page.inner_text("body")
    columns = body[body.index("Column name"):]
    for name, data_type in (("session_id", "VARCHAR"), ("started_at", "TIMESTAMP"),
                            ("is_bounce", "BOOLEAN"), ("duration_seconds", "DOUBLE")):
        assert re.search(rf"{name}\s+{data_type}", columns), (name, data_type)


def test_every_check_has_a_description_and_a_history(demo, browser, tmp_path):
    base = f"{demo['url']}/assets/marts/sessions?view=checks&checkDetail="
    page = _open(browser, base + "unique_sessions_session_id", "About")
    assert "is unique: no two rows share a value" in page.inner_text("body")
    page = _open(browser, base + "assert_session_views_match", "About")
    assert "equal the session's rows in page_views and screen_views" in page.inner_text("body")
    page.get_by_text("Execution history", exact=True).first.click()
    page.get_by_text("Passed", exact=True).first.wait_for(timeout=TIMEOUT_MS)
    page.wait_for_timeout(1000)
    # the demo's evaluation, then the run's per-day plans of it (shown as skipped)
    _save(page, _screenshot("check-history.png", tmp_path), height=620)


def _metadata(page) -> dict[str, str]:
    """The metadata table of the selected partition, label -> value as shown."""
    text = page.inner_text("body")
    section = text[text.index("Metadata"):]
    cells = [line.strip() for line in section.splitlines() if line.strip()]
    return dict(zip(cells[1::2], cells[2::2], strict=False))


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def _frame_the_graph(page) -> None:
    """Hide the side panels, fit the graph (double-click), then zoom out just enough for the
    whole selection to fit with detailed nodes."""
    page.get_by_role("button", name="Hide navigation").click()
    page.locator("input[placeholder^='Jump to']").locator("xpath=following::button[1]").click()
    page.wait_for_timeout(1500)
    page.mouse.dblclick(VIEWPORT["width"] - 60, 130)  # on the background: zoom to fit
    page.wait_for_timeout(1500)
    zoom = 1.0
    for _ in range(20):
        zoom = float(page.evaluate("localStorage.getItem('defaultZoom')") or 1)
        if DETAILED_ZOOM[0] <= zoom <= DETAILED_ZOOM[1]:
            break
        button = "zoom_out" if zoom > DETAILED_ZOOM[1] else "zoom_in"
        page.locator(f'[aria-label="{button}"]').first.click()
        page.wait_for_timeout(300)
    assert DETAILED_ZOOM[0] <= zoom <= DETAILED_ZOOM[1], zoom
    page.wait_for_timeout(1500)
