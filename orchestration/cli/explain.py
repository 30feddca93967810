"""`cdp explain`: why an identifier belongs to its customer."""

from __future__ import annotations

import json
from pathlib import Path

import click
import duckdb

from orchestration.cli.common import (
    CdpError,
    console,
    identifier_options,
    one_identifier,
    use_paths,
    warehouse_error,
)


@click.command()
@identifier_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def explain(
    user_id: str | None, email: str | None, anonymous_id: str | None, phone: str | None,
    warehouse: Path | None, as_json: bool,
) -> None:
    """The customer of an identifier, its identifiers, and the links joining each to the anchor."""
    from orchestration.identity.explain import explain_customer

    identifier = one_identifier(user_id, email, anonymous_id, phone)
    _, wh = use_paths(None, warehouse)
    try:
        report = explain_customer(wh, *identifier)
    except LookupError as exc:
        raise CdpError(str(exc)) from None
    except duckdb.IOException as exc:
        raise warehouse_error(wh, exc) from None
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
        return
    _print_explanation(report)


def _print_explanation(report: dict) -> None:
    idents = report["identifiers"]
    console.print(
        f"customer [bold]{report['customer_id']}[/]: {len(idents)} identifiers, anchor "
        f"{report['anchor_type']} {report['anchor_value']}"
    )
    for ident in idents:
        console.print(
            f"\n  {ident['identifier_type']:<13} {ident['identifier_value']}"
            f"   seen {_ts(ident['first_seen_at'])} .. {_ts(ident['last_seen_at'])}"
            f" in {ident['messages']} message(s)", markup=False,
        )
        if not ident["path"]:
            console.print("      (the anchor)")
        for hop in ident["path"]:
            console.print(
                f"      -> {hop['to_type']} {hop['to_value']}  by message {hop['message_id']}"
                f" at {_ts(hop['first_seen_at'])}", markup=False,
            )
    if report["conflicts"]:
        console.print(f"\n{len(report['conflicts'])} link(s) set aside by merge protection:")
        for c in report["conflicts"]:
            console.print(
                f"  {c['identifier_type']} {c['identifier_value']} not joined to "
                f"{c['conflicting_identifier_type']} {c['conflicting_identifier_value']} "
                f"({c['rule']}; message {c['message_id']} at {_ts(c['occurred_at'])})",
                markup=False,
            )


def _ts(value: object) -> str:
    return str(value)[:19]
