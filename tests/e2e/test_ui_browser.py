"""The Dagster UI in a real browser: `dagster dev` on a free port, headless Chromium on the global
asset lineage page. It shows the ingestion asset, the marts, the published marts and their
checks (as recorded by a nightly run), and the test saves the screenshot the README shows.

Needs Debian's Chromium (`apt-get install -y chromium`; .ci/run installs it)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from support.ops_warehouse import REPO_ROOT, built_warehouse

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# The README's picture is refreshed only on request (CDP_UPDATE_SCREENSHOT=1), so a test run
# never dirties the work tree; otherwise the screenshot goes to the test's temp folder.
README_SCREENSHOT = REPO_ROOT / "docs" / "img" / "asset-graph.png"
# The ingestion asset, the main marts and the published marts, on the global asset lineage page.
MARTS = ("identity_graph", "sessions", "page_views", "page_metrics_daily", "customer_360", "orders")
SELECTION = " or ".join(
    ['key:"raw/events"', *(f'key:"marts/{mart}"' for mart in MARTS), 'key:"published/marts"']
)
GROUPS = ("ingestion", "staging", "identity", "sessions", "marts")
VIEWPORT = {"width": 1800, "height": 1450}
# Below about 0.6 the graph draws nodes as bare names; above it they show status and checks.
DETAILED_ZOOM = (0.61, 0.68)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_server(url: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dagster dev exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=2):
                return
        except OSError:
            time.sleep(1)
    pytest.fail(f"dagster dev did not answer /server_info in {timeout:.0f}s:\n"
                f"{log.read_text()[-3000:]}")


def _stop_group(process: subprocess.Popen) -> None:
    """Stop dagster dev and everything it started (webserver, daemon, code servers)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        time.sleep(1)  # the children finish their own shutdown
        os.killpg(process.pid, 0)  # raises when the whole group is gone
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def dagster_ui(tmp_path_factory):
    """`dagster dev` on the shared built warehouse and its Dagster instance (one recorded run)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's Chromium (apt-get install -y "
                    "chromium; .ci/run does) to run the browser check")
    built = built_warehouse(tmp_path_factory)
    port = _free_port()
    log = built.root / "dagster-dev.log"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(built.dagster_home),
        "CDP_WAREHOUSE": str(built.warehouse),
        "CDP_RAW_DIR": str(built.raw),
        "CDP_PUBLISH": str(built.published),
        # the code location checks that `dbt` is on PATH
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "dagster", "dev", "-h", "127.0.0.1", "-p", str(port)],
            cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped as a whole below
        )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_for_server(url, process, log, timeout=240)
        yield url
    finally:
        _stop_group(process)


def test_the_asset_graph_shows_ingestion_marts_published_marts_and_checks(dagster_ui, tmp_path):
    screenshot = (
        README_SCREENSHOT if os.environ.get("CDP_UPDATE_SCREENSHOT")
        else tmp_path / "asset-graph.png"
    )
    from playwright.sync_api import sync_playwright

    expanded = json.dumps({"expanded": ",".join(f"global@global:{g}" for g in GROUPS)})
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=VIEWPORT)
            # Open every asset group (the UI keeps that in local storage).
            context.add_init_script(
                "localStorage.setItem('asset-graph-open-graph-nodes-global-__GLOBAL__', "
                f"{json.dumps(expanded)});"
            )
            page = context.new_page()
            page.goto(
                f"{dagster_ui}/asset-groups~{urllib.parse.quote(SELECTION, safe='')}/",
                wait_until="domcontentloaded", timeout=120_000,
            )
            page.get_by_text("Global asset lineage").wait_for(timeout=120_000)
            # The code location loads in the background: wait for the graph's nodes.
            page.get_by_text("page_metrics_daily", exact=True).wait_for(timeout=180_000)
            page.wait_for_timeout(3000)
            skip = page.get_by_role("button", name="Skip")  # a newsletter prompt on first visit
            if skip.is_visible():
                skip.click()
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

            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot))
        finally:
            browser.close()
    assert 20_000 < screenshot.stat().st_size < 1_000_000


def _frame_the_graph(page) -> None:
    """Hide the side panels, fit the graph (double-click), then zoom out just enough for the
    whole selection to fit with detailed nodes."""
    page.get_by_role("button", name="Hide navigation").click()
    page.locator("input[placeholder^='Jump to']").locator("xpath=following::button[1]").click()
    page.wait_for_timeout(1500)
    page.mouse.dblclick(VIEWPORT["width"] - 60, 130)  # on the background: zoom to fit
    page.wait_for_timeout(1500)
    for _ in range(20):
        zoom = float(page.evaluate("localStorage.getItem('defaultZoom')") or 1)
        if DETAILED_ZOOM[0] <= zoom <= DETAILED_ZOOM[1]:
            break
        button = "zoom_out" if zoom > DETAILED_ZOOM[1] else "zoom_in"
        page.locator(f'[aria-label="{button}"]').first.click()
        page.wait_for_timeout(300)
    assert DETAILED_ZOOM[0] <= zoom <= DETAILED_ZOOM[1], zoom
    page.mouse.move(VIEWPORT["width"] - 5, VIEWPORT["height"] - 5)  # no hover highlight
    page.wait_for_timeout(1500)
