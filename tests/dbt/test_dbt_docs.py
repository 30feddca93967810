"""`dbt docs generate` works, every mart and every mart column is described, and the BI
consumers (exposures) and the semantic layer are declared."""

from __future__ import annotations

import json

import pytest
from support.ops_warehouse import dbt_docs

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def docs(tmp_path_factory):
    """manifest.json and catalog.json of `dbt docs generate` on the shared built warehouse."""
    generated = dbt_docs(tmp_path_factory)
    return generated.target, generated.json("manifest.json"), generated.json("catalog.json")


def _marts(manifest: dict) -> dict[str, dict]:
    return {
        uid: node for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "model"
        and node["original_file_path"].startswith("dbt_project/models/marts/")
    }


def undocumented(manifest: dict, catalog: dict) -> list[str]:
    """Marts without a description, and mart columns (as built, from the catalog) without one."""
    missing = []
    for uid, node in sorted(_marts(manifest).items()):
        if not (node.get("description") or "").strip():
            missing.append(f"{node['name']}: no model description")
        built_columns = (catalog["nodes"].get(uid) or {}).get("columns") or {}
        if not built_columns:
            missing.append(f"{node['name']}: not in the catalog (was it built?)")
        documented = {
            name.lower(): (col.get("description") or "").strip()
            for name, col in (node.get("columns") or {}).items()
        }
        for column in built_columns:
            if not documented.get(column.lower()):
                missing.append(f"{node['name']}.{column}: no description")
        for column in documented:
            if built_columns and column not in {c.lower() for c in built_columns}:
                missing.append(f"{node['name']}.{column}: documented but not in the table")
    return missing


def test_dbt_docs_generate_writes_the_site_and_the_catalog(docs):
    target, manifest, catalog = docs
    assert (target / "index.html").exists()
    names = {node["name"] for node in _marts(manifest).values()}
    assert {"customer_360", "sessions", "page_views", "page_metrics_daily", "identity_graph",
            "identity_conflicts", "orders", "time_spine_daily"} <= names


def test_every_mart_and_every_mart_column_is_described(docs):
    _, manifest, catalog = docs
    assert undocumented(manifest, catalog) == []


def test_the_check_fails_when_a_mart_column_lacks_a_description(docs):
    _, manifest, catalog = docs
    uid = next(uid for uid, node in _marts(manifest).items() if node["name"] == "sessions")
    broken = json.loads(json.dumps(manifest))
    broken["nodes"][uid]["columns"]["is_bounce"]["description"] = ""
    del broken["nodes"][uid]["columns"]["has_conversion"]
    found = set(undocumented(broken, catalog)) - set(undocumented(manifest, catalog))
    assert found == {
        "sessions.has_conversion: no description", "sessions.is_bounce: no description",
    }


def test_exposures_name_the_bi_consumers_with_owners_and_marts(docs):
    _, manifest, _ = docs
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    assert {"marketing_dashboard", "product_analytics_notebook"} <= set(exposures)
    marts = {uid for uid in _marts(manifest)}
    for exposure in exposures.values():
        assert exposure["owner"]["name"] and exposure["owner"]["email"]
        assert exposure["description"].strip()
        depends = set(exposure["depends_on"]["nodes"])
        assert depends and depends <= marts, exposure["name"]


def test_the_semantic_layer_declares_the_metrics(docs):
    _, manifest, _ = docs
    metrics = {m["name"] for m in manifest["metrics"].values()}
    assert {"sessions", "bounce_rate", "conversion_rate", "revenue", "customers",
            "new_customers", "active_customers", "orders"} <= metrics
    semantic_models = {m["name"] for m in manifest["semantic_models"].values()}
    assert {"sessions", "page_metrics_daily", "orders", "customers"} <= semantic_models
    spines = [
        node for node in _marts(manifest).values()
        if (node.get("time_spine") or {}).get("standard_granularity_column")
    ]
    assert [node["name"] for node in spines] == ["time_spine_daily"]


def test_staging_models_read_the_loaded_columns_never_the_payload(docs):
    """Parse once: the loader parsed every field a staging model reads (MESSAGE_COLUMNS), so
    no compiled staging model touches the JSON payload."""
    target, _, _ = docs
    compiled = sorted(target.glob("compiled/cdp/**/models/staging/*.sql"))
    assert len(compiled) >= 8
    assert [p.name for p in compiled if "payload" in p.read_text()] == []
