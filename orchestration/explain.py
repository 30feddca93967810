"""`cdp explain`: why an identifier belongs to its customer.

Reads the marts of the last build (read-only) and walks the accepted identity edges from every
identifier of the customer to its anchor, naming the message (id and time) of each hop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from orchestration.identity import explain_path
from orchestration.privacy import normalise_identifier


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
        # Accepted links inside the customer: both ends in it, neither end set aside on the
        # message that first showed the pair.
        edges = conn.execute(
            """
            with members as (
                select identifier_type, identifier_value
                from marts.identity_graph where customer_id = $1
            )
            select e.a_type, e.a_value, e.b_type, e.b_value,
                   e.first_message_id as message_id, e.first_seen_at
            from intermediate.int_identity__edges e
            join members a on a.identifier_type = e.a_type and a.identifier_value = e.a_value
            join members b on b.identifier_type = e.b_type and b.identifier_value = e.b_value
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
