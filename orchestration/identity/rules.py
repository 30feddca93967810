"""The identity rules' constants: type priority, the merge-protection rule, column lists.

Written once here and read by the resolver (:mod:`orchestration.identity.resolver`), its
warehouse adapter (:mod:`orchestration.identity.warehouse`) and the dbt Python model. The rules
themselves are stated in the resolver's docstring; the Spark implementation
(``dbt_project/macros/identity_resolution.sql``) repeats them in SQL.
"""

from __future__ import annotations

from orchestration.sql import literal

#: The merge-protection rule, as written in ``identity_conflicts.rule``.
RULE_MAX_USER_IDS = "max_user_ids_per_customer"
USER_ID = "user_id"
#: Type priority, highest first; every type not listed has priority ``OTHER_PRIORITY``.
TYPE_PRIORITY: dict[str, int] = {"user_id": 0, "email": 1, "anonymous_id": 2}
OTHER_PRIORITY = 3

#: The resolver's input: one row per (message, identifier).
INPUT_COLUMNS = ["message_id", "event_at", "identifier_type", "identifier_value"]
#: One row per identifier (``marts.identity_graph``, without ``is_anchor``).
NODE_COLUMNS = [
    "identifier_type",
    "identifier_value",
    "customer_id",
    "anchor_type",
    "anchor_value",
    "first_seen_at",
    "last_seen_at",
    "first_message_id",
    "messages",
]
#: One row per link set aside by merge protection (``marts.identity_conflicts``).
CONFLICT_COLUMNS = [
    "message_id",
    "occurred_at",
    "rule",
    "identifier_type",
    "identifier_value",
    "conflicting_identifier_type",
    "conflicting_identifier_value",
]


def priority_sql(identifier_type: str) -> str:
    """SQL giving the type priority (0 highest) of the column ``identifier_type``."""
    whens = " ".join(f"when {literal(t)} then {p}" for t, p in TYPE_PRIORITY.items())
    return f"case {identifier_type} {whens} else {OTHER_PRIORITY} end"


def customer_id_sql(anchor_type: str, anchor_value: str) -> str:
    """SQL giving the customer id of the anchor in the columns ``anchor_type, anchor_value``:
    ``'c_'`` and the first 20 hex digits of ``sha256(anchor_type || ':' || anchor_value)``, so
    the id is stable across rebuilds and does not depend on row numbers."""
    return f"'c_' || left(sha256({anchor_type} || ':' || {anchor_value}), 20)"
