"""Every mart carries an enforced dbt model contract: a type on every column, written in the
project's portable spelling, so a BI schema cannot drift silently (a build whose SQL changes a
column fails on that model; tests/dbt and tests/spark build them on DuckDB and on Spark)."""

import json

from orchestration.defs.dbt_project import ensure_manifest

# Types both DuckDB and Spark parse (docs/data-contract.md#marts).
PORTABLE_TYPES = {"string", "bigint", "double", "boolean", "date", "timestamp", "decimal(28,6)"}


def test_every_mart_enforces_its_contract_with_a_portable_type_on_every_column():
    manifest = json.loads(ensure_manifest().read_text())
    marts = [node for node in manifest["nodes"].values()
             if node["resource_type"] == "model" and node["schema"] == "marts"]
    names = {mart["name"] for mart in marts}
    assert {"sessions", "page_views", "customer_360", "audience_sizes"} <= names
    for mart in marts:
        assert mart["config"]["contract"]["enforced"], mart["name"]
        assert mart["columns"], mart["name"]
        for column in mart["columns"].values():
            assert column["data_type"] in PORTABLE_TYPES, (mart["name"], column["name"])
