"""A backfill of a date range, launched as the UI launches it (GraphQL `launchPartitionBackfill`
with the selected assets and the range's days) against `dagster dev` on a fresh instance and a
fresh warehouse: the daemon runs it (one run for the days, single-run backfill policy, then the
unpartitioned assets after them) and every partition of every asset succeeds."""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import time

import pytest
from support.dagster_server import (
    REPO_ROOT,
    free_port,
    graphql,
    running_ui,
    server_env,
    wait_until_code_location_loaded,
)

pytestmark = pytest.mark.slow

FIRST_DAY = dt.date(2026, 4, 6)
DAYS = 3

ASSET_KEYS = """{ assetNodes { assetKey { path } isMaterializable isPartitioned } }"""
LAUNCH = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
  }
}"""
STATUS = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill {
      status
      runs(limit: 20) { runId status }
      assetBackfillData {
        assetBackfillStatuses {
          __typename
          ... on AssetPartitionsStatusCounts {
            assetKey { path } numPartitionsTargeted numPartitionsMaterialized
            numPartitionsFailed numPartitionsInProgress
          }
          ... on UnpartitionedAssetStatus {
            assetKey { path } materialized failed inProgress
          }
        }
      }
    }
    ... on PythonError { message }
  }
}"""
PARTITIONS = """
query Partitions($key: AssetKeyInput!) {
  assetNodeOrError(assetKey: $key) {
    ... on AssetNode { partitionKeys partitionStats { numMaterialized numPartitions numFailed } }
  }
}"""


@pytest.fixture(scope="module")
def dagster_dev(tmp_path_factory):
    """`dagster dev` on dumps of three days, an empty warehouse and a fresh instance."""
    from orchestration.generator import generate

    root = tmp_path_factory.mktemp("backfill")
    raw, home = root / "raw", root / "dagster_home"
    generate(raw, days=DAYS, customers=40, seed=5, start=FIRST_DAY)
    home.mkdir()
    shutil.copy(REPO_ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    env = server_env(
        DAGSTER_HOME=str(home), CDP_RAW_DIR=str(raw), CDP_WAREHOUSE=str(root / "warehouse.duckdb"),
        CDP_PUBLISH=str(root / "analytics.duckdb"), CDP_EXPORT_DIR=str(root / "exports"),
    )
    port = str(free_port())
    command = [sys.executable, "-m", "dagster", "dev", "--host", "127.0.0.1", "--port", port]
    with running_ui(command, env, root / "dagster-dev.log") as url:
        wait_until_code_location_loaded(url)
        yield url


def test_a_backfill_of_a_date_range_materializes_every_partition(dagster_dev):
    url = dagster_dev
    days = [(FIRST_DAY + dt.timedelta(days=i)).isoformat() for i in range(DAYS)]
    nodes = graphql(url, ASSET_KEYS)["assetNodes"]
    selection = [{"path": node["assetKey"]["path"]} for node in nodes if node["isMaterializable"]]
    # The partitions start at the first day folder: the range is the whole partition set.
    raw_events = {"path": ["raw", "events"]}
    keys = graphql(url, PARTITIONS, {"key": raw_events})["assetNodeOrError"]["partitionKeys"]
    assert keys[:DAYS] == days

    launched = graphql(url, LAUNCH, {"params": {
        "assetSelection": selection, "partitionNames": days,
        "tags": [{"key": "test", "value": "backfill"}],
    }})["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill = _wait_for_backfill(url, launched["backfillId"], timeout=900)

    assert backfill["status"] == "COMPLETED_SUCCESS", backfill
    assert backfill["runs"] and all(run["status"] == "SUCCESS" for run in backfill["runs"])
    statuses = backfill["assetBackfillData"]["assetBackfillStatuses"]
    partitioned = [s for s in statuses if s["__typename"] == "AssetPartitionsStatusCounts"]
    whole = [s for s in statuses if s["__typename"] == "UnpartitionedAssetStatus"]
    assert {tuple(s["assetKey"]["path"]) for s in partitioned} >= {
        ("raw", "events"), ("staging", "stg_events__pages")}
    for status in partitioned:
        assert status["numPartitionsTargeted"] == DAYS, status
        assert status["numPartitionsMaterialized"] == DAYS, status
        assert status["numPartitionsFailed"] == 0, status
    assert {tuple(s["assetKey"]["path"]) for s in whole} >= {
        ("marts", "sessions"), ("published", "marts")}
    for status in whole:
        assert status["materialized"] and not status["failed"], status
    stats = graphql(url, PARTITIONS, {"key": raw_events})["assetNodeOrError"]["partitionStats"]
    assert stats["numMaterialized"] == DAYS and stats["numFailed"] == 0


def _wait_for_backfill(url: str, backfill_id: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    backfill: dict = {}
    while time.monotonic() < deadline:
        backfill = graphql(url, STATUS, {"id": backfill_id})["partitionBackfillOrError"]
        if backfill.get("status") not in ("REQUESTED", "CANCELING", "FAILING"):
            return backfill
        time.sleep(5)
    pytest.fail(f"the backfill did not finish in {timeout:.0f}s: {backfill}")
