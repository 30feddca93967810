"""An independent reference for identity resolution: the rules applied literally.

:func:`naive_resolve` applies every message in (event_at, message_id) order with a plain
union-find, strings throughout, no bulk step and no deduplication of repeated sets: what the
production resolver (integer codes, components in bulk, one pass per distinct set) must equal.
It shares no code with ``orchestration.identity``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import pandas as pd

Identifier = tuple[str, str]

PRIORITY = {"user_id": 0, "email": 1, "anonymous_id": 2}


def prio_key(ident: Identifier) -> tuple[int, str, str]:
    """Priority order: type (user id, email, anonymous id, the rest), then value, then type."""
    return (PRIORITY.get(ident[0], 3), ident[1], ident[0])


def customer_id_for(anchor_type: str, anchor_value: str) -> str:
    """The customer id of the customer anchored at (anchor_type, anchor_value)."""
    return "c_" + hashlib.sha256(f"{anchor_type}:{anchor_value}".encode()).hexdigest()[:20]


def _text(values: list[str]) -> pd.Series:
    return pd.Series(values, dtype="str")


def naive_resolve(df: pd.DataFrame, max_user_ids: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reference: apply every message in (event_at, message_id) order, plain union-find.

    ``df`` has the resolver's input columns (message_id, event_at, identifier_type,
    identifier_value). Returns the node and conflict frames in the canonical order. Conflicts
    are recorded at the first message carrying a given identifier set; every message is
    applied (a repeated set must not change anything).
    """
    msgs: dict[str, dict[str, Any]] = {}
    for mid, at, t, v in df[["message_id", "event_at", "identifier_type",
                             "identifier_value"]].itertuples(index=False):
        m = msgs.setdefault(mid, {"at": at, "ids": set()})
        m["at"] = min(m["at"], at)
        m["ids"].add((t, v))
    order = sorted(msgs, key=lambda mid: (msgs[mid]["at"], mid))

    parent: dict[Identifier, Identifier] = {}
    users: dict[Identifier, int] = {}

    def find(x: Identifier) -> Identifier:
        while parent[x] != x:
            x = parent[x]
        return x

    def n_users(roots: Iterable[Identifier]) -> int:
        return sum(users[r] for r in set(roots))

    seen_sets: set[frozenset[Identifier]] = set()
    conflicts = []
    for mid in order:
        ids = sorted(msgs[mid]["ids"], key=prio_key)
        for x in ids:
            if x not in parent:
                parent[x] = x
                users[x] = int(x[0] == "user_id")
        roots = [find(x) for x in ids]
        keep = len(ids)
        while n_users(roots[:keep]) > max_user_ids:
            keep -= 1
        kept = set(roots[:keep])
        first_time = frozenset(ids) not in seen_sets
        seen_sets.add(frozenset(ids))
        for j in reversed(range(keep, len(ids))):  # in the order set aside
            if roots[j] not in kept and first_time:
                conflicts.append((mid, msgs[mid]["at"], ids[j], ids[0]))
        kept_list = sorted(kept, key=prio_key)
        for r in kept_list[1:]:
            parent[r] = kept_list[0]
            users[kept_list[0]] += users[r]

    rank = {mid: i for i, mid in enumerate(order)}
    stats: dict[Identifier, dict[str, Any]] = {}
    for mid in order:
        for x in msgs[mid]["ids"]:
            s = stats.setdefault(x, {"first": mid, "last": mid, "n": 0})
            s["last"] = mid
            s["n"] += 1
    members: dict[Identifier, list[Identifier]] = {}
    for x in parent:
        members.setdefault(find(x), []).append(x)
    anchor_of: dict[Identifier, Identifier] = {}
    for group in members.values():
        anchor = min(group, key=lambda x: (msgs[stats[x]["first"]]["at"], *prio_key(x)))
        for x in group:
            anchor_of[x] = anchor
    nodes = sorted(parent, key=lambda x: (rank[stats[x]["first"]], *prio_key(x)))

    node_frame = pd.DataFrame(
        {
            "identifier_type": _text([x[0] for x in nodes]),
            "identifier_value": _text([x[1] for x in nodes]),
            "customer_id": _text([customer_id_for(*anchor_of[x]) for x in nodes]),
            "anchor_type": _text([anchor_of[x][0] for x in nodes]),
            "anchor_value": _text([anchor_of[x][1] for x in nodes]),
            "first_seen_at": pd.Series(
                [msgs[stats[x]["first"]]["at"] for x in nodes], dtype="datetime64[ns]"
            ),
            "last_seen_at": pd.Series(
                [msgs[stats[x]["last"]]["at"] for x in nodes], dtype="datetime64[ns]"
            ),
            "first_message_id": _text([stats[x]["first"] for x in nodes]),
            "messages": pd.Series([stats[x]["n"] for x in nodes], dtype="int64"),
        }
    )
    conflict_frame = pd.DataFrame(
        {
            "message_id": _text([c[0] for c in conflicts]),
            "occurred_at": pd.Series([c[1] for c in conflicts], dtype="datetime64[ns]"),
            "rule": _text(["max_user_ids_per_customer"] * len(conflicts)),
            "identifier_type": _text([c[2][0] for c in conflicts]),
            "identifier_value": _text([c[2][1] for c in conflicts]),
            "conflicting_identifier_type": _text([c[3][0] for c in conflicts]),
            "conflicting_identifier_value": _text([c[3][1] for c in conflicts]),
        }
    )
    return node_frame, conflict_frame
