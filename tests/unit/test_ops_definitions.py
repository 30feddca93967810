"""What the Dagster UI shows about operations: the publish asset, partitions and backfill policy
shared by every asset, kinds, owners, descriptions and freshness policies."""

import dagster as dg

from orchestration.definitions import defs
from orchestration.defs.freshness import NIGHTLY_FRESHNESS
from orchestration.defs.partitions import WAREHOUSE_POOL

PUBLISHED = dg.AssetKey(["published", "marts"])


def _graph():
    return defs.get_repository_def().asset_graph


def test_published_marts_runs_after_every_mart_in_the_marts_group():
    graph = _graph()
    node = graph.get(PUBLISHED)
    marts = {
        key for key in graph.get_all_asset_keys()
        if key.path[0] == "marts" and "dbt" in graph.get(key).kinds
    }
    assert {"customer_360", "sessions", "page_views", "page_metrics_daily"} <= {
        key.path[-1] for key in marts
    }
    assert node.group_name == "marts"
    assert set(node.parent_keys) == marts
    assert node.kinds == {"duckdb", "parquet", "python"}
    job = defs.get_repository_def().get_job("cdp_nightly")
    assert PUBLISHED in job.asset_layer.selected_asset_keys
    assert {n.name: n.definition.pool for n in job.graph.nodes}["published__marts"] == (
        WAREHOUSE_POOL
    )


def test_every_asset_shares_the_daily_partitions_and_backfills_in_one_run():
    graph = _graph()
    partitions = graph.get(dg.AssetKey(["raw", "events"])).partitions_def
    for key in graph.materializable_asset_keys:
        node = graph.get(key)
        assert node.partitions_def == partitions, key
        assert node.backfill_policy == dg.BackfillPolicy.single_run(), key


def test_every_asset_has_an_owner_a_description_and_kinds():
    graph = _graph()
    for key in graph.materializable_asset_keys:
        node = graph.get(key)
        assert node.owners, key
        assert (node.description or "").strip(), key
        assert node.kinds, key
        if "dbt" in node.kinds:
            assert "duckdb" in node.kinds, key
    assert "python" in graph.get(
        dg.AssetKey(["intermediate", "int_identity__resolution"])
    ).kinds  # the dbt Python model


def test_raw_events_every_mart_and_the_published_marts_have_the_nightly_freshness_policy():
    graph = _graph()
    fresh = {
        key for key in graph.materializable_asset_keys
        if graph.get(key).freshness_policy == NIGHTLY_FRESHNESS
    }
    assert dg.AssetKey(["raw", "events"]) in fresh
    assert PUBLISHED in fresh
    assert {key for key in graph.materializable_asset_keys if key.path[0] == "marts"} <= fresh
    assert dg.AssetKey(["staging", "stg_events__pages"]) not in fresh
