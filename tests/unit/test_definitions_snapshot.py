"""The Dagster definitions match a committed snapshot, so any change to them shows in review.

The snapshot (tests/unit/snapshots/definitions.json) lists every asset with its group, kinds,
owners, partitioning and deps; every asset check; the jobs and the assets they select; the
schedules, sensors and resources. A renamed asset, a lost dbt test, a moved group or a changed
cron fails this test with a diff; when the change is intended, refresh the file with

    CDP_UPDATE_SNAPSHOTS=1 uv run pytest tests/unit/test_definitions_snapshot.py

and commit it with the change. Everything is sorted, so the file only changes when the
definitions do.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from orchestration.definitions import defs

SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.json"
UPDATE_ENV = "CDP_UPDATE_SNAPSHOTS"
REFRESH_COMMAND = f"{UPDATE_ENV}=1 uv run pytest tests/unit/test_definitions_snapshot.py"


def _key(key: dg.AssetKey) -> str:
    return key.to_user_string()


def definitions_snapshot(definitions: dg.Definitions) -> dict[str, Any]:
    """What the code location defines, as plain sorted JSON-able data."""
    repo = definitions.get_repository_def()
    graph = repo.asset_graph
    assets = {}
    for asset_key in graph.get_all_asset_keys():
        node = graph.get(asset_key)
        assets[_key(asset_key)] = {
            "group": node.group_name,
            "kinds": sorted(node.kinds),
            "owners": sorted(node.owners),
            "partitioned": node.partitions_def is not None,
            "deps": sorted(_key(parent) for parent in node.parent_keys),
        }
    checks = sorted(f"{_key(check.asset_key)}: {check.name}" for check in graph.asset_check_keys)
    jobs = {
        job.name: sorted(_key(key) for key in job.asset_layer.selected_asset_keys)
        for job in repo.get_all_jobs()
        # Dagster's implicit job of all assets, not one we define
        if not job.name.startswith("__")
    }
    schedules = {
        schedule.name: {"cron": schedule.cron_schedule, "job": schedule.job_name}
        for schedule in repo.schedule_defs
    }
    sensors = {
        sensor.name: {
            "jobs": sorted(target.job_name for target in sensor.targets),
            "type": sensor.sensor_type.value,
        }
        for sensor in repo.sensor_defs
    }
    return {
        "assets": dict(sorted(assets.items())),
        "asset_checks": checks,
        "jobs": dict(sorted(jobs.items())),
        "schedules": dict(sorted(schedules.items())),
        "sensors": dict(sorted(sensors.items())),
        "resources": sorted(repo.get_top_level_resources()),
    }


def _dump(snapshot: dict[str, Any]) -> str:
    return json.dumps(snapshot, indent=2, sort_keys=True) + "\n"


def test_definitions_match_the_committed_snapshot():
    current = _dump(definitions_snapshot(defs))
    if os.environ.get(UPDATE_ENV) == "1":
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(current)
        pytest.skip(f"{SNAPSHOT.name} rewritten ({UPDATE_ENV}=1); review and commit it")
    assert SNAPSHOT.exists(), f"no snapshot at {SNAPSHOT}; create it with: {REFRESH_COMMAND}"
    committed = SNAPSHOT.read_text()
    if current != committed:
        diff = "".join(
            difflib.unified_diff(
                committed.splitlines(keepends=True),
                current.splitlines(keepends=True),
                fromfile="committed snapshot",
                tofile="current definitions",
            )
        )
        pytest.fail(
            "The Dagster definitions differ from tests/unit/snapshots/definitions.json:\n"
            f"{diff}\nIf the change is intended, refresh the snapshot and commit it:\n"
            f"    {REFRESH_COMMAND}",
            pytrace=False,
        )

