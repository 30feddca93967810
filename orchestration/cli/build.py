"""`cdp generate`, `cdp build` and `cdp demo`: sample dumps, and the nightly job in-process."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from pathlib import Path

import click

from orchestration import settings
from orchestration.build_state import (
    last_build,
    last_load,
    nothing_to_do,
    project_fingerprint,
    record_build,
    up_to_date_since,
    why_test_every_row,
)
from orchestration.cli.common import CdpError, console, use_paths
from orchestration.cli.progress import BuildOutput, log_path, print_summary
from orchestration.warehouse import WarehouseLockedError, connect

verbose_option = click.option(
    "-v", "--verbose", is_flag=True,
    help="Stream every log line (the log file of the build gets them anyway).",
)


@click.command()
@click.option("--days", type=click.IntRange(1, 3650), default=30, show_default=True)
@click.option("--customers", type=click.IntRange(1), default=2000, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option(
    "--out", type=click.Path(path_type=Path), default=None,
    help="Output folder (default: CDP_RAW_DIR, else data/raw).",
)
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="First day (default: today minus --days).")
@click.option("--events", type=click.IntRange(1), default=None,
              help="Aim for about this many events (scales --customers).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True)
# the choices are orchestration.generator.config.PROFILES (not imported: start-up time)
@click.option("--profile", type=click.Choice(["standard", "light"]), default="standard",
              show_default=True,
              help="Traffic: standard (web and app, full payloads) or light (web only, short "
                   "payloads; the same visitors and journeys).")
def generate(
    days: int, customers: int, seed: int, out: Path | None, start: dt.datetime | None,
    events: int | None, workers: int, profile: str,
) -> None:
    """Write realistic Segment-spec sample dumps: OUT/YYYY-MM-DD/*.jsonl.gz."""
    from orchestration.generator import generate as run_generator

    target = out or settings.raw_dir()
    started = time.perf_counter()
    stats = run_generator(
        target, days=days, customers=customers, seed=seed,
        start=start.date() if start else None, events=events, workers=workers, profile=profile,
    )
    seconds = time.perf_counter() - started
    console.print(
        f"wrote {stats.lines:,} lines ({stats.events:,} events, {stats.duplicates:,} duplicates, "
        f"{stats.malformed:,} malformed) for {stats.customers:,} customers over {stats.days} "
        f"days into {target} in {seconds:.1f}s"
    )


@click.command()
@click.option("--raw-dir", type=click.Path(path_type=Path), default=None,
              help="Dump root with YYYY-MM-DD folders (default: CDP_RAW_DIR, else data/raw).")
@click.option("--warehouse", type=click.Path(path_type=Path), default=None,
              help="DuckDB file (default: CDP_WAREHOUSE, else data/warehouse.duckdb).")
@click.option("--full-refresh", is_flag=True, help="Rebuild incremental models from scratch.")
@click.option(
    "--full-tests", is_flag=True,
    help="Run every dbt test over all rows (by default a build that loads some days tests "
         "those days' rows, and the marts and grain checks whole).",
)
@click.option(
    "--summary-json", type=click.Path(path_type=Path, dir_okay=False), default=None,
    help="Also write the summary as JSON: the table's numbers, the run id, each step's start "
         "and seconds, publishing's seconds and the dbt invocation id.",
)
@verbose_option
def build(raw_dir: Path | None, warehouse: Path | None, full_refresh: bool, full_tests: bool,
          summary_json: Path | None, verbose: bool) -> None:
    """Load every day folder found and run the dbt build, through the nightly Dagster job."""
    raw, wh = use_paths(raw_dir, warehouse)
    run_build(raw, wh, full_refresh=full_refresh, full_tests=full_tests, verbose=verbose,
              summary_json=summary_json)


@click.command()
@click.option("--days", type=click.IntRange(1, 3650), default=30, show_default=True)
@click.option("--customers", type=click.IntRange(1), default=2000, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@verbose_option
def demo(days: int, customers: int, seed: int, verbose: bool) -> None:
    """Generate a sample dump into CDP_RAW_DIR (if it is empty), then build everything."""
    from orchestration.generator import generate as run_generator
    from orchestration.ingest.folders import find_day_folders

    raw, wh = use_paths()
    if find_day_folders(raw):
        console.print(f"{raw} already holds dump folders: using them as they are")
    else:
        console.print(f"generating {days} days of traffic for {customers:,} customers into {raw}")
        stats = run_generator(raw, days=days, customers=customers, seed=seed, workers=2)
        console.print(
            f"  {stats.lines:,} lines: {stats.events:,} events, {stats.duplicates:,} duplicate "
            f"retries, {stats.malformed:,} malformed lines"
        )
    run_build(raw, wh, full_refresh=False, verbose=verbose)

    console.print(
        "\nnext: open the Dagster UI on this run with [bold]uv run cdp ui[/], read the marts "
        f"from the published copy [bold]{settings.publish_path(wh)}[/] (any DuckDB client or "
        "BI tool, read-only; see the README's 'Query the marts'), or try "
        "[bold]uv run cdp explain --email <an email from marts.customer_360>[/]"
    )


def run_build(raw: Path, warehouse: Path, *, full_refresh: bool, full_tests: bool = False,
              verbose: bool = False, summary_json: Path | None = None) -> None:
    """Run the nightly job in-process over the day folders under `raw` that are new or
    changed since they were loaded (every folder on a first build or a full refresh).

    With `summary_json`, the summary is also written there as JSON (`write_summary_json`).
    """
    from orchestration.defs.runner import BuildFailed, plan_days, run_nightly_job
    from orchestration.ingest.folders import find_day_folders

    found = find_day_folders(raw)
    if not found:
        raise CdpError(f"{raw}: no YYYY-MM-DD dump folders found (set CDP_RAW_DIR or --raw-dir)")
    fingerprint = project_fingerprint()
    if not (full_refresh or full_tests) and (
        since := _up_to_date_since(raw, warehouse, fingerprint)
    ):
        if summary_json is not None:
            write_summary_json(summary_json, {"ran": False, "up_to_date_since": since.isoformat()})
        console.print(nothing_to_do(since))
        return
    try:
        days, only_changed = plan_days(raw, warehouse, full_refresh)
        reason = None if full_tests or not only_changed else _why_test_every_row(
            warehouse, fingerprint)
    except WarehouseLockedError as exc:
        raise CdpError(str(exc)) from None
    if reason:
        console.print(f"{reason}: every dbt test reads every row")
        full_tests = True
    console.print(
        f"building {warehouse} from {raw}: {len(found)} day folder(s), run over "
        f"{days[0]} .. {days[-1]}" + (" (new or changed folders only)" if only_changed else "")
    )
    _quiet_library_loggers()
    log = log_path(settings.log_dir(warehouse))
    try:
        with BuildOutput(log, verbose=verbose) as output:
            summary = run_nightly_job(raw, warehouse, days, full_refresh=full_refresh,
                                      only_changed_days=only_changed, full_tests=full_tests,
                                      echo=output.echo,
                                      on_step=output.step)
    except BuildFailed as exc:
        raise CdpError(f"{exc}\n(full log: {log})") from None
    with connect(warehouse) as conn:
        record_build(conn, fingerprint, days, summary["seconds"])
    print_summary(summary, console)
    if summary_json is not None:
        write_summary_json(summary_json, {"ran": True, **summary, "log": str(log)})
    # paths unwrapped, so they can be copied from any terminal
    console.print(f"published: {summary.get('published') or '-'}\nfull log: {log}",
                  markup=False, highlight=False, soft_wrap=True)


def write_summary_json(path: Path, summary: dict) -> None:
    """`cdp build --summary-json`: what the summary table prints, for a program to read.

    `ran` false (with `up_to_date_since`) when there was nothing to do. Otherwise the table's
    counts and `seconds` (the job's wall time), `run_id`, `steps` ({step key: {"started_at":
    epoch seconds, "seconds"}}, from the run's event log), `publish_seconds` (the copy
    itself), `dbt_invocation_id` (the `metadata.invocation_id` of the run's
    target/<folder>/run_results.json) and `log`. The loader's own seconds are in
    raw.load_log.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n")


def _up_to_date_since(raw: Path, warehouse: Path, fingerprint: str) -> dt.datetime | None:
    """When the warehouse was last built from what is there now (see build_state)."""
    from orchestration.ingest.duckdb_loader import loaded_fingerprints
    from orchestration.ingest.folders import changed_days
    from orchestration.privacy import pending_requests

    if not warehouse.exists():
        return None
    try:
        with connect(warehouse, read_only=True) as conn:
            return up_to_date_since(
                conn, changed_days(raw, loaded_fingerprints(conn)), len(pending_requests(conn)),
                fingerprint,
            )
    except WarehouseLockedError as exc:
        raise CdpError(str(exc)) from None


def _why_test_every_row(warehouse: Path, fingerprint: str) -> str | None:
    """build_state.why_test_every_row for the warehouse (read-only)."""
    with connect(warehouse, read_only=True) as conn:
        return why_test_every_row(last_build(conn), last_load(conn), fingerprint)


def _quiet_library_loggers() -> None:
    for name in ("dagster", "dbt", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
