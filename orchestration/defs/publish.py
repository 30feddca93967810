"""`published/marts`: after every successful build, the marts as a read-only file for BI."""

import json

import dagster as dg

from orchestration.defs import groups
from orchestration.defs.dbt import dbt_model_keys
from orchestration.defs.dbt_project import dbt_project
from orchestration.defs.partitions import NIGHTLY_STEP
from orchestration.defs.resources import WarehouseResource
from orchestration.publish import (
    dbt_descriptions,
    default_parquet_dir,
    headline_metrics,
    publish_marts,
)

PUBLISHED_MARTS = dg.AssetKey(["published", "marts"])

# Every dbt model in schema `marts`: the publish step runs only when all of them succeeded.
MART_KEYS = dbt_model_keys("marts")


@dg.asset(
    key=PUBLISHED_MARTS,
    group_name=groups.PUBLISHING,
    deps=MART_KEYS,
    **NIGHTLY_STEP,
    kinds={"duckdb", "parquet", "python"},
    owners=["team:data-engineering"],
    description=(
        "The marts for BI tools: a read-only DuckDB file (CDP_PUBLISH, default "
        "data/analytics.duckdb; schema `marts` as in the warehouse plus `marts.build_info`) and "
        "<publish dir>/parquet/<mart>.parquet. Written to a new file and renamed into place, so "
        "readers never see half a build and never block the nightly build. Runs only when every "
        "mart was built; a failed run leaves the previous files as they were."
    ),
)
def published_marts(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    target = warehouse.publish_path
    result = publish_marts(
        warehouse.warehouse_path,
        target,
        default_parquet_dir(target),
        descriptions=_mart_descriptions(context),
    )
    counts = result["row_counts"]
    context.log.info(
        f"published {len(counts)} marts to {target} and {result['parquet_dir']} "
        f"(build {result['build_id']}, {result['seconds']}s)"
    )
    metadata: dict[str, dg.RawMetadataValue] = {
        "path": dg.MetadataValue.path(str(target)),
        "parquet_dir": dg.MetadataValue.path(result["parquet_dir"]),
        "build_id": result["build_id"],
        "published_at": result["published_at"],
        "tables": len(counts),
        "dagster/row_count": sum(counts.values()),
        "row_counts": dg.MetadataValue.json(counts),
        "publish_seconds": result["seconds"],
    }
    # Plain numbers, so the asset page plots them run after run.
    metadata.update(headline_metrics(target))
    return dg.MaterializeResult(metadata=metadata)


def _mart_descriptions(context: dg.AssetExecutionContext) -> dict:
    try:
        manifest = json.loads(dbt_project.manifest_path.read_text())
    except (OSError, ValueError) as exc:
        context.log.warning(f"no dbt descriptions for the published marts: {exc}")
        return {}
    return dbt_descriptions(manifest)
