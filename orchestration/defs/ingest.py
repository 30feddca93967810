"""`raw/events` and `raw/load_log`: load day folders of dumps into the warehouse.

Both are partitioned by received day, and each partition's metadata says what that day holds:
its rows, what its last load read, loaded, counted as duplicates or suppressed, and
quarantined (raw.load_log). The load also applies pending erasure requests and keeps the
pseudonymisation key: whole-warehouse numbers, recorded on the unpartitioned
`privacy/pseudonymisation_key`."""

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg

from orchestration.audiences import discard_exports, export_dir_for
from orchestration.defs import groups
from orchestration.defs.partitions import NIGHTLY_STEP
from orchestration.defs.resources import WarehouseResource
from orchestration.ingest.accounting import LineAccountingError
from orchestration.ingest.duckdb_loader import day_accounts, load_days
from orchestration.privacy import (
    ErasureReport,
    PrivacyError,
    apply_pending_erasures,
    compact_warehouse,
    consent_excluded_by_day,
    privacy_counts,
)


class RawEventsConfig(dg.Config):
    """Run options of the load step."""

    # A partition materialized from the UI reloads its folder; `cdp build` sets this so a
    # run over many days only reads the folders that are new or changed since their load.
    only_changed_days: bool = False


RAW_EVENTS = dg.AssetKey(["raw", "events"])
LOAD_LOG = dg.AssetKey(["raw", "load_log"])
PSEUDONYMISATION_KEY = dg.AssetKey(["privacy", "pseudonymisation_key"])
OWNERS = ["team:data-engineering"]

def _privacy_table(key: dg.AssetKey, description: str, written_by: str, read_by: str,
                   columns: list[dg.TableColumn] | None = None) -> dg.AssetSpec:
    """A privacy table the load step writes and dbt reads (in the ingestion group)."""
    metadata: dict[str, Any] = {"dagster/table_name": ".".join(key.path)}
    if columns:
        metadata["dagster/column_schema"] = dg.TableSchema(columns=columns)
    return dg.AssetSpec(
        key, description=description, group_name=groups.INGESTION, kinds={"duckdb"},
        owners=OWNERS, metadata={**metadata, "written_by": written_by, "read_by": read_by},
    )


# Written by the load step (orchestration/privacy/salt.py), read by dbt as the source
# privacy.pseudonymisation_key: an asset of its own, whose materializations the load step logs.
pseudonymisation_key = _privacy_table(
    PSEUDONYMISATION_KEY,
    "One row: the key of the keyed hashes in marts.customer_360_pseudonymised, derived from "
    "the privacy salt (CDP_PRIVACY_SALT or the salt file) and checked or written by the load "
    "step before every dbt run, which also applies pending erasure requests. Never "
    "published: whoever reads it can recompute pseudonyms from known values. Its "
    "materializations carry the erasure and suppression counts of each run.",
    written_by="raw/events (orchestration/privacy/salt.py)",
    read_by="marts/customer_360_pseudonymised",
    columns=[dg.TableColumn("key", "VARCHAR", description="64 hex characters.")],
)

