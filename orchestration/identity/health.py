"""The identity graph's shape: sizes, the largest customer, conflicts, junk values dropped."""

from __future__ import annotations

import duckdb


def identity_health(conn: duckdb.DuckDBPyConnection) -> dict:
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
