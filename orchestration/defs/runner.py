"""Run the nightly Dagster job in-process over a range of days (what `cdp build` does)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import dagster as dg
import duckdb

from orchestration import settings
from orchestration.defs.instance import build_instance
from orchestration.defs.resources import WarehouseResource
from orchestration.ingest.duckdb_loader import loaded_fingerprints
from orchestration.ingest.folders import changed_days, find_day_folders
from orchestration.warehouse import LOCKED, connect

NIGHTLY_JOB = "cdp_nightly"
DBT_OP = "cdp_dbt_models"
RAW_OP = "raw__events"


STEP_ENDS = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS,
             dg.DagsterEventType.STEP_FAILURE}


class BuildFailed(RuntimeError):
    """The job failed; the message names the failing step, model or file and the cause."""


def partition_range_tags(first_day: str, last_day: str) -> dict[str, str]:
    """The run's partition tags, as the UI's own launches set them: one day is a partition (as
    the schedule's and the sensor's runs), several a range (as a single-run backfill)."""
    if first_day == last_day:
        return {"dagster/partition": first_day}
    return {
        "dagster/asset_partition_range_start": first_day,
        "dagster/asset_partition_range_end": last_day,
    }


def plan_days(raw_dir: Path, warehouse: Path, full_refresh: bool) -> tuple[list[str], bool]:
    """The partition range a build runs over, and whether the load skips unchanged folders.

    A full refresh reloads every folder. Otherwise the range spans the new or changed
    folders only (so a nightly build reads the new day, not the history), or the last day
    when nothing changed (dbt still runs: new rules, erasures).
    """
    days = find_day_folders(raw_dir)
    if full_refresh or not warehouse.exists() or not days:
        return days, False
    with connect(warehouse, read_only=True) as conn:  # a held lock: WarehouseLockedError
        changed = changed_days(raw_dir, loaded_fingerprints(conn))
    return (changed or days[-1:]), True


def build_run_config(
    full_refresh: bool, only_changed_days: bool = False, full_tests: bool = False
) -> dict:
    # Naming a logger replaces Dagster's default console logger (its debug events).
    return {
        "ops": {
            DBT_OP: {"config": {"full_refresh": full_refresh, "full_tests": full_tests}},
            RAW_OP: {"config": {"only_changed_days": only_changed_days}},
        },
        "loggers": {"cli": {}},
    }


def cli_logger(
    echo: Callable[[str], None], on_step: Callable[[str], None] | None = None
) -> dg.LoggerDefinition:
    """A Dagster logger for `cdp build`: the steps' own messages (per day, per dbt model),
    warnings and errors, without the engine's debug events; `on_step` hears each step key."""

    class _Handler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            meta = getattr(record, "dagster_meta", None) or {}
            if meta.get("dagster_event") is not None and record.levelno < logging.WARNING:
                return
            message = meta.get("orig_message") or record.getMessage()
            step = meta.get("step_key") or ""
            if on_step is not None and step:
                on_step(step)
            prefix = "" if step in ("", "raw__events", DBT_OP) else f"[{step}] "
            # The engine's own failure events (a step failed, its dependants skipped) repeat the
            # cause the build reports at the end: logged, but not marked loud.
            loud = (record.levelno >= logging.WARNING and meta.get("dagster_event") is None
                    and not message.startswith("Dependencies for step"))
            level = f"{record.levelname.lower()}: " if loud else ""
            echo(f"  {level}{prefix}{message}")

    @dg.logger(description="Terse progress for `cdp build`.")
    def _cli_logger(_init_context: dg.InitLoggerContext) -> logging.Logger:
        log = logging.getLogger("cdp.build")
        log.setLevel(logging.INFO)
        log.handlers = [_Handler()]
        log.propagate = False
        return log

    return _cli_logger


