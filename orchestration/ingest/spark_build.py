"""Run the project on Spark: load the dumps (`spark_loader`), then `dbt build`, in one session.

`python -m orchestration.ingest.spark_build [--raw-dir DIR] [--all-days] [--no-build]
[--full-refresh] [-v] [--summary-json FILE]`.

As `cdp build` does on DuckDB: the new or changed day folders are loaded; nothing new (no
such folder, no day loaded since the last successful build, no changed project file) skips
dbt, by the same rule (`orchestration.build_state.up_to_date`, with raw.build_log kept in
Spark); the terminal shows one status line and the same summary table
(`orchestration.cli.progress`), and every dbt line goes to the log file.

The SparkSession is the one dbt-spark's `session` method uses (`getOrCreate` with Hive support
and the settings of the `spark` target in profiles.yml, see `session_conf`), so loading and
`dbt build` share one JVM when they run in one process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestration import settings
from orchestration.build_state import LastBuild, nothing_to_do, project_fingerprint, up_to_date
from orchestration.ingest.accounting import LoadReport
from orchestration.ingest.folders import changed_days
from orchestration.ingest.spark_loader import ensure_raw_schema, load_days, loaded_fingerprints

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

BUILD_LOG_DDL = """
create table if not exists raw.build_log (
    built_at            timestamp not null,
    project_fingerprint string not null,
    first_day           date,
    last_day            date,
    seconds             double
) using parquet
"""


def session_conf() -> dict[str, str]:
    """The settings of the local session: the `server_side_parameters` of the `spark` target
    in profiles.yml (keep the two in step)."""
    base = settings.spark_dir()
    return {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.warehouse.dir": f"{base}/warehouse",
        "spark.hadoop.javax.jdo.option.ConnectionURL":
            f"jdbc:derby:;databaseName={base}/metastore_db;create=true",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={base}",
        "spark.sql.shuffle.partitions": settings.spark_shuffle_partitions(),
        "spark.driver.memory": settings.spark_driver_memory(),
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
    }


def spark_session() -> SparkSession:
    """The process's SparkSession (created on first use), as dbt-spark's session method gets
    it: `SparkSession.builder.enableHiveSupport()` with the profile's settings."""
    from pyspark.sql import SparkSession

    Path(settings.spark_dir()).mkdir(parents=True, exist_ok=True)
    settings.spark_workers_use_this_python()
    builder = SparkSession.builder.enableHiveSupport()
    for key, value in session_conf().items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(settings.spark_log_level())
    # Duplicate keys are valid JSON (DuckDB accepts them; the first value is read).
    spark.conf.set("spark.sql.variant.allowDuplicateKeys", "true")
    return spark


def salt_source() -> str:
    """Where the privacy salt comes from: CDP_PRIVACY_SALT, else the salt file (by default
    the one beside CDP_WAREHOUSE, the DuckDB warehouse: data/privacy_salt)."""
    return settings.SALT_ENV if settings.privacy_salt() else str(settings.privacy_salt_file())


def write_pseudonymisation_key(spark: SparkSession, salt: str | None = None) -> None:
    """privacy.pseudonymisation_key (one row) for marts.customer_360_pseudonymised, derived
    from the privacy salt as on DuckDB (orchestration.privacy)."""
    from orchestration import privacy

    key = privacy.pseudonymisation_key(salt if salt is not None else privacy.load_salt())
    spark.sql("create database if not exists privacy")
    spark.sql("create table if not exists privacy.pseudonymisation_key (key string) using parquet")
    spark.sql(f"insert overwrite table privacy.pseudonymisation_key values ('{key}')")


def run_dbt(args: list[str]) -> Any:
    """`dbt <args>` on the `spark` target, in this process (so it reuses this SparkSession);
    dbt's result (`dbtRunnerResult`)."""
    from dbt.cli.main import dbtRunner

    settings.point_dbt_at_spark()
    return dbtRunner().invoke([
        *args, "--project-dir", str(settings.REPO_ROOT), "--profiles-dir", str(settings.REPO_ROOT),
    ])


# --- what the last build was made from (build_state's rule, raw.build_log in Spark) ---------


def last_build(spark: SparkSession) -> LastBuild | None:
    spark.sql(BUILD_LOG_DDL)
    rows = spark.sql(
        "select cast(built_at as timestamp_ntz), project_fingerprint from raw.build_log "
        "order by built_at desc limit 1"
    ).collect()
    return LastBuild(rows[0][0], rows[0][1]) if rows else None


def last_load(spark: SparkSession) -> dt.datetime | None:
    return spark.sql(
        "select cast(max(loaded_at) as timestamp_ntz) from raw.load_log").collect()[0][0]


def record_build(spark: SparkSession, fingerprint: str, days: list[str], seconds: float) -> None:
    spark.sql(BUILD_LOG_DDL)
    first, last = (f"date '{days[0]}'", f"date '{days[-1]}'") if days else ("null", "null")
    spark.sql(f"insert into raw.build_log values (current_timestamp(), '{fingerprint}', "
              f"{first}, {last}, cast({seconds} as double))")


def up_to_date_since(spark: SparkSession, raw_dir: Path, fingerprint: str) -> dt.datetime | None:
    """When the Spark tables were last built from what is there now (erasure requests are
    DuckDB's: none pending here)."""
    ensure_raw_schema(spark)
    return up_to_date(last_build(spark), last_load(spark),
                      changed_days(raw_dir, loaded_fingerprints(spark)), 0, fingerprint)


# --- the summary ---------------------------------------------------------------------------


