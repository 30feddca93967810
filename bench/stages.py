"""Where a `cdp build`'s wall time went, from structured sources only (no log text).

`bench/run.py` launches `cdp build --summary-json PATH` and hands `split_build` what it knows:
when it launched the process and its wall time, the summary JSON (each Dagster step's start
and seconds, publishing's own seconds, the dbt invocation id), the loader's seconds from
`raw.load_log`, and the run's `run_results.json` (found by `find_run_results`). The stages
add up to the wall time:

* startup: process launch to the start of the load step (Python, Dagster, planning), plus
  dbt's own start: the dbt step's start to its first node (dagster-dbt, spawning dbt, dbt's
  parse; split at dbt's `invocation_started_at`);
* load: the loader's seconds (`raw.load_log`);
* models, seeds: dbt's execution time of every model and seed;
* tests: dbt data tests and unit tests, plus the Python asset-check steps;
* publish: publishing's own seconds; audiences: the audience-export step;
* other: the rest, split in `other` (the load and publish steps around their own work, dbt
  between and after its nodes, and outside the steps: Dagster between steps, the process's
  exit).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

LOAD_STEP = "raw__events"
DBT_STEP = "cdp_dbt_models"
PUBLISH_STEP = "published__marts"
AUDIENCES_STEP = "activation__audience_exports"
NAMED_STEPS = (LOAD_STEP, DBT_STEP, PUBLISH_STEP, AUDIENCES_STEP)
SLOWEST_TESTS = 10


def find_run_results(
    target: Path, invocation_id: str | None, run_id: str | None = None, since: float = 0.0
) -> dict[str, Any] | None:
    """The run_results.json of the dbt invocation `invocation_id` under `target`.

    dagster-dbt gives each run its own folder, `cdp_dbt_models-<run id[:7]>-<random>`; the
    folders of this Dagster run are searched first, then any written since `since` (epoch
    seconds), newest first. Without an invocation id the newest such file is taken.
    """
    seen: set[Path] = set()
    patterns = [f"*-{run_id[:7]}-*/run_results.json"] if run_id else []
    for pattern in [*patterns, "*/run_results.json"]:
        paths = [p for p in target.glob(pattern) if p not in seen and p.stat().st_mtime >= since]
        seen.update(paths)
        for path in sorted(paths, key=lambda p: p.stat().st_mtime, reverse=True):
            results = json.loads(path.read_text())
            if invocation_id is None or results["metadata"].get("invocation_id") == invocation_id:
                return results
    return None


def _epoch(iso: str) -> float:
    """dbt's UTC timestamps (`...Z` or naive) as epoch seconds."""
    stamp = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return stamp.timestamp()


def _desc(seconds: Mapping[str, float]) -> dict[str, float]:
    return {k: round(v, 2) for k, v in sorted(seconds.items(), key=lambda kv: (-kv[1], kv[0]))}


def dbt_nodes(run_results: Mapping[str, Any]) -> dict[str, Any]:
    """Every node's execution seconds by kind, and when the first started and the last ended."""
    kinds: dict[str, dict[str, float]] = {"model": {}, "seed": {}, "snapshot": {}, "test": {},
                                          "unit_test": {}}
    starts: list[float] = []
    ends: list[float] = []
    for node in run_results.get("results", []):
        kind, _, name = node["unique_id"].partition(".")
        if kind not in kinds:
            continue  # exposures and the like take no time of their own
        name = name.split(".", 1)[-1]  # without the project name
        kinds[kind][name] = float(node.get("execution_time") or 0.0)
        for timing in node.get("timing") or []:
            if timing.get("started_at"):
                starts.append(_epoch(timing["started_at"]))
            if timing.get("completed_at"):
                ends.append(_epoch(timing["completed_at"]))
    started = run_results.get("metadata", {}).get("invocation_started_at")
    return {
        **kinds,
        "invocation_started_at": _epoch(started) if started else None,
        "first_node_at": min(starts) if starts else None,
        "last_node_at": max(ends) if ends else None,
    }


def _total(seconds: Iterable[float]) -> float:
    return round(sum(seconds), 2)


def split_build(
    *,
    launched: float,
    wall: float,
    summary: Mapping[str, Any],
    load_seconds: float,
    run_results: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The stages of one `cdp build` (see the module docstring); every figure in seconds."""
    steps = summary.get("steps") or {}

    def step(key: str) -> float:
        return float(steps.get(key, {}).get("seconds", 0.0))

    def step_start(key: str) -> float | None:
        return steps.get(key, {}).get("started_at")

    nodes = dbt_nodes(run_results or {})
    load_start = step_start(LOAD_STEP)
    dbt_start = step_start(DBT_STEP)
    first_node, last_node = nodes["first_node_at"], nodes["last_node_at"]
    to_load = (load_start - launched) if load_start is not None else 0.0
    dbt_launch = dbt_parse = dbt_after = 0.0
    if dbt_start is not None and first_node is not None and last_node is not None:
        invoked = nodes["invocation_started_at"] or dbt_start
        dbt_launch = invoked - dbt_start
        dbt_parse = first_node - invoked
        dbt_after = dbt_start + step(DBT_STEP) - last_node
    checks = {k: step(k) for k in steps if k not in NAMED_STEPS}
    tests = {**nodes["test"], **nodes["unit_test"]}
    stages = {
        "startup": to_load + dbt_launch + dbt_parse,
        "load": load_seconds,
        "models": sum(nodes["model"].values()) + sum(nodes["snapshot"].values()),
        "seeds": sum(nodes["seed"].values()),
        "tests": sum(tests.values()) + sum(checks.values()),
        "publish": float(summary.get("publish_seconds") or 0.0),
        "audiences": step(AUDIENCES_STEP),
    }
    stages["other"] = wall - sum(stages.values())
    node_span = (last_node - first_node) if first_node is not None and last_node else 0.0
    other = {
        "load_step": step(LOAD_STEP) - load_seconds,
        "dbt_between_nodes": node_span - sum(
            sum(nodes[kind].values()) for kind in ("model", "seed", "snapshot", "test",
                                                   "unit_test")),
        "dbt_after_nodes": dbt_after,
        "publish_step": step(PUBLISH_STEP) - stages["publish"],
    }
    other["outside_steps"] = stages["other"] - sum(other.values())
    return {
        "stages": {k: round(v, 2) for k, v in stages.items()},
        "startup": {"to_load": round(to_load, 2), "dbt_launch": round(dbt_launch, 2),
                    "dbt_parse": round(dbt_parse, 2)},
        "models": _desc({**nodes["model"], **nodes["snapshot"]}),
        "seeds": _desc(nodes["seed"]),
        "tests": {
            "count": len(tests),
            "data": _total(nodes["test"].values()),
            "unit": _total(nodes["unit_test"].values()),
            "python_checks": _total(checks.values()),
            "slowest": dict(list(_desc(tests).items())[:SLOWEST_TESTS]),
        },
        "other": {k: round(v, 2) for k, v in other.items()},
        "steps": {k: round(step(k), 2) for k in steps},
    }
