"""`cdp forget` and `cdp export`: GDPR erasure and access requests."""

from __future__ import annotations

from pathlib import Path

import click

from orchestration.cli.common import (
    CdpError,
    console,
    identifier_options,
    one_identifier,
    use_paths,
    warehouse_error,
)
from orchestration.warehouse import connect


@click.command()
@identifier_options
def forget(
    user_id: str | None, email: str | None, anonymous_id: str | None, phone: str | None,
    warehouse: Path | None,
) -> None:
    """GDPR erasure request: the next build erases the whole customer of this identifier.

    Only a salted hash of the identifier is stored (privacy.requests). The next `cdp build`
    (or nightly run) deletes every message, quarantined line and derived row of the customer
    and adds its identifiers to the suppression list, so later dumps carrying them are dropped
    at load time.
    """
    import duckdb

    from orchestration import privacy

    identifier_type, value = one_identifier(user_id, email, anonymous_id, phone)
    _, wh = use_paths(None, warehouse)
    if not wh.exists():
        raise CdpError(f"{wh}: no warehouse (run `cdp build` first, or pass --warehouse)")
    try:
        with connect(wh) as conn:
            known = privacy.identifier_in_graph(conn, identifier_type, value)
            request_id, created = privacy.record_request(conn, identifier_type, value)
    except ValueError as exc:
        raise CdpError(str(exc)) from None
    except privacy.PrivacyError as exc:
        raise CdpError(f"privacy: {exc}") from None
    except duckdb.IOException as exc:
        raise warehouse_error(wh, exc) from None
    verb = "recorded" if created else "already pending as"
    console.print(
        f"erasure request {verb} [bold]{request_id}[/] ({identifier_type}; only its salted hash "
        "is stored). The next `cdp build` erases the customer and suppresses its identifiers."
    )
    if not known:
        console.print(
            f"note: this {identifier_type} is not in marts.identity_graph of the last build: "
            "the messages carrying it will be erased, but no other identifier can be tied to it."
        )


@click.command("export")
@identifier_options
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="JSON file to write (it holds personal data: created with mode 0600).")
def export_command(
    user_id: str | None, email: str | None, anonymous_id: str | None, phone: str | None,
    warehouse: Path | None, out: Path,
) -> None:
    """Access request: everything held on the customer of this identifier, as one JSON file.

    Identifiers (identity graph), the customer_360 row and traits, identity conflicts, every
    raw message carrying one of its identifiers (payload parsed), quarantined lines mentioning
    one, sessions, page views and screen views. Reads the warehouse read-only.
    """
    import duckdb

    from orchestration import privacy

    identifier_type, value = one_identifier(user_id, email, anonymous_id, phone)
    _, wh = use_paths(None, warehouse)
    try:
        report = privacy.export_customer(wh, identifier_type, value)
    except (LookupError, ValueError) as exc:
        raise CdpError(str(exc)) from None
    except duckdb.IOException as exc:
        raise warehouse_error(wh, exc) from None
    path = privacy.write_export(report, out)
    console.print(
        f"wrote {path}: customer {report['customer_id']}, {len(report['identifiers'])} "
        f"identifiers, {len(report['events'])} events, {len(report['sessions'])} sessions, "
        f"{len(report['page_views'])} page views, {len(report['screen_views'])} screen views, "
        f"{len(report['quarantined_lines'])} quarantined lines",
        markup=False,
    )
