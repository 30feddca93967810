"""Identity resolution: identifiers -> customers with merge protection.

The algorithm lives in `orchestration.identity` (plain Python, unit-tested); this model feeds
it the accepted identifiers of every message and stores both of its outputs in one table,
told apart by `record_type`:

* `node`     one row per identifier with its customer (-> marts.identity_graph)
* `conflict` one row per link set aside by merge protection (-> marts.identity_conflicts)

The whole graph is re-resolved on every build, so a change of rules (the user-id limit, the
junk list) applies retroactively to all history.
"""

import pandas as pd


def model(dbt, session):
    dbt.config(materialized="table")
    from orchestration.identity import resolve

    max_user_ids = int(dbt.config.get("max_user_ids_per_customer"))
    identifiers = dbt.ref("int_identity__message_identifiers").df()
    resolution = resolve(identifiers, max_user_ids_per_customer=max_user_ids)

    nodes = resolution.nodes.assign(record_type="node")
    conflicts = resolution.conflicts.assign(record_type="conflict")
    columns = [
        "record_type", "identifier_type", "identifier_value", "customer_id",
        "anchor_type", "anchor_value", "first_seen_at", "last_seen_at", "first_message_id",
        "messages", "message_id", "occurred_at", "rule",
        "conflicting_identifier_type", "conflicting_identifier_value",
    ]
    frame = pd.concat([nodes, conflicts], ignore_index=True)
    for column in columns:
        if column not in frame.columns:
            frame[column] = None
    frame = frame[columns]
    for column in ("first_seen_at", "last_seen_at", "occurred_at"):
        frame[column] = pd.to_datetime(frame[column])
    frame["messages"] = frame["messages"].astype("Int64")
    for column in columns:
        if column not in ("first_seen_at", "last_seen_at", "occurred_at", "messages"):
            frame[column] = frame[column].astype("string")
    return frame
