"""The daily partitions (one per dump folder date) and what every step of the nightly job shares."""

from __future__ import annotations

import dagster as dg

from orchestration import settings

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=settings.partitions_start_date(),
    end_offset=1,  # today's folder can be loaded before midnight
)

# DuckDB allows one writing process: every step that writes the warehouse is in this pool, and
# the instance (deploy/dagster.yaml) runs one step of a pool at a time.
WAREHOUSE_POOL = "duckdb_warehouse"

# Every step of the nightly job: a partition per dump folder, a backfill of many days as one run
# (the loader and dbt take a range of days at once), one warehouse writer at a time.
NIGHTLY_STEP = {
    "partitions_def": daily_partitions,
    "backfill_policy": dg.BackfillPolicy.single_run(),
    "pool": WAREHOUSE_POOL,
}
