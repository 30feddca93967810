"""`activation/audience_exports`: after every build, each audience's files for its destinations.

Every audience is a dbt model asset (`marts/audience__<name>`); this asset depends on all of
them and writes the export files (orchestration/audiences/). Its materialization carries, per
audience, plain numbers (members, entered, left, left out for lack of consent, customer-match
rows), so the asset page plots them build after build; the same numbers are logged as an
observation of each audience's own asset.
"""

import dagster as dg

from orchestration.audiences import (
    AUDIENCE_PREFIX,
    AudienceError,
    export_audiences,
    export_dir_for,
    load_audiences,
)
from orchestration.defs import groups
from orchestration.defs.dbt import dbt_model_keys
from orchestration.defs.partitions import NIGHTLY_STEP
from orchestration.defs.resources import WarehouseResource

AUDIENCE_EXPORTS = dg.AssetKey(["activation", "audience_exports"])

# The audience models, and the marts the export reads besides them.
AUDIENCE_KEYS = dbt_model_keys("marts", AUDIENCE_PREFIX)
EXPORT_DEPS = [
    *AUDIENCE_KEYS,
    *(key for key in dbt_model_keys("marts")
      if key.path[-1] in ("customer_360", "audience_sizes")),
]


@dg.asset(
    key=AUDIENCE_EXPORTS,
    group_name=groups.ACTIVATION,
    deps=EXPORT_DEPS,
    **NIGHTLY_STEP,
    kinds={"csv", "parquet", "python"},
    owners=["team:data-engineering"],
    description=(
        "Audience files for activation, one folder per destination under CDP_EXPORT_DIR "
        "(default: exports next to the warehouse, data/exports): <audience>.members.csv and "
        ".members.parquet (customer_id, entered_at, the audience's traits) and "
        "<audience>.customer_match.csv (SHA-256 of the normalised email and E.164 phone, as ad "
        "platforms require). Members are customers meeting the audience's condition whose "
        "latest consent allows its category; erased customers never appear. Each file is "
        "written to a temporary file and renamed into place; files of audiences no longer sent "
        "to a destination are removed."
    ),
)
def audience_exports(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    export_dir = export_dir_for(warehouse.warehouse_path)
    try:
        audiences = load_audiences()
        with warehouse.connect(read_only=True) as conn:
            report = export_audiences(conn, export_dir, audiences, log=context.log.info)
    except AudienceError as exc:
        raise dg.Failure(f"audiences: {exc}") from None

    metadata: dict[str, dg.RawMetadataValue] = {
        "export_dir": dg.MetadataValue.path(str(export_dir)),
        "audiences": len(report.audiences),
        "files": len(report.files),
        "removed_files": len(report.removed_files),
        "suppressed": sum(a.suppressed for a in report.audiences),
        "dagster/row_count": sum(a.exported for a in report.audiences),
    }
    for result in report.audiences:
        numbers = {
            "members": result.members,
            "entered": result.entered,
            "left": result.exited,
            "erased": result.erased,
            "excluded_without_consent": result.excluded_without_consent,
            "customer_match_rows": result.customer_match_rows,
        }
        # Plain numbers, so the asset page plots each audience run after run.
        metadata.update({f"{result.name}/{k}": v for k, v in numbers.items()})
        context.log_event(
            dg.AssetObservation(
                asset_key=dg.AssetKey(["marts", AUDIENCE_PREFIX + result.name]),
                metadata={
                    **numbers,
                    "destinations": ", ".join(result.destinations) or "(none)",
                    "built_at": result.built_at or "",
                },
            )
        )
    return dg.MaterializeResult(metadata=metadata)
