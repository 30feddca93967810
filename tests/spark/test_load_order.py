"""Which copy of a message wins does not depend on the order days are loaded in, on Spark too.

The parity fixture's second day replays two messages of the first (a later file name, so the
first day's copies win). Loaded on Spark one day at a time, newest first, the second day's
copies win at first and must move to raw.superseded when the first day comes (the other-day
rewrite of orchestration/ingest/spark_copies.py, with the second day recounted); the raw tables
must end as DuckDB's, loaded oldest first.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from orchestration.ingest import duckdb_loader, spark_loader
from orchestration.ingest.folders import find_day_folders
from spark.parity_support import compare, duckdb_rows, spark_rows, write_fixture
from spark.test_parity import documents_parsed

pytestmark = pytest.mark.spark

RAW_TABLES = ("events", "superseded", "quarantine", "load_log")
QUERIES = {
    "raw.events": "select * from raw.events",
    "raw.superseded": "select * from raw.superseded",
    "raw.quarantine": "select source_file, line_number, received_date, reason from raw.quarantine",
    "raw.load_log": "select received_date, files, empty_files, lines, loaded, duplicates, "
    "quarantined, unreadable_files, suppressed, fingerprint from raw.load_log",
}


def _drop_raw_tables(spark) -> None:
    for table in RAW_TABLES:
        spark.sql(f"drop table if exists raw.{table}")


def test_days_loaded_newest_first_end_as_loaded_oldest_first(spark, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_fixture(raw, tmp_path)
    days = find_day_folders(raw)
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as conn:
        for day in days:
            duckdb_loader.load_day(conn, raw, day)
    _drop_raw_tables(spark)
    try:
        for day in reversed(days):
            spark_loader.load_days(spark, raw, [day])
        problems = []
        for name, sql in QUERIES.items():
            problems += compare(name, documents_parsed(duckdb_rows(warehouse, sql)),
                                documents_parsed(spark_rows(spark, sql)))
        superseded = spark_rows(spark, "select count(*) from raw.superseded")[1][0][0]
    finally:
        _drop_raw_tables(spark)
    assert not problems, "\n".join(problems)
    assert superseded > 0  # a copy did move: not a vacuous comparison
