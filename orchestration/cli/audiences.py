"""`cdp audiences`: the audiences, their sizes and destinations."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from orchestration.cli.common import CdpError, console, use_paths, warehouse_error
from orchestration.warehouse import connect


@click.command()
@click.option("--warehouse", type=click.Path(path_type=Path), default=None,
              help="DuckDB file (default: CDP_WAREHOUSE, else data/warehouse.duckdb).")
def audiences(warehouse: Path | None) -> None:
    """Audiences (dbt_project/models/marts/audiences/), their sizes and destinations.

    Members, and who entered, left and was erased (`cdp forget`) on the last build; `no
    consent` counts customers meeting the condition whose latest consent does not allow the
    audience's category.
    """
    import duckdb

    from orchestration.audiences import (
        AudienceError,
        export_dir_for,
        latest_sizes,
        load_audiences,
        member_counts,
    )

    _, wh = use_paths(None, warehouse)
    try:
        defined = load_audiences()
    except AudienceError as exc:
        raise CdpError(str(exc)) from None
    sizes: dict = {}
    counts: dict = {}
    if wh.exists():
        try:
            with connect(wh, read_only=True) as conn:
                sizes = latest_sizes(conn)
                counts = member_counts(conn, defined)
        except duckdb.IOException as exc:
            raise warehouse_error(wh, exc) from None
    if not defined:
        console.print("no audiences defined (add one under dbt_project/models/marts/audiences/)")
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("audience", "members", "entered", "left", "erased", "no consent"):
        table.add_column(column, justify="left" if column == "audience" else "right",
                         no_wrap=True)
    for audience in defined:
        members = counts.get(audience.name)
        size = sizes.get(audience.name) or {}
        table.add_row(
            audience.name,
            "not built" if members is None else f"{members:,}",
            *(f"{size[k]:,}" if size else "-"
              for k in ("entered", "exited", "erased", "excluded_without_consent")),
        )
    console.print(table)
    for audience in defined:
        console.print(
            f"\n{audience.name}: {audience.description}\n  where {audience.condition}\n"
            f"  consent {audience.consent_category}; destinations "
            f"{', '.join(audience.destinations) or '(none)'}",
            markup=False, highlight=False,
        )
    built = max((str(s["built_at"])[:19] for s in sizes.values()), default=None)
    if built:
        console.print(
            f"\nas of the build of {built} UTC in {wh}; files under "
            f"{export_dir_for(wh)}/<destination>/", markup=False,
        )
    elif not wh.exists():
        console.print(f"{wh}: no warehouse yet (run `cdp build`)")
