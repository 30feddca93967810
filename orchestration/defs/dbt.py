"""The dbt project as Dagster assets: every model, seed and snapshot, with dbt tests as checks."""

import os
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
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
from orchestration.defs import groups
from orchestration.defs.dbt_metadata import column_schema, describe_test
from orchestration.defs.dbt_project import dbt_project, ensure_manifest
from orchestration.defs.partitions import NIGHTLY_STEP
from orchestration.defs.resources import WarehouseResource
from orchestration.warehouse import rows_per_day, table_columns, table_row_counts


class CdpTranslator(DagsterDbtTranslator):
    """Asset keys are [schema, name], like the tables in the warehouse; groups are the layers
    (the first folder below dbt_project/models; seeds are staging); every test a described
    check."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        meta_key = (dbt_resource_props.get("meta") or {}).get("dagster", {}).get("asset_key")
        if meta_key:
            return dg.AssetKey(meta_key)
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return groups.STAGING
        fqn = dbt_resource_props.get("fqn") or []
        layer = fqn[1] if len(fqn) > 2 else None
        return layer if layer in (groups.STAGING, groups.INTERMEDIATE) else groups.MARTS

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

    def get_asset_check_spec(
        self, asset_spec: dg.AssetSpec, manifest: Mapping[str, Any], unique_id: str,
        project: Any,
    ) -> dg.AssetCheckSpec | None:
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        return spec._replace(description=describe_test(manifest["nodes"][unique_id]))


translator = CdpTranslator(
    settings=DagsterDbtTranslatorSettings(enable_source_tests_as_checks=True)
)


class DbtBuildConfig(dg.Config):
    """Run options of the dbt step."""

    full_refresh: bool = False
    # False: a partitioned run's generic tests read the rows of its received days only (the
    # rows it wrote); True: every test reads every row (a full refresh always does).
    full_tests: bool = False


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
    days = tested_days(context, config)
    settings.scope_dbt_tests(days)
    span = (days[0] if len(days) == 1 else f"{days[0]} .. {days[-1]}") if days else ""
    context.log.info(
        f"dbt tests read the rows received on {span} (the marts and grain checks every row)"
        if days else "dbt tests read every row"
    )
    invocation = dbt.cli(dbt_build_args(config.full_refresh), context=context)
    # DuckDB allows one writer: the dbt process holds the file until it ends, so events are
    # buffered and enriched with row counts and columns read once dbt has let go of the file.
    events: list[Any] = []
    failure: Exception | None = None
    try:
        events.extend(invocation.stream())
    except Exception as exc:  # noqa: BLE001 - re-raised below, after the successes are reported
        failure = exc
    _keep_partial_parse(invocation.target_path)
    facts = _TableFacts.read(warehouse, _partitioned_tables(context))
    for event in events:
        if isinstance(event, dg.Output | dg.AssetMaterialization):
            key = _event_asset_key(context, event)
            if key is not None:
                event = event.with_metadata(
                    {**event.metadata, **_built_metadata(context, event, key, facts)}
                )
        yield event
    if failure is not None:
        raise failure


def tested_days(context: dg.AssetExecutionContext, config: DbtBuildConfig) -> list[str] | None:
    """The received days whose rows the run's tests read: the run's partitions, or None (every
    row) for a full refresh, `full_tests` or a run without partitions."""
    if config.full_refresh or config.full_tests:
        return None
    return _run_days(context) or None


def _partitioned_keys(context: dg.AssetExecutionContext) -> list[dg.AssetKey]:
    """The selected models with daily partitions (the staging models)."""
    return [key for key in context.selected_asset_keys
            if context.assets_def.specs_by_key[key].partitions_def is not None]


def _run_days(context: dg.AssetExecutionContext) -> list[str]:
    """The received days (partitions) of the run; none when it builds no partitioned model."""
    return list(context.partition_keys) if _partitioned_keys(context) else []


@dataclass
class _TableFacts:
    """What the warehouse holds once dbt has let go of it: row counts, columns, and the rows
    per received day of the partitioned tables (for the days of this run)."""

    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    columns: dict[tuple[str, str], list[tuple[str, str]]] = field(default_factory=dict)
    rows_per_day: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)

    @classmethod
    def read(
        cls, warehouse: WarehouseResource, partitioned: dict[tuple[str, str], list[str]]
    ) -> "_TableFacts":
        facts = cls()
        try:
            with warehouse.connect(read_only=True) as conn:
                facts.counts = table_row_counts(conn)
                facts.columns = table_columns(conn)
                for table, days in partitioned.items():
                    if table in facts.columns:  # a table or a view (staging)
                        facts.rows_per_day[table] = rows_per_day(conn, ".".join(table), days)
        except duckdb.Error:
            pass  # no metadata rather than a failed step: the build itself is reported
        return facts


def _partitioned_tables(context: dg.AssetExecutionContext) -> dict[tuple[str, str], list[str]]:
    """The selected partitioned models (the staging models) and the days of this run."""
    days = _run_days(context)
    return {(key.path[0], key.path[-1]): days for key in _partitioned_keys(context)}


def _built_metadata(
    context: dg.AssetExecutionContext, event: Any, key: tuple[str, str], facts: _TableFacts
) -> dict[str, Any]:
    """A built model's metadata: its columns and types; its whole-table row count when it is
    unpartitioned, else each partition's rows (attached to that partition's materialization)."""
    metadata: dict[str, Any] = {}
    spec = context.assets_def.specs_by_key.get(dg.AssetKey(list(key)))
    if key in facts.columns:
        documented = spec.metadata.get("dagster/column_schema") if spec else None
        metadata["dagster/column_schema"] = column_schema(facts.columns[key], documented)
    if key in facts.rows_per_day and isinstance(event, dg.Output):
        for day, rows in facts.rows_per_day[key].items():
            context.add_asset_metadata(
                {"dagster/row_count": rows}, asset_key=spec.key, partition_key=day
            )
    elif key in facts.counts and (spec is None or spec.partitions_def is None):
        metadata["dagster/row_count"] = facts.counts[key]
    return metadata


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


def _event_asset_key(context: dg.AssetExecutionContext, event: Any) -> tuple[str, str] | None:
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
