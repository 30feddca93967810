"""`raw/events` and `raw/load_log`: load day folders of dumps into the warehouse."""

from collections.abc import Iterator

import dagster as dg

from orchestration.audiences import discard_exports, export_dir_for
from orchestration.defs.partitions import NIGHTLY_STEP
from orchestration.defs.resources import WarehouseResource
from orchestration.ingest.contract import LineAccountingError
from orchestration.ingest.duckdb_loader import load_days
from orchestration.privacy import (
    PrivacyError,
    apply_pending_erasures,
    compact_warehouse,
    consent_excluded_messages,
)


class RawEventsConfig(dg.Config):
    """Run options of the load step."""

    # A partition materialized from the UI reloads its folder; `cdp build` sets this so a
    # run over many days only reads the folders that are new or changed since their load.
    only_changed_days: bool = False


RAW_EVENTS = dg.AssetKey(["raw", "events"])
LOAD_LOG = dg.AssetKey(["raw", "load_log"])


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            RAW_EVENTS,
            description=(
                "Segment-spec messages from the dump folder of each day "
                "(CDP_RAW_DIR/YYYY-MM-DD), deduplicated by messageId, with every rejected line "
                "in raw.quarantine. A day is replaced atomically. Before loading, applies "
                "pending erasure requests (cdp forget) to every day; messages carrying an "
                "erased identifier are suppressed at load (counted, never stored)."
            ),
            kinds={"duckdb", "python"},
            owners=["team:data-engineering"],
            group_name="ingestion",
        ),
        dg.AssetSpec(
            LOAD_LOG,
            description=(
                "One row per loaded day: when it was loaded and what happened to its lines. "
                "The incremental dbt models process the days loaded since their last run."
            ),
            kinds={"duckdb"},
            owners=["team:data-engineering"],
            group_name="ingestion",
        ),
    ],
    name="raw__events",
    **NIGHTLY_STEP,
)
def raw_events(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, config: RawEventsConfig
) -> Iterator[dg.MaterializeResult]:
    days = [key for key in context.partition_keys]
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
        total_rows = conn.execute("select count(*) from raw.events").fetchone()[0]
        load_log_rows = conn.execute("select count(*) from raw.load_log").fetchone()[0]
        consent_excluded = consent_excluded_messages(conn, [r.received_date for r in reports])

    by_reason: dict[str, int] = {}
    for report in reports:
        for reason, count in report.quarantine_by_reason.items():
            by_reason[reason] = by_reason.get(reason, 0) + count
    lines = sum(r.lines for r in reports)
    metadata: dict[str, dg.RawMetadataValue] = {
        "days_loaded": len(reports),
        "files": sum(r.files for r in reports),
        "empty_files": sum(r.empty_files for r in reports),
        "unreadable_files": sum(r.unreadable_files for r in reports),
        "lines_read": lines,
        "events_loaded": sum(r.loaded for r in reports),
        "duplicates": sum(r.duplicates for r in reports),
        "quarantined": sum(r.quarantined for r in reports),
        "quarantine_by_reason": dg.MetadataValue.json(by_reason),
        # privacy (orchestration/privacy/)
        "suppressed": sum(r.suppressed for r in reports),
        "erasure_requests_completed": erasures.requests_completed,
        "erased_rows": erasures.total_rows_removed,
        "erased_rows_by_table": dg.MetadataValue.json(erasures.rows_removed),
        "erasure_shared_sessions": erasures.shared_sessions,
        "consent_excluded_messages": consent_excluded,
        "dagster/row_count": int(total_rows),
        "load_seconds": round(sum(r.seconds for r in reports), 2),
        "per_day": dg.MetadataValue.md(_per_day_table(reports)),
    }
    if lines:
        metadata["quarantine_rate"] = round(metadata["quarantined"] / lines, 5)
    yield dg.MaterializeResult(asset_key=RAW_EVENTS, metadata=metadata)
    yield dg.MaterializeResult(
        asset_key=LOAD_LOG,
        metadata={"days_loaded": len(reports), "dagster/row_count": int(load_log_rows)},
    )


def _per_day_table(reports: list) -> str:
    rows = [
        "| day | files | lines | loaded | duplicates | suppressed | quarantined |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in reports[-60:]:
        rows.append(
            f"| {r.received_date} | {r.files} | {r.lines} | {r.loaded} | {r.duplicates} | "
            f"{r.suppressed} | {r.quarantined} |"
        )
    return "\n".join(rows)
