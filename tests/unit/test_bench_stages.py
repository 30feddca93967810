"""bench/stages.py: a `cdp build`'s wall time split into named stages, from the summary JSON,
raw.load_log and the run's run_results.json."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
from pathlib import Path
from typing import Any

from orchestration.settings import REPO_ROOT

SCRIPT = REPO_ROOT / "bench" / "stages.py"
spec = importlib.util.spec_from_file_location("bench_stages", SCRIPT)
stages = importlib.util.module_from_spec(spec)
spec.loader.exec_module(stages)

T0 = dt.datetime(2026, 12, 1, 10, 0, 0, tzinfo=dt.UTC).timestamp()


def iso(offset: float) -> str:
    return dt.datetime.fromtimestamp(T0 + offset, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def node(unique_id: str, start: float, seconds: float) -> dict[str, Any]:
    return {"unique_id": unique_id, "execution_time": seconds, "timing": [
        {"name": "compile", "started_at": iso(start), "completed_at": iso(start + 0.1)},
        {"name": "execute", "started_at": iso(start + 0.1), "completed_at": iso(start + seconds)},
    ]}


# launched at T0; load step 10-40 s (loader 27 s); dbt 40-100 s: invoked at 43, nodes 50-90;
# publish 100-112 (copy 10 s); a Python check 112-113; exports 113-116; the process ends at 120
SUMMARY = {
    "run_id": "6ae5f38f-fc70", "dbt_invocation_id": "inv-1", "publish_seconds": 10.0,
    "steps": {
        "raw__events": {"started_at": T0 + 10, "seconds": 30.0},
        "cdp_dbt_models": {"started_at": T0 + 40, "seconds": 60.0},
        "published__marts": {"started_at": T0 + 100, "seconds": 12.0},
        "marts__identity_graph_no_over_merged_customer": {"started_at": T0 + 112,
                                                          "seconds": 1.0},
        "activation__audience_exports": {"started_at": T0 + 113, "seconds": 3.0},
    },
}
RUN_RESULTS = {
    "metadata": {"invocation_id": "inv-1", "invocation_started_at": iso(43)},
    "elapsed_time": 50.0,
    "results": [
        node("seed.cdp.channel_rules", 50, 1.0),
        node("model.cdp.stg_events__pages", 51, 10.0),
        node("model.cdp.sessions", 62, 20.0),
        node("test.cdp.not_null_sessions_session_id.abc", 83, 3.0),
        node("unit_test.cdp.sessions.sessions_attribution", 86, 4.0),
        {"unique_id": "exposure.cdp.dashboard", "execution_time": 0.0, "timing": []},
    ],
}


def test_the_stages_add_up_to_the_wall_time() -> None:
    split = stages.split_build(launched=T0, wall=120.0, summary=SUMMARY, load_seconds=27.0,
                               run_results=RUN_RESULTS)
    assert split["startup"] == {"to_load": 10.0, "dbt_launch": 3.0, "dbt_parse": 7.0}
    assert split["stages"] == {"startup": 20.0, "load": 27.0, "models": 30.0, "seeds": 1.0,
                               "tests": 8.0, "publish": 10.0, "audiences": 3.0, "other": 21.0}
    assert sum(split["stages"].values()) == 120.0
    assert split["models"] == {"sessions": 20.0, "stg_events__pages": 10.0}  # slowest first
    assert split["tests"] == {
        "count": 2, "data": 3.0, "unit": 4.0, "python_checks": 1.0,
        "slowest": {"sessions.sessions_attribution": 4.0,
                    "not_null_sessions_session_id.abc": 3.0},
    }
    # the rest: the load step around the loader, dbt between its nodes (50-90 s holds 38 s
    # of nodes) and after them (90-100 s), publishing around the copy, and outside the steps
    assert split["other"] == {"load_step": 3.0, "dbt_between_nodes": 2.0,
                              "dbt_after_nodes": 10.0, "publish_step": 2.0, "outside_steps": 4.0}


def test_a_build_without_run_results_keeps_what_the_summary_says() -> None:
    split = stages.split_build(launched=T0, wall=120.0, summary=SUMMARY, load_seconds=27.0,
                               run_results=None)
    assert split["stages"]["models"] == 0 and split["stages"]["publish"] == 10.0
    assert sum(split["stages"].values()) == 120.0


def test_the_run_results_of_the_build_are_found_by_invocation_id(tmp_path: Path) -> None:
    def write(folder: str, invocation: str, mtime: float) -> None:
        path = tmp_path / folder / "run_results.json"
        path.parent.mkdir()
        path.write_text(json.dumps({"metadata": {"invocation_id": invocation}}))
        os.utime(path, (mtime, mtime))

    write("cdp_dbt_models-6ae5f38-aaaaaaa", "inv-1", T0 + 100)
    write("cdp_dbt_models-1234567-bbbbbbb", "inv-2", T0 + 200)  # newer, another run
    write("cdp_dbt_models-7654321-ccccccc", "inv-0", T0 - 100)  # before the launch
    found = stages.find_run_results(tmp_path, "inv-1", "6ae5f38f-fc70", since=T0)
    assert found["metadata"]["invocation_id"] == "inv-1"
    assert stages.find_run_results(tmp_path, "inv-1", None, since=T0)["metadata"][
        "invocation_id"] == "inv-1"
    assert stages.find_run_results(tmp_path, "inv-0", None, since=T0) is None
    assert stages.find_run_results(tmp_path, None, None, since=T0)["metadata"][
        "invocation_id"] == "inv-2"
