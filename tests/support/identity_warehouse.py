"""Run the production identity resolver on a test frame, in an in-memory DuckDB.

:func:`resolve_frame` loads a frame of resolver input (see ``support.identity_cases.frame``)
into a table, runs :func:`orchestration.identity.warehouse.resolve_in_duckdb` on it, and splits
its combined output into the node and conflict frames, with the dtypes of the reference
(``support.identity_oracle.naive_resolve``): text as ``str``, times as ``datetime64[ns]``,
counts as ``int64``. The readers below turn those frames into what rule tests assert on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd

from orchestration.identity.rules import CONFLICT_COLUMNS, NODE_COLUMNS
from orchestration.identity.warehouse import resolve_in_duckdb

Identifier = tuple[str, str]
TIME_COLUMNS = {"first_seen_at", "last_seen_at", "occurred_at"}
#: The resolver's input as the warehouse types it (int_identity__message_identifiers).
INPUT_TABLE = """
    create or replace temp table identifiers (
        message_id varchar, event_at timestamp, identifier_type varchar, identifier_value varchar
    )
"""


@dataclass
class Resolved:
    """The resolver's output for one input: nodes, conflicts and run statistics."""

    nodes: pd.DataFrame
    conflicts: pd.DataFrame
    stats: dict[str, Any] = field(default_factory=dict)
    output: pd.DataFrame = field(default_factory=pd.DataFrame)  # the combined output
    sql_types: dict[str, str] = field(default_factory=dict)  # its columns' SQL types


def run_in_duckdb(df: pd.DataFrame, max_user_ids_per_customer: int = 1) -> Resolved:
    """The combined output of ``resolve_in_duckdb`` for ``df`` (frame and SQL types) and the
    run statistics; ``nodes`` and ``conflicts`` are left empty. ``df`` is loaded into a table
    typed like the warehouse's input, so empty frames and nanosecond times behave as there."""
    conn = _database().cursor()
    try:
        conn.register("input_frame", df)
        conn.execute(INPUT_TABLE)
        conn.execute("insert into identifiers by name select * from input_frame")
        conn.unregister("input_frame")
        stats: dict[str, Any] = {}
        relation = resolve_in_duckdb(conn, "identifiers", max_user_ids_per_customer, stats)
        types = {c: str(t) for c, t in zip(relation.columns, relation.types, strict=True)}
        return Resolved(pd.DataFrame(), pd.DataFrame(), stats, relation.df(), types)
    finally:
        conn.close()


_DATABASE: list[duckdb.DuckDBPyConnection] = []


def _database() -> duckdb.DuckDBPyConnection:
    """One in-memory database for every call (opening one costs more than most cases); each
    call works on its own cursor, so its input and work tables (temp tables) are its own."""
    if not _DATABASE:
        _DATABASE.append(duckdb.connect())
    return _DATABASE[0]


def _typed(rows: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out = {}
    for column in columns:
        values = rows[column].reset_index(drop=True)
        if column in TIME_COLUMNS:
            out[column] = values.astype("datetime64[ns]")
        elif column == "messages":
            out[column] = values.astype("int64")
        else:
            out[column] = values.astype("str")
    return pd.DataFrame(out, columns=columns)


def resolve_frame(df: pd.DataFrame, max_user_ids_per_customer: int = 1) -> Resolved:
    """Resolve ``df`` with the production resolver; nodes and conflicts in output order."""
    res = run_in_duckdb(df, max_user_ids_per_customer)
    output = res.output
    res.nodes = _typed(output[output.record_type == "node"], NODE_COLUMNS)
    res.conflicts = _typed(output[output.record_type == "conflict"], CONFLICT_COLUMNS)
    return res


def customers(res: Resolved) -> set[frozenset[Identifier]]:
    """The customers, each as the set of its (type, value) identifiers."""
    groups: dict[str, set[Identifier]] = {}
    for t, v, c in res.nodes[["identifier_type", "identifier_value", "customer_id"]].itertuples(
        index=False
    ):
        groups.setdefault(c, set()).add((t, v))
    return {frozenset(g) for g in groups.values()}


def customer_of(res: Resolved, identifier_type: str, value: str) -> str:
    nodes = res.nodes
    hit = nodes[(nodes.identifier_type == identifier_type) & (nodes.identifier_value == value)]
    assert len(hit) == 1
    return str(hit.customer_id.iloc[0])


def conflict_tuples(res: Resolved) -> list[tuple[str, ...]]:
    """Conflicts as (message_id, rule, type, value, conflicting type, conflicting value)."""
    c = res.conflicts
    return [
        tuple(str(x) for x in row)
        for row in c[
            [
                "message_id",
                "rule",
                "identifier_type",
                "identifier_value",
                "conflicting_identifier_type",
                "conflicting_identifier_value",
            ]
        ].itertuples(index=False)
    ]
