"""Run the project on Spark: load the dumps (`spark_loader`), then `dbt build`, in one session.

`python -m orchestration.ingest.spark_build [--raw-dir DIR] [--all-days] [--no-build]
[--full-refresh]`.

The SparkSession is the one dbt-spark's `session` method uses (`getOrCreate` with Hive support
and the settings of the `spark` target in profiles.yml, see `session_conf`), so loading and
`dbt build` share one JVM when they run in one process.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from orchestration import settings
from orchestration.ingest.spark_loader import load_days

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


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


def write_pseudonymisation_key(spark: SparkSession, salt: str | None = None) -> None:
    """privacy.pseudonymisation_key (one row) for marts.customer_360_pseudonymised, derived
    from the privacy salt as on DuckDB (orchestration.privacy)."""
    from orchestration import privacy

    key = privacy.pseudonymisation_key(salt if salt is not None else privacy.load_salt())
    spark.sql("create database if not exists privacy")
    spark.sql("create table if not exists privacy.pseudonymisation_key (key string) using parquet")
    spark.sql(f"insert overwrite table privacy.pseudonymisation_key values ('{key}')")


def run_dbt(args: list[str]) -> bool:
    """`dbt <args>` on the `spark` target, in this process (so it reuses this SparkSession)."""
    from dbt.cli.main import dbtRunner

    settings.point_dbt_at_spark()
    result = dbtRunner().invoke([
        *args, "--project-dir", str(settings.REPO_ROOT), "--profiles-dir", str(settings.REPO_ROOT),
    ])
    return bool(result.success)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m orchestration.ingest.spark_build",
        description="Load the dump folders into Spark (raw.events, raw.quarantine, "
        "raw.load_log), then run `dbt build` on the spark target in the same session.",
    )
    parser.add_argument("--raw-dir", type=Path, default=None, help="default: CDP_RAW_DIR")
    parser.add_argument("--all-days", action="store_true",
                        help="reload every day folder (default: only new or changed ones)")
    parser.add_argument("--no-build", action="store_true", help="load only")
    parser.add_argument("--full-refresh", action="store_true", help="dbt build --full-refresh")
    args = parser.parse_args(argv)

    raw_dir = (args.raw_dir or settings.raw_dir()).resolve()
    spark = spark_session()
    write_pseudonymisation_key(spark)
    for report in load_days(spark, raw_dir, only_changed=not args.all_days):
        print(
            f"  {report.received_date}: {report.files} files, {report.lines} lines -> "
            f"{report.loaded} loaded, {report.duplicates} duplicates, "
            f"{report.quarantined} quarantined ({report.seconds:.1f} s)"
        )
    if args.no_build:
        return 0
    build = ["build"] + (["--full-refresh"] if args.full_refresh else [])
    return 0 if run_dbt(build) else 1


if __name__ == "__main__":
    raise SystemExit(main())