def load_summary(reports: list[LoadReport]) -> dict[str, Any]:
    """The loading rows of the build summary (`orchestration.cli.progress.SUMMARY_ROWS`)."""
    by_reason: dict[str, int] = {}
    for report in reports:
        for reason, count in report.quarantine_by_reason.items():
            by_reason[reason] = by_reason.get(reason, 0) + count
    return {
        "days": len(reports), "lines_read": sum(r.lines for r in reports),
        "events_loaded": sum(r.loaded for r in reports),
        "duplicates": sum(r.duplicates for r in reports),
        "quarantined": sum(r.quarantined for r in reports),
        "quarantine_by_reason": dict(sorted(by_reason.items(), key=lambda kv: -kv[1])),
        "suppressed": sum(r.suppressed for r in reports),
        "erasures_completed": 0, "rows_erased": 0,
        "load_seconds": round(sum(r.seconds for r in reports), 2),
        "per_day": [{"day": r.received_date.isoformat(), "lines": r.lines,
                     "seconds": r.seconds} for r in reports],
    }


def dbt_summary(result: Any) -> dict[str, Any]:
    """The dbt rows of the build summary from dbt's results: models and seeds built, data
    tests passed, warned and failed (as cdp build counts Dagster's asset checks), and every
    node that failed (unit tests included)."""
    summary: dict[str, Any] = {"models_built": 0, "tests_passed": 0, "tests_warned": 0,
                               "tests_failed": 0, "failed_checks": [], "failed_nodes": []}
    for node in getattr(result.result, "results", None) or []:
        kind, status = str(node.node.resource_type), str(node.status).lower()
        if status in ("error", "fail"):
            summary["failed_nodes"].append(f"{node.node.unique_id}: {node.message}")
        if kind in ("model", "seed", "snapshot") and status == "success":
            summary["models_built"] += 1
        elif kind == "test":
            key = {"pass": "tests_passed", "warn": "tests_warned"}.get(status, "tests_failed")
            summary[key] += 1
            if key == "tests_failed":
                summary["failed_checks"].append(node.node.name)
    return summary


def consent_excluded(spark: SparkSession) -> int:
    """Messages kept out of the analytics marts for refused consent (as cdp build reports)."""
    if not spark.catalog.tableExists("intermediate.int_privacy__consent_excluded"):
        return 0
    row = spark.sql("select sum(excluded_messages) from "
                    "intermediate.int_privacy__consent_excluded").collect()[0]
    return int(row[0] or 0)


# --- the command ---------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m orchestration.ingest.spark_build",
        description="Load the new or changed dump folders into Spark (raw.events, "
        "raw.quarantine, raw.load_log), then run `dbt build` on the spark target in the same "
        "session; with nothing new, dbt is not run.",
    )
    parser.add_argument("--raw-dir", type=Path, default=None, help="default: CDP_RAW_DIR")
    parser.add_argument("--all-days", action="store_true",
                        help="reload every day folder (default: only new or changed ones)")
    parser.add_argument("--no-build", action="store_true", help="load only")
    parser.add_argument("--full-refresh", action="store_true", help="dbt build --full-refresh")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="stream every log line (the log file gets them anyway)")
    parser.add_argument("--summary-json", type=Path, default=None,
                        help="also write the summary as JSON, as cdp build --summary-json does, "
                        "with the load and dbt seconds and the lines of each day")
    return parser


def main(argv: list[str] | None = None) -> int:
    from orchestration.cli.build import write_summary_json
    from orchestration.cli.common import console
    from orchestration.cli.progress import BuildOutput, log_path, print_summary

    args = _parser().parse_args(argv)
    started = time.perf_counter()
    raw_dir = (args.raw_dir or settings.raw_dir()).resolve()
    spark = spark_session()
    fingerprint = project_fingerprint()
    if not (args.all_days or args.full_refresh or args.no_build) and (
            since := up_to_date_since(spark, raw_dir, fingerprint)):
        console.print(nothing_to_do(since))
        if args.summary_json is not None:
            write_summary_json(args.summary_json, {
                "ran": False, "up_to_date_since": since.isoformat(), "seconds": _since(started)})
        return 0
    console.print(f"building the Spark tables in {settings.spark_dir()} from {raw_dir} "
                  f"(privacy salt: {salt_source()})", markup=False)
    log = log_path(settings.log_dir())
    summary: dict[str, Any] = {}
    with BuildOutput(log, verbose=args.verbose) as output:
        output.step("raw__events")
        write_pseudonymisation_key(spark)
        reports = load_days(spark, raw_dir, only_changed=not args.all_days)
        for report in reports:
            output.echo("  " + report.summary())
        summary.update(load_summary(reports))
        if not args.no_build:
            output.step("cdp_dbt_models")
            dbt_started = time.perf_counter()
            result = run_dbt(["build"] + (["--full-refresh"] if args.full_refresh else []))
            summary["dbt_seconds"] = _since(dbt_started)
            summary.update(dbt_summary(result))
            summary["consent_excluded"] = consent_excluded(spark)
    summary["seconds"] = _since(started)
    ok = args.no_build or bool(result.success)
    if ok and not args.no_build:
        record_build(spark, fingerprint, [r.received_date.isoformat() for r in reports],
                     summary["seconds"])
    print_summary(summary, console, title="spark build")
    if args.summary_json is not None:
        write_summary_json(args.summary_json, {"ran": True, **summary, "log": str(log)})
    for failure in summary.get("failed_nodes", []):
        console.print(f"error: {failure}", markup=False, soft_wrap=True)
    console.print(f"full log: {log}", markup=False, highlight=False, soft_wrap=True)
    return 0 if ok else 1


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 1)


if __name__ == "__main__":
    raise SystemExit(main())