# privacy.erased_memberships: counts the erasure step writes, read by marts.audience_sizes.
erased_memberships = _privacy_table(
    dg.AssetKey(["privacy", "erased_memberships"]),
    "Per erasure request and audience, how many erased customers were members after the "
    "last build (counts only, no ids). Written by the erasure step of the load before it "
    "deletes their membership history; read by marts.audience_sizes (column erased).",
    written_by="raw/events (orchestration/privacy/erasure.py)",
    read_by="marts/audience_sizes",
)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            RAW_EVENTS,
            description=(
                "Segment-spec messages from the dump folder of each day "
                "(CDP_RAW_DIR/YYYY-MM-DD), deduplicated by messageId, with every rejected line "
                "in raw.quarantine. A day is replaced atomically. Before loading, applies "
                "pending erasure requests (cdp forget) to every day; messages carrying an "
                "erased identifier are suppressed at load (counted, never stored). Each "
                "partition's metadata: the day's rows and its last load's line accounting."
            ),
            kinds={"duckdb", "python"},
            owners=OWNERS,
            group_name=groups.INGESTION,
            metadata={"dagster/table_name": "raw.events"},
        ),
        dg.AssetSpec(
            LOAD_LOG,
            description=(
                "One row per loaded day: when it was loaded and what happened to its lines. "
                "The incremental dbt models process the days loaded since their last run."
            ),
            kinds={"duckdb"},
            owners=OWNERS,
            group_name=groups.INGESTION,
            metadata={"dagster/table_name": "raw.load_log"},
        ),
    ],
    name="raw__events",
    **NIGHTLY_STEP,
)
def raw_events(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, config: RawEventsConfig
) -> Iterator[dg.MaterializeResult]:
    days = list(context.partition_keys)
    # Erasures first, so that this run's loads already suppress the erased identifiers; then
    # the file is rewritten so the erased rows' bytes do not linger in DuckDB's free blocks.
    try:
        with warehouse.connect() as conn:
            erasures = apply_pending_erasures(conn, log=context.log.info)
    except PrivacyError as exc:
        raise dg.Failure(f"privacy: {exc}") from None
    if erasures.requests_completed:
        # The last build's audience files may hold the erased people: remove them now, the
        # export step of this run writes them again (without them) if the run succeeds.
        removed = discard_exports(export_dir_for(warehouse.warehouse_path))
        if removed:
            context.log.info(f"removed {len(removed)} audience export file(s) after erasure")
        sizes = compact_warehouse(warehouse.warehouse_path)
        context.log.info(
            f"rewrote {warehouse.warehouse_path.name} without the erased rows: "
            f"{sizes['bytes_before']:,} -> {sizes['bytes_after']:,} bytes"
        )
    with warehouse.connect() as conn:
        try:
            reports = load_days(
                conn, warehouse.raw_path, days,
                only_changed=config.only_changed_days, log=context.log,
            )
        except LineAccountingError as exc:
            raise dg.Failure(str(exc)) from None
        accounts = day_accounts(conn, days)
        consent_excluded = consent_excluded_by_day(conn, days)
        privacy = privacy_counts(conn)

    context.log_event(dg.AssetMaterialization(
        PSEUDONYMISATION_KEY, metadata=_privacy_metadata(erasures, privacy)
    ))
    reloaded = {str(report.received_date) for report in reports}
    for day in days:
        day_metadata = _day_metadata(
            accounts.get(day), day in reloaded, consent_excluded.get(day, 0),
            warehouse.raw_path / day,
        )
        context.add_asset_metadata(day_metadata["events"], asset_key=RAW_EVENTS, partition_key=day)
        context.add_asset_metadata(day_metadata["load_log"], asset_key=LOAD_LOG, partition_key=day)
    context.log.info(
        f"{len(reloaded)} of {len(days)} day(s) loaded, "
        f"{sum(r.loaded for r in reports):,} events"
    )
    yield dg.MaterializeResult(asset_key=RAW_EVENTS)
    yield dg.MaterializeResult(asset_key=LOAD_LOG)


def _day_metadata(
    account: dict[str, Any] | None, reloaded: bool, consent_excluded: int, folder: Path
) -> dict[str, dict[str, Any]]:
    """One partition's metadata of raw/events and raw/load_log: what the day holds now and what
    its last load did (`reloaded`: this run read its folder); zeros for a day never loaded."""
    if account is None:
        empty: dict[str, Any] = {
            "dagster/row_count": 0, "reloaded": False, "folder": dg.MetadataValue.path(str(folder)),
            "folder_missing": not folder.is_dir(),
        }
        return {"events": empty, "load_log": {"dagster/row_count": 0}}
    events: dict[str, Any] = {
        "dagster/row_count": int(account["rows"]),
        "reloaded": reloaded,
        "folder": dg.MetadataValue.path(str(folder)),
        "files": int(account["files"]),
        "empty_files": int(account["empty_files"]),
        "unreadable_files": int(account["unreadable_files"]),
        "lines_read": int(account["lines"]),
        "events_loaded": int(account["loaded"]),
        "duplicates": int(account["duplicates"]),
        "suppressed": int(account["suppressed"]),
        "quarantined": int(account["quarantined"]),
        "quarantine_by_reason": dg.MetadataValue.json(account["quarantine_by_reason"]),
        "consent_excluded_messages": consent_excluded,
        "load_seconds": float(account["seconds"] or 0),
    }
    if account["lines"]:
        events["quarantine_rate"] = round(account["quarantined"] / account["lines"], 5)
    load_log: dict[str, Any] = {
        "dagster/row_count": 1,
        "loaded_at": dg.MetadataValue.timestamp(_utc(account["loaded_at"])),
    }
    return {"events": events, "load_log": load_log}


def _privacy_metadata(
    erasures: ErasureReport, counts: dict[str, int]
) -> dict[str, Any]:
    """The privacy key's materialization: this run's erasures and the privacy tables' sizes."""
    return {
        "erasures_completed_this_run": erasures.requests_completed,
        "erased_rows": erasures.total_rows_removed,
        "erased_rows_by_table": dg.MetadataValue.json(erasures.rows_removed),
        "erasure_shared_sessions": erasures.shared_sessions,
        **counts,
        "dagster/row_count": 1,
    }


def _utc(value: dt.datetime) -> float:
    """raw.load_log's times are naive UTC."""
    return value.replace(tzinfo=dt.UTC).timestamp()
