"""`cdp explain`: why an identifier belongs to its customer.

Reads the marts of the last build (read-only) and walks the accepted identity edges from every
identifier of the customer to its anchor, naming the message (id and time) of each hop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from orchestration.identifiers import normalise_identifier
from orchestration.identity.resolver import explain_path


def explain_customer(warehouse: Path, identifier_type: str, value: str) -> dict[str, Any]:
    """The customer holding (identifier_type, value), its identifiers and their paths."""
    if not warehouse.exists():
        raise LookupError(f"{warehouse}: no warehouse (run `cdp build` first)")
    try:  # the same normalisation identity resolution applies (emails, phones, junk)
        value = normalise_identifier(identifier_type, value)
    except ValueError as exc:
        raise LookupError(str(exc)) from None
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        found = conn.execute(
            """
            select customer_id, anchor_type, anchor_value from marts.identity_graph
            where identifier_type = ? and identifier_value = ?
            """,
            [identifier_type, value],
        ).fetchone()
        if found is None:
            raise LookupError(f"no {identifier_type} {value!r} in marts.identity_graph")
        customer_id, anchor_type, anchor_value = found
        identifiers = conn.execute(
            """
            select identifier_type, identifier_value, first_seen_at, last_seen_at,
                   first_message_id, messages
            from marts.identity_graph where customer_id = ?
            order by first_seen_at, identifier_type, identifier_value
            """,
            [customer_id],
        ).df()
        # Links inside the customer: every pair of its identifiers seen on one message, a row
        # per message (explain_path keeps the earliest message of each pair). Read from the
        # message identifiers for this customer only: int_identity__edges is a view over all
        # pairs of all messages.
        edges = conn.execute(
            """
            with members as (
                select identifier_type, identifier_value
                from marts.identity_graph where customer_id = $1
            ),
            member_messages as (
                select i.message_id, i.event_at, i.identifier_type, i.identifier_value
                from intermediate.int_identity__message_identifiers i
                join members m
                  on m.identifier_type = i.identifier_type
                 and m.identifier_value = i.identifier_value
            )
            select a.identifier_type as a_type, a.identifier_value as a_value,
                   b.identifier_type as b_type, b.identifier_value as b_value,
                   a.message_id, a.event_at as first_seen_at
            from member_messages a
            join member_messages b
              on b.message_id = a.message_id
             and (a.identifier_type < b.identifier_type
                  or (a.identifier_type = b.identifier_type
                      and a.identifier_value < b.identifier_value))
            """,
            [customer_id],
        ).df()
        conflicts = conn.execute(
            """
            select c.* from marts.identity_conflicts c
            join marts.identity_graph g
              on g.identifier_type = c.identifier_type
             and g.identifier_value = c.identifier_value
            where g.customer_id = ?
            order by occurred_at, message_id
            """,
            [customer_id],
        ).df()

    anchor = (anchor_type, anchor_value)
    rows = []
    for ident in identifiers.to_dict("records"):
        start = (ident["identifier_type"], ident["identifier_value"])
        try:
            path = explain_path(edges, start, anchor)
        except ValueError:
            path = []  # unreachable only if the graph is inconsistent; the dbt tests catch it
        rows.append({**ident, "path": path})
    return {
        "customer_id": customer_id,
        "anchor_type": anchor_type,
        "anchor_value": anchor_value,
        "identifiers": rows,
        "conflicts": conflicts.to_dict("records"),
    }
