"""The Spark steps of `bench/run.py --engine spark`: the same dumps built on a local Spark session.

Each step runs `python -m orchestration.ingest.spark_build` as a user does (a subprocess, its
own JVM), with the tables under the run folder, and reads the figures the build writes with
`--summary-json` (load seconds, dbt seconds, lines per day):

1. full: every day of the history loaded in one batch and built;
2. unchanged: the same command again, nothing new: it must skip dbt;
3. incremental: the held-back day (a full-size day) added, loaded and built;
4. small day: a day with a tenth of a day's events (generated with another seed) added and
   loaded only, so its load cost can be set against the full-size day's.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def run(work: Path, raw: Path, cache: Path, new_day: str, small_day: Path,
        run_measured: Callable[..., dict]) -> dict[str, Any]:
    """Every step; the result's `spark` part."""
    env = {**os.environ, "CDP_RAW_DIR": str(raw), "CDP_SPARK_DIR": str(work / "spark"),
           "CDP_LOG_DIR": str(work / "logs"), "CDP_PRIVACY_SALT": "bench"}
    result: dict[str, Any] = {"load_average_at_start": list(os.getloadavg())}

    def build(step: str, *extra: str) -> dict[str, Any]:
        summary_file = work / f"{step}.json"
        measured = run_measured(
            [sys.executable, "-m", "orchestration.ingest.spark_build",
             "--summary-json", str(summary_file), *extra],
            {**env, "DBT_TARGET_PATH": str(work / f"target-{step}")},
        )
        summary = json.loads(summary_file.read_text())
        figures = {"seconds": measured["seconds"], "peak_rss_mb": measured["peak_rss_mb"],
                   **{k: summary[k] for k in ("ran", "days", "lines_read", "events_loaded",
                                              "load_seconds", "dbt_seconds", "models_built",
                                              "tests_passed", "tests_warned", "tests_failed")
                      if k in summary}}
        figures.update(_slowest(work / f"target-{step}"))
        if "per_day" in summary:
            figures["per_day"] = summary["per_day"]
        print(f"  {step}: {_short(figures)}")
        return figures

    print("spark full build (every history day in one load) ...")
    result["full"] = build("full")
    print("spark rerun with nothing new ...")
    result["unchanged"] = build("unchanged")
    print(f"spark incremental build after adding {new_day} ...")
    (raw / new_day).symlink_to(cache / "all" / new_day, target_is_directory=True)
    result["incremental"] = build("incremental")
    print(f"spark load of a tenth-size day {small_day.name} ...")
    (raw / small_day.name).symlink_to(small_day, target_is_directory=True)
    result["small_day"] = build("small_day", "--no-build")
    result["load_average_at_end"] = list(os.getloadavg())
    result["per_day_load"] = per_day_load(result)
    return result


def per_day_load(result: dict[str, Any]) -> dict[str, Any]:
    """What loading a day costs: the history's batch per day, and one full-size day against
    one day a tenth its size, each loaded alone."""
    full, one, small = result["full"], result["incremental"], result["small_day"]
    return {
        "batch": {"days": full["days"], "lines": full["lines_read"],
                  "seconds": full["load_seconds"],
                  "seconds_per_day": round(full["load_seconds"] / max(full["days"], 1), 2)},
        "full_size_day": {"lines": one["lines_read"], "seconds": one["load_seconds"]},
        "tenth_size_day": {"lines": small["lines_read"], "seconds": small["load_seconds"]},
        "lines_ratio": round(one["lines_read"] / max(small["lines_read"], 1), 1),
        "seconds_ratio": round(one["load_seconds"] / max(small["load_seconds"], 0.01), 1),
    }


def _slowest(target: Path) -> dict[str, Any]:
    path = target / "run_results.json"
    if not path.exists():
        return {}
    nodes = sorted(json.loads(path.read_text())["results"], key=lambda r: -r["execution_time"])
    return {"slowest": {r["unique_id"].split(".", 2)[-1]: round(r["execution_time"], 2)
                        for r in nodes[:8]}}


def _short(figures: dict[str, Any]) -> str:
    keys = ("seconds", "ran", "lines_read", "load_seconds", "dbt_seconds", "peak_rss_mb")
    return ", ".join(f"{k} {figures[k]}" for k in keys if k in figures)
