"""The dbt project as Dagster assets: every model, seed and snapshot, with dbt tests as checks."""


import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)

from orchestration import settings
from orchestration.defs.dbt_project import dbt_project, ensure_manifest
from orchestration.defs.partitions import NIGHTLY_STEP
from orchestration.defs.resources import WarehouseResource
from orchestration.warehouse import table_row_counts

# Folder below dbt_project/models (or resource type) -> Dagster asset group.
GROUPS = {
    "staging": "staging",
    "identity": "identity",
    "sessions": "sessions",
    "privacy": "privacy",
    "marts": "marts",
}


class CdpTranslator(DagsterDbtTranslator):
    """Asset keys are [schema, name], like the tables in the warehouse; groups by folder."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        meta_key = (dbt_resource_props.get("meta") or {}).get("dagster", {}).get("asset_key")
        if meta_key:
            return dg.AssetKey(meta_key)
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn") or []
        for part in reversed(fqn[1:-1]):
            if part in GROUPS:
                return GROUPS[part]
        if dbt_resource_props["resource_type"] == "seed":
            return "staging"
        return "marts"

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        return ["team:data-engineering"]

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: Any
    ) -> dg.AssetSpec:
        # Kinds are the UI's icons: dbt and duckdb come from dagster-dbt; Python models add python.
        spec = super().get_asset_spec(manifest, unique_id, project)
        if self.get_resource_props(manifest, unique_id).get("language") == "python":
            spec = spec.merge_attributes(kinds={"python"})
        return spec


translator = CdpTranslator(
    settings=DagsterDbtTranslatorSettings(enable_source_tests_as_checks=True)
)


class DbtBuildConfig(dg.Config):
    """Run options of the dbt step."""

    full_refresh: bool = False


def dbt_build_args(full_refresh: bool = False) -> list[str]:
    """The `dbt build` command line of a run.

    The partition range is not passed: the load step stamps every day it (re)loads in
    raw.load_log and each incremental model processes the days loaded since its last run
    (dbt_project/macros/incremental.sql). Passing the range as `--vars` would also make dbt
    re-parse the whole project on every run (changed vars invalidate partial parsing).
    """
    args = ["build"]
    if full_refresh:
        args.append("--full-refresh")
    return args


@dbt_assets(
    manifest=ensure_manifest(),
    project=dbt_project,
    dagster_dbt_translator=translator,
    **NIGHTLY_STEP,
)
def cdp_dbt_models(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    config: DbtBuildConfig,
) -> Iterator[Any]:
    # dbt reads the warehouse path from the profile's CDP_WAREHOUSE: keep it the resource's.
    settings.point_dbt_at(warehouse.warehouse_path)
    invocation = dbt.cli(dbt_build_args(config.full_refresh), context=context)
    # DuckDB allows one writer: the dbt process holds the file until it ends, so events are
    # buffered and enriched with row counts read once dbt has let go of the warehouse.
    events: list[Any] = []
    failure: Exception | None = None
    try:
        events.extend(invocation.stream())
    except Exception as exc:  # noqa: BLE001 - re-raised below, after the successes are reported
        failure = exc
    _keep_partial_parse(invocation.target_path)
    counts = _row_counts(warehouse)
    for event in events:
        if isinstance(event, dg.Output | dg.AssetMaterialization):
            key = _event_asset_key(context, event)
            if key is not None and key in counts:
                event = event.with_metadata({**event.metadata, "dagster/row_count": counts[key]})
        yield event
    if failure is not None:
        raise failure


def _keep_partial_parse(run_target: Path) -> None:
    """Keep this run's parse state for the next run.

    dagster-dbt gives every run its own target folder, seeded with the project's
    `partial_parse.msgpack`; the state is only valid for the profile it was made with (the
    warehouse path is part of it), so without copying it back every run on another warehouse
    than the last `dbt parse` re-parses the whole project (10-20 s).
    """
    produced = Path(run_target) / "partial_parse.msgpack"
    if not produced.exists():
        return
    kept = Path(dbt_project.project_dir) / dbt_project.target_path / "partial_parse.msgpack"
    staging = kept.with_suffix(".msgpack.tmp")
    try:
        shutil.copyfile(produced, staging)
        os.replace(staging, kept)
    except OSError:
        pass  # only a cache: the next run parses in full


def _row_counts(warehouse: WarehouseResource) -> dict[tuple[str, ...], int]:
    try:
        with warehouse.connect(read_only=True) as conn:
            return table_row_counts(conn)
    except duckdb.Error:
        return {}


def _event_asset_key(context: dg.AssetExecutionContext, event: Any) -> tuple[str, ...] | None:
    if isinstance(event, dg.AssetMaterialization):
        return tuple(event.asset_key.path)
    try:
        return tuple(context.asset_key_for_output(event.output_name).path)
    except Exception:  # noqa: BLE001 - an output we do not know has no row count
        return None


def dbt_model_keys(schema: str, name_prefix: str = "") -> list[dg.AssetKey]:
    """The asset keys of the dbt models in `schema` whose names start with `name_prefix`,
    sorted: what a Python asset downstream of those models depends on."""
    return sorted(
        (key for key in cdp_dbt_models.keys
         if key.path[0] == schema and key.path[-1].startswith(name_prefix)),
        key=lambda key: key.to_user_string(),
    )