def run_nightly_job(
    raw_dir: Path,
    warehouse: Path,
    days: list[str],
    *,
    full_refresh: bool = False,
    only_changed_days: bool = False,
    full_tests: bool = False,
    echo: Callable[[str], None] = print,
    on_step: Callable[[str], None] | None = None,
) -> dict:
    """Load `days` (a contiguous partition range from the first to the last) and build dbt.

    With `only_changed_days`, folders in the range that are unchanged since their last load
    are not read again (see `plan_days`), and dbt's generic tests read the rows of the days in
    the range only (dbt_project/macros/test_scope.sql); without it, or with `full_tests`, every
    test reads every row.

    Returns a summary; raises BuildFailed with the cause when any step fails.
    """
    from orchestration.definitions import build_definitions

    started = time.perf_counter()
    settings.point_dbt_at(warehouse)
    if not full_refresh and _erasures_need_full_refresh(warehouse):
        # A pending erasure removes messages from sessions of other visitors (a shared
        # device): the incremental session models must re-sessionize them from scratch.
        echo("  pending erasure touches sessions of other visitors: full refresh of dbt models")
        full_refresh = True
    defs = build_definitions(WarehouseResource(warehouse=str(warehouse), raw_dir=str(raw_dir)))
    job = defs.resolve_job_def(NIGHTLY_JOB).with_logger_defs({"cli": cli_logger(echo, on_step)})
    with build_instance() as instance:
        result = job.execute_in_process(
            instance=instance,
            tags=partition_range_tags(days[0], days[-1]),
            # a build that reads every folder (the first, a full refresh) tests every row
            run_config=build_run_config(
                full_refresh, only_changed_days, full_tests or not only_changed_days
            ),
            raise_on_error=False,
        )
        summary = summarise(result, echo)
        summary["run_id"] = result.run_id
        summary["steps"] = step_timings(instance.all_logs(result.run_id, of_type=STEP_ENDS))
    summary["consent_excluded"] = _consent_excluded_total(warehouse)
    summary["seconds"] = round(time.perf_counter() - started, 1)
    if not result.success:
        raise BuildFailed(_failure_message(result, summary))
    return summary


def summarise(result: dg.ExecuteInProcessResult, echo: Callable[[str], None]) -> dict:
    """Counts from the run's events: what was loaded, built and tested."""
    summary: dict = {
        "days": 0, "lines_read": 0, "events_loaded": 0, "duplicates": 0, "quarantined": 0,
        "quarantine_by_reason": {}, "suppressed": 0, "erasures_completed": 0,
        "rows_erased": 0, "consent_excluded": 0,
        "models_built": 0, "tests_passed": 0, "tests_warned": 0,
        "tests_failed": 0, "failed_checks": [],
        # the seconds publishing reports for its own work, and the dbt invocation whose
        # target/<run folder>/run_results.json times every node (the load's: raw.load_log)
        "publish_seconds": 0.0, "dbt_invocation_id": None,
    }
    # A run over a range of partitions reports each partitioned asset once per partition:
    # raw/events with what that day holds (`reloaded`: this run read its folder).
    seen: set[str] = set()
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            mat = event.event_specific_data.materialization
            key = mat.asset_key.to_user_string()
            meta = {k: v.value for k, v in mat.metadata.items()}
            if key == "raw/events":
                if meta.get("reloaded"):
                    _add_day(summary, meta)
            elif key == "privacy/pseudonymisation_key":
                summary["erasures_completed"] = int(meta.get("erasures_completed_this_run", 0))
                summary["rows_erased"] = int(meta.get("erased_rows", 0))
            elif key == "raw/load_log":
                continue  # written with raw/events
            elif key == "published/marts":
                # the read-only copy for BI (its step logs where it went); not a dbt model
                summary["published"] = str(meta.get("path", ""))
                summary["publish_seconds"] = float(meta.get("publish_seconds", 0.0))
            elif key not in seen:
                seen.add(key)
                summary["models_built"] += 1
                if meta.get("invocation_id"):  # dagster-dbt's, the same on every node
                    summary["dbt_invocation_id"] = str(meta["invocation_id"])
                rows = meta.get("dagster/row_count")
                if mat.partition is not None:
                    rows = None  # one day's rows: the table's total is not known here
                echo(f"  built {key}" + (f" ({rows:,} rows)" if rows is not None else ""))
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
            if name in seen:
                continue
            seen.add(name)
            if evaluation.passed:
                summary["tests_passed"] += 1
            elif evaluation.severity == dg.AssetCheckSeverity.WARN:
                summary["tests_warned"] += 1
                echo(f"  warning: check {name} did not pass")
            else:
                summary["tests_failed"] += 1
                summary["failed_checks"].append(name)
    return summary


