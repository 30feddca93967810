"""What the Dagster UI shows about operations: the publish asset, the daily partitions (from the
first day of data) of the per-day assets, the backfill policy, groups, kinds, owners,
descriptions, check descriptions and freshness policies."""

import re
from pathlib import Path

import dagster as dg

from orchestration.definitions import build_definitions, defs
from orchestration.defs.freshness import NIGHTLY_FRESHNESS
from orchestration.defs.groups import LAYERS
from orchestration.defs.partitions import WAREHOUSE_POOL
from orchestration.defs.resources import WarehouseResource

PUBLISHED = dg.AssetKey(["published", "marts"])
REPO_ROOT = Path(__file__).resolve().parents[2]


def _graph():
    return defs.get_repository_def().asset_graph


def test_published_marts_runs_after_every_mart_of_the_marts_group():
    graph = _graph()
    node = graph.get(PUBLISHED)
    marts = {
        key for key in graph.get_all_asset_keys()
        if key.path[0] == "marts" and "dbt" in graph.get(key).kinds
    }
    assert {"customer_360", "sessions", "page_views", "page_metrics_daily"} <= {
        key.path[-1] for key in marts
    }
    assert {graph.get(key).group_name for key in marts} == {"marts"}
    assert node.group_name == "publishing"
    assert set(node.parent_keys) == marts
    assert node.kinds == {"duckdb", "parquet", "python"}
    job = defs.get_repository_def().get_job("cdp_nightly")
    assert PUBLISHED in job.asset_layer.selected_asset_keys
    assert {n.name: n.definition.pool for n in job.graph.nodes}["published__marts"] == (
        WAREHOUSE_POOL
    )


def test_the_per_day_assets_share_the_daily_partitions_and_the_rest_is_unpartitioned():
    # raw/* and the staging models hold rows per received day; everything after them is
    # rebuilt whole, so its row counts are whole-table totals on unpartitioned assets
    graph = _graph()
    partitions = graph.get(dg.AssetKey(["raw", "events"])).partitions_def
    assert isinstance(partitions, dg.DailyPartitionsDefinition)
    partitioned = {key.to_user_string() for key in graph.materializable_asset_keys
                   if graph.get(key).partitions_def is not None}
    assert {"raw/events", "raw/load_log", "staging/stg_events__pages",
            "staging/stg_events__identifiers"} <= partitioned
    for key in graph.materializable_asset_keys:
        node = graph.get(key)
        assert node.backfill_policy == dg.BackfillPolicy.single_run(), key
        if key.to_user_string() in partitioned:
            assert node.partitions_def == partitions, key
            assert key.path[0] in ("raw", "staging"), key
        else:
            assert key.path[0] not in ("raw",), key
    assert "staging/junk_identifiers" not in partitioned  # a seed: reference data
    assert "marts/sessions" not in partitioned
    assert "published/marts" not in partitioned


def _first_partition(raw_dir, monkeypatch, start_date=None) -> str:
    if start_date:
        monkeypatch.setenv("CDP_START_DATE", start_date)
    else:
        monkeypatch.delenv("CDP_START_DATE", raising=False)
    definitions = build_definitions(
        WarehouseResource(raw_dir=str(raw_dir), warehouse=str(raw_dir.parent / "w.duckdb"))
    )
    graph = definitions.get_repository_def().asset_graph
    return graph.get(dg.AssetKey(["raw", "events"])).partitions_def.get_first_partition_key()


def test_partitions_start_at_the_first_day_folder_of_the_raw_dir(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    for day in ("2026-03-04", "2026-03-02", "notes"):
        (raw / day).mkdir(parents=True)
    assert _first_partition(raw, monkeypatch) == "2026-03-02"


def test_cdp_start_date_sets_the_first_partition(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    (raw / "2026-03-02").mkdir(parents=True)
    assert _first_partition(raw, monkeypatch, "2026-02-01") == "2026-02-01"


def test_without_day_folders_the_partitions_start_today(tmp_path, monkeypatch):
    import datetime as dt

    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert _first_partition(tmp_path / "empty", monkeypatch) == today


def test_every_asset_has_an_owner_a_description_and_kinds():
    graph = _graph()
    for key in graph.get_all_asset_keys():  # the privacy key (written by raw/events) too
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


def test_every_asset_check_has_a_description():
    graph = _graph()
    for check_key in graph.asset_check_keys:
        description = graph.get_check_spec(check_key).description or ""
        assert len(description) > 20, check_key
        assert not description.startswith("dbt test"), check_key  # said in words or in YAML
    specs = {f"{c.asset_key.to_user_string()}:{c.name}": graph.get_check_spec(c).description
             for c in graph.asset_check_keys}
    assert specs["marts/sessions:unique_sessions_session_id"].startswith("`session_id` is unique")
    split = specs["marts/sessions:assert_sessions_split_by_cap"]  # dbt_project/tests/*.yml
    assert split.startswith("Counts the sessions cut by") and "Severity warn" in split


def test_the_privacy_key_asset_has_a_table_and_columns():
    node = _graph().get(dg.AssetKey(["privacy", "pseudonymisation_key"]))
    assert node.metadata["dagster/table_name"] == "privacy.pseudonymisation_key"
    columns = node.metadata["dagster/column_schema"]
    assert [c.name for c in getattr(columns, "schema", columns).columns] == ["key"]


def _named_layers(document: str, opening: str) -> list[str]:
    """The backticked single words of the sentence of `document` that starts with `opening`."""
    text = " ".join((REPO_ROOT / document).read_text().split())
    sentence = text[text.index(opening):]
    sentence = sentence[:sentence.index(". ")]
    return [word for word in re.findall(r"`([^`]+)`", sentence) if re.fullmatch(r"[a-z_]+", word)]


def test_the_readme_and_the_architecture_name_the_asset_groups_in_order():
    assert {_graph().get(key).group_name for key in _graph().get_all_asset_keys()} == set(LAYERS)
    assert _named_layers("README.md", "Assets are grouped by layer") == list(LAYERS)
    assert _named_layers("docs/architecture.md", "Asset groups are the layers") == list(LAYERS)
