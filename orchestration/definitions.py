"""The Dagster code location (`dagster dev` loads it from pyproject.toml)."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.alerts import nightly_failure_alert
from orchestration.defs.audiences import audience_exports
from orchestration.defs.checks import identity_checks
from orchestration.defs.dbt import cdp_dbt_models
from orchestration.defs.dbt_project import dbt_project
from orchestration.defs.freshness import with_freshness_policies
from orchestration.defs.ingest import erased_memberships, pseudonymisation_key, raw_events
from orchestration.defs.jobs import new_dump_folder_sensor, nightly_job, nightly_schedule
from orchestration.defs.partitions import partitions_for, with_daily_partitions
from orchestration.defs.publish import published_marts
from orchestration.defs.resources import CdpDbtCliResource, WarehouseResource


def build_definitions(warehouse: WarehouseResource | None = None) -> dg.Definitions:
    """All definitions; tests and the CLI pass their own warehouse resource.

    Built when the code location loads: the daily partitions start at the first day folder of
    the warehouse's raw dir (or CDP_START_DATE), see orchestration/defs/partitions.py."""
    warehouse = warehouse or WarehouseResource.from_env()
    assets = with_daily_partitions(
        [raw_events, cdp_dbt_models, published_marts, audience_exports],
        partitions_for(warehouse.raw_path),
    )
    return dg.Definitions(
        assets=[*with_freshness_policies(assets), pseudonymisation_key, erased_memberships],
        asset_checks=identity_checks,
        jobs=[nightly_job],
        schedules=[nightly_schedule],
        sensors=[new_dump_folder_sensor, nightly_failure_alert],
        resources={
            "warehouse": warehouse,
            "dbt": CdpDbtCliResource(project_dir=dbt_project),
        },
    )


defs = build_definitions()
