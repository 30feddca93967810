"""The daily partitions (one per dump folder) and what every step of the nightly job shares.

Only the assets that hold rows per received day are partitioned: `raw/events`, `raw/load_log`
and the staging models (incremental, one slice per received day). Everything after them (the
intermediate models, the marts, `published/marts`, the audience exports) is rebuilt whole on
every run, so it is unpartitioned: its row counts are whole-table totals that plot run after
run, while a partition's numbers say what that day added.

The partitions start at the first day of data (`settings.partitions_start_date`), known only
when the definitions load: the assets are declared without partitions, and `build_definitions`
attaches them with `with_daily_partitions` (as it attaches the freshness policies).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import dagster as dg

from orchestration import settings

# DuckDB allows one writing process: every step that writes the warehouse is in this pool, and
# the instance (deploy/dagster.yaml) runs one step of a pool at a time.
WAREHOUSE_POOL = "duckdb_warehouse"

# Every step of the nightly job: a backfill of many days as one run (the loader and dbt take a
# range of days at once), one warehouse writer at a time.
NIGHTLY_STEP = {
    "backfill_policy": dg.BackfillPolicy.single_run(),
    "pool": WAREHOUSE_POOL,
}


def daily_partitions(start_date: str) -> dg.DailyPartitionsDefinition:
    """One partition per day from `start_date`, up to today (whose folder can be loaded before
    midnight)."""
    return dg.DailyPartitionsDefinition(start_date=start_date, end_offset=1)


def partitions_for(raw_dir: Path) -> dg.DailyPartitionsDefinition:
    """The daily partitions of the dump folders under `raw_dir`: from CDP_START_DATE, else from
    its earliest day folder."""
    return daily_partitions(settings.partitions_start_date(raw_dir))


def holds_received_days(spec: dg.AssetSpec) -> bool:
    """Whether the asset's rows are per received day: raw/* and the staging models (not the
    seeds, which are reference data)."""
    layer = spec.key.path[0]
    if layer == "raw":
        return True
    dbt_unique_id = str(spec.metadata.get("dagster_dbt/unique_id", ""))
    return layer == "staging" and dbt_unique_id.startswith("model.")


def with_daily_partitions(
    assets: Sequence[dg.AssetsDefinition], partitions: dg.PartitionsDefinition
) -> list[dg.AssetsDefinition]:
    """`assets` with `partitions` on every asset that holds rows per received day."""

    def attach(spec: dg.AssetSpec) -> dg.AssetSpec:
        if holds_received_days(spec):
            return spec.replace_attributes(partitions_def=partitions)
        return spec

    return list(dg.map_asset_specs(attach, assets))
