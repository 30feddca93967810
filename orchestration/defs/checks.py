"""Python asset checks: identity-graph health (over-merge warning, with the graph's shape)."""


import dagster as dg

from orchestration import settings
from orchestration.defs.resources import WarehouseResource
from orchestration.identity.health import identity_health

IDENTITY_GRAPH = dg.AssetKey(["marts", "identity_graph"])


@dg.asset_check(
    asset=IDENTITY_GRAPH,
    name="no_over_merged_customer",
    description=(
        "Warns when one customer holds more identifiers than CDP_MAX_IDENTIFIERS_PER_CUSTOMER "
        "(default 50): a likely over-merge. Reports the graph's health as metadata."
    ),
)
def no_over_merged_customer(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect(read_only=True) as conn:
        health = identity_health(conn)
    limit = settings.max_identifiers_per_customer()
    metadata = {
        key: (dg.MetadataValue.json(value) if isinstance(value, dict) else value)
        for key, value in health.items()
    }
    metadata["limit"] = limit
    return dg.AssetCheckResult(
        passed=health["identifiers_per_customer_max"] <= limit,
        severity=dg.AssetCheckSeverity.WARN,
        metadata=metadata,
    )


identity_checks = [no_over_merged_customer]
