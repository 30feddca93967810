"""Python asset checks: identity-graph health (over-merge warning, with the graph's shape)."""


import os

import dagster as dg

from orchestration.resources import WarehouseResource

IDENTITY_GRAPH = dg.AssetKey(["marts", "identity_graph"])


def max_identifiers_per_customer() -> int:
    """Above this many identifiers a customer is a likely over-merge (shared device, bot)."""
    return int(os.environ.get("CDP_MAX_IDENTIFIERS_PER_CUSTOMER", "50"))


def identity_health(conn) -> dict:
    """Shape of the identity graph: sizes, the largest customer, conflicts, junk dropped."""
    sizes = conn.execute("""
        select count(*) as customers,
               coalesce(quantile_disc(identifiers, 0.5), 0),
               coalesce(quantile_disc(identifiers, 0.99), 0),
               coalesce(max(identifiers), 0),
               coalesce(arg_max(customer_id, identifiers), '')
        from (select customer_id, count(*) as identifiers
              from marts.identity_graph group by customer_id)
    """).fetchone()
    identifiers = conn.execute("select count(*) from marts.identity_graph").fetchone()[0]
    conflicts = dict(conn.execute(
        "select rule, count(*) from marts.identity_conflicts group by rule order by rule"
    ).fetchall())
    junk = dict(conn.execute("""
        select identifier_type, count(*) from staging.stg_events__identifiers
        where is_junk group by identifier_type order by identifier_type
    """).fetchall())
    return {
        "customers": int(sizes[0]),
        "identifiers": int(identifiers),
        "identifiers_per_customer_p50": int(sizes[1]),
        "identifiers_per_customer_p99": int(sizes[2]),
        "identifiers_per_customer_max": int(sizes[3]),
        "largest_customer_id": str(sizes[4]),
        "conflicts_by_rule": {str(k): int(v) for k, v in conflicts.items()},
        "junk_values_dropped": {str(k): int(v) for k, v in junk.items()},
    }


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
    limit = max_identifiers_per_customer()
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