def step_timings(entries: Iterable[dg.EventLogEntry]) -> dict[str, dict[str, float]]:
    """When each step of the run started (epoch seconds) and how long it took, from the run's
    event log: what `cdp build --summary-json` and the benchmark split the wall time with."""
    started: dict[str, float] = {}
    steps: dict[str, dict[str, float]] = {}
    for entry in entries:
        event = entry.dagster_event
        if event is None or not event.step_key:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            started[event.step_key] = entry.timestamp
        elif event.event_type in (dg.DagsterEventType.STEP_SUCCESS,
                                  dg.DagsterEventType.STEP_FAILURE):
            begin = started.get(event.step_key, entry.timestamp)
            steps[event.step_key] = {"started_at": round(begin, 3),
                                     "seconds": round(entry.timestamp - begin, 3)}
    return steps


def _add_day(summary: dict, meta: dict) -> None:
    """Add one loaded day (the metadata of its raw/events partition) to the summary."""
    summary["days"] += 1
    for total, key in (("lines_read", "lines_read"), ("events_loaded", "events_loaded"),
                       ("duplicates", "duplicates"), ("quarantined", "quarantined"),
                       ("suppressed", "suppressed")):
        summary[total] += int(meta.get(key, 0))
    for reason, count in (meta.get("quarantine_by_reason") or {}).items():
        summary["quarantine_by_reason"][reason] = (
            summary["quarantine_by_reason"].get(reason, 0) + int(count)
        )


def _erasures_need_full_refresh(warehouse: Path) -> bool:

    from orchestration.privacy import PrivacyError, erasures_need_full_refresh

    try:
        return erasures_need_full_refresh(warehouse)
    except PrivacyError as exc:
        raise BuildFailed(f"privacy: {exc}") from None
    except duckdb.Error:
        return False  # the job itself reports why the warehouse cannot be used


def _consent_excluded_total(warehouse: Path) -> int:
    """Messages kept out of the analytics marts for refused consent (all days), read from
    intermediate.int_privacy__consent_excluded once dbt has let go of the warehouse."""

    try:
        with duckdb.connect(str(warehouse), read_only=True) as conn:
            row = conn.execute(
                "select sum(excluded_messages) from intermediate.int_privacy__consent_excluded"
            ).fetchone()
    except duckdb.Error:
        return 0
    return int(row[0] or 0) if row else 0


def _failure_message(result: dg.ExecuteInProcessResult, summary: dict) -> str:
    """The causes, one line each; a warehouse held by another process first and alone (the
    steps it stopped say nothing more)."""
    lines = []
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            text = "\n".join(step_error_messages(event))
            if LOCKED in text:  # without Dagster's "module.ErrorClass: " in front
                line = next(line for line in text.splitlines() if LOCKED in line)
                return line[line.find("warehouse "):]
            lines.append(f"step {event.step_key} failed: {text}")
    if summary["failed_checks"]:
        lines.append("failed checks: " + ", ".join(summary["failed_checks"]))
    return "\n".join(lines) or "the nightly job failed"


def step_error_messages(event: dg.DagsterEvent) -> list[str]:
    """The causes of a step failure, outermost first, without Dagster's own wrapper."""
    error = event.event_specific_data.error
    messages = []
    while error is not None:
        text = error.message.strip()
        if text and "Error occurred while executing" not in text:
            messages.append(text)
        error = error.cause
    return messages or ["unknown error"]
