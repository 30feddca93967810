"""The Dagster code location (`dagster dev` loads it from pyproject.toml)."""

from __future__ import annotations

import dagster as dg

from orchestration.assets.audiences import audience_exports
from orchestration.assets.dbt import cdp_dbt_models
from orchestration.assets.ingestion import raw_events
from orchestration.assets.publish import published_marts
from orchestration.checks import identity_checks
from orchestration.dbt_project import dbt_project
from orchestration.freshness import with_freshness_policies
from orchestration.jobs import new_dump_folder_sensor, nightly_job, nightly_schedule
from orchestration.resources import CdpDbtCliResource, WarehouseResource


def build_definitions(warehouse: WarehouseResource | None = None) -> dg.Definitions:
    """All definitions; tests and the CLI pass their own warehouse resource."""
    return dg.Definitions(
        assets=with_freshness_policies(
            [raw_events, cdp_dbt_models, published_marts, audience_exports]
        ),
        asset_checks=identity_checks,
        jobs=[nightly_job],
        schedules=[nightly_schedule],
        sensors=[new_dump_folder_sensor],
        resources={
            "warehouse": warehouse or WarehouseResource.from_env(),
            "dbt": CdpDbtCliResource(project_dir=dbt_project),
        },
    )


defs = build_definitions()
