"""`cdp explain`: why an identifier belongs to its customer.

Reads the marts of the last build (read-only) and walks the accepted identity edges from every
identifier of the customer to its anchor, naming the message (id and time) of each hop.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

import pandas as pd

from orchestration.identifiers import normalise_identifier
from orchestration.warehouse import connect

#: Columns of the edge list :func:`explain_path` walks.
EDGE_COLUMNS = ["a_type", "a_value", "b_type", "b_value", "message_id", "first_seen_at"]


def explain_customer(warehouse: Path, identifier_type: str, value: str) -> dict[str, Any]:
    """The customer holding (identifier_type, value), its identifiers and their paths."""
    if not warehouse.exists():
        raise LookupError(f"{warehouse}: no warehouse (run `cdp build` first)")
    try:  # the same normalisation identity resolution applies (emails, phones, junk)
        value = normalise_identifier(identifier_type, value)
    except ValueError as exc:
        raise LookupError(str(exc)) from None
    with connect(warehouse, read_only=True) as conn:  # a held lock: WarehouseLockedError
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


def explain_path(
    edges: pd.DataFrame, start: tuple[str, str], anchor: tuple[str, str]
) -> list[dict[str, Any]]:
    """Shortest chain of messages joining ``start`` to ``anchor`` (both (type, value)).

    ``edges`` is an undirected edge list with columns ``a_type, a_value, b_type, b_value,
    message_id, first_seen_at``. Returns the hops from ``start`` towards ``anchor`` as dicts
    ``from_type, from_value, to_type, to_value, message_id, first_seen_at``; ``[]`` when
    ``start == anchor``. Where several edges join the same two identifiers the earliest
    (first_seen_at, message_id) is used, and neighbours are visited in that order too, so
    the path is deterministic. Raises ``ValueError`` if the two are not connected.
    """
    start = (str(start[0]), str(start[1]))
    anchor = (str(anchor[0]), str(anchor[1]))
    if start == anchor:
        return []
    missing = [c for c in EDGE_COLUMNS if c not in edges.columns]
    if missing:
        raise ValueError(f"explain_path: missing columns {missing}")
    ordered = edges.sort_values(["first_seen_at", "message_id"], kind="stable")
    adjacency: dict[tuple[str, str], dict[tuple[str, str], tuple[Any, Any]]] = {}
    for at, av, bt, bv, mid, seen in zip(
        ordered["a_type"],
        ordered["a_value"],
        ordered["b_type"],
        ordered["b_value"],
        ordered["message_id"],
        ordered["first_seen_at"],
        strict=True,
    ):
        a, b = (str(at), str(av)), (str(bt), str(bv))
        if a == b:
            continue
        adjacency.setdefault(a, {}).setdefault(b, (mid, seen))
        adjacency.setdefault(b, {}).setdefault(a, (mid, seen))
    previous: dict[tuple[str, str], tuple[str, str]] = {start: start}
    queue: deque[tuple[str, str]] = deque([start])
    while queue and anchor not in previous:
        here = queue.popleft()
        for nxt in adjacency.get(here, {}):
            if nxt not in previous:
                previous[nxt] = here
                queue.append(nxt)
    if anchor not in previous:
        raise ValueError(f"explain_path: {start} is not connected to {anchor}")
    path = [anchor]
    while path[-1] != start:
        path.append(previous[path[-1]])
    path.reverse()
    hops = []
    for a, b in zip(path[:-1], path[1:], strict=True):
        mid, seen = adjacency[a][b]
        hops.append(
            {
                "from_type": a[0],
                "from_value": a[1],
                "to_type": b[0],
                "to_value": b[1],
                "message_id": mid,
                "first_seen_at": seen,
            }
        )
    return hops
