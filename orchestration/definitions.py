"""The Dagster code location (`dagster dev` loads it from pyproject.toml)."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.alerts import nightly_failure_alert
from orchestration.defs.audiences import audience_exports
from orchestration.defs.checks import identity_checks
from orchestration.defs.dbt import cdp_dbt_models
from orchestration.defs.dbt_project import dbt_project
from orchestration.defs.freshness import with_freshness_policies
from orchestration.defs.ingest import raw_events
from orchestration.defs.jobs import new_dump_folder_sensor, nightly_job, nightly_schedule
from orchestration.defs.publish import published_marts
from orchestration.defs.resources import CdpDbtCliResource, WarehouseResource


def build_definitions(warehouse: WarehouseResource | None = None) -> dg.Definitions:
    """All definitions; tests and the CLI pass their own warehouse resource."""
    return dg.Definitions(
        assets=with_freshness_policies(
            [raw_events, cdp_dbt_models, published_marts, audience_exports]
        ),
        asset_checks=identity_checks,
        jobs=[nightly_job],
        schedules=[nightly_schedule],
        sensors=[new_dump_folder_sensor, nightly_failure_alert],
        resources={
            "warehouse": warehouse or WarehouseResource.from_env(),
            "dbt": CdpDbtCliResource(project_dir=dbt_project),
        },
    )


defs = build_definitions()
