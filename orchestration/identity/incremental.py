"""Incremental identity resolution in DuckDB: recompute only the raw components new data touches.

A raw component is a connected component of identifiers linked by appearing on one message,
merge protection aside (it can split one into several customers). Merge protection, the
anchor and so the ``customer_id`` depend only on a raw component's own messages in
(event time, message id) order, so resolving a raw component whole, with every message that
carries one of its identifiers, gives exactly its rows of a full resolution. An incremental run
finds the raw components the new data touches, resolves them whole with
:func:`~orchestration.identity.warehouse.resolve_in_duckdb`, replaces their node and conflict
rows and leaves every other row as it was.

State, beside the model's table (``<model>__components``, ``<model>__state``):

* components: one row per identifier: its raw component (``component_id``), the component's
  size (``component_nodes``) and the received days its messages span
  (``first_received_date``, ``last_received_date``);
* state: one row: the rules fingerprint (:mod:`orchestration.identity.state`), the input
  rows and the loads already resolved (``identified_through``, ``loaded_through``), when it
  ran (``resolved_at``, the stamp of the run's changes) and when it last resolved everything
  (``full_resolved_at``), and what it did (``mode``, ``reason``, counts);
* changes: one row per identifier whose node row an incremental run changed (new, another
  ``customer_id``, or gone), with the ``resolved_at`` of the last run that changed it
  (``changed_at``). A full run empties it: everything changed (``full_resolved_at``).
  int_identity__message_customers reassigns only the messages carrying an identifier changed
  since its own last run.

A raw component is touched by the input rows written since the last run (their identifiers:
new messages, messages of reloaded days, re-typed alias messages), by a received day loaded
or rewritten since (a reloaded day may have lost messages: every component whose span of days
contains it), or by an erasure (it deletes rows of the component: fewer identifiers than its
size; after an erasure, also any identifier whose message count changed). New links can join
touched components to others: the search repeats until the messages of the touched
identifiers carry no other identifier. A full resolution runs instead on the
first build, ``--full-refresh``, a change of rules, or state out of step with the model's rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import duckdb

from orchestration.identity.changes import record_changes, reset_changes
from orchestration.identity.state import StateTables, last_run
from orchestration.identity.warehouse import (
    OUTPUT_COLUMNS,
    resolve_in_duckdb,
    resolved_components,
)

_TMP = "cdp_identity_incr_"
_KEY = "identifier_type, identifier_value"


def resolve_model(
    conn: duckdb.DuckDBPyConnection,
    source: str,
    load_log: str,
    tables: StateTables,
    *,
    incremental: bool,
    max_user_ids_per_customer: int,
    fingerprint: str,
) -> duckdb.DuckDBPyRelation:
    """The rows the model appends to ``tables.model`` (:data:`OUTPUT_COLUMNS`).

    ``source``: the resolver's input with ``received_date`` and ``identified_at``
    (int_identity__message_identifiers); ``load_log``: raw.load_log. In an incremental run
    (the model's table exists) the rows of the touched components are deleted from
    ``tables.model`` here, in the caller's transaction, and their new rows returned; a full
    run deletes every row (when the table exists) and returns all. Updates the state tables.
    """
    run = _Run(conn, source, load_log, tables, max_user_ids_per_customer, fingerprint)
    reason = run.full_reason() if incremental else "first build or --full-refresh"
    if reason:
        return run.full(reason, clear=incremental)
    return run.incremental()


@dataclass
class _Run:
    conn: duckdb.DuckDBPyConnection
    source: str
    load_log: str
    tables: StateTables
    max_user_ids: int
    fingerprint: str

    def __post_init__(self) -> None:
        self.started = time.perf_counter()
        # the stamp of this run's changes and state row (DuckDB's clock, like resolved_at)
        self.resolved_at = self._scalar("select now()::timestamp")
        self.full_resolved_at = self.resolved_at

    def _scalar(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        row = self.conn.execute(sql, params or {}).fetchone()
        return row[0] if row else None

    def full_reason(self) -> str | None:
        """Why an incremental run must resolve everything, or None."""
        state = last_run(self.conn, self.tables)
        if not state:
            return "no state"
        if state.get("rules_fingerprint") != self.fingerprint:
            return "rules changed"
        if state.get("full_resolved_at") is None:
            return "state without full_resolved_at"
        nodes = self._scalar(f"select count(*) from {self.tables.model} "
                             "where record_type = 'node'")
        if nodes != self._scalar(f"select count(*) from {self.tables.components}"):
            return "state out of step with the model's rows"
        self.state = state
        self.full_resolved_at = state["full_resolved_at"]
        return None

    def full(self, reason: str, *, clear: bool) -> duckdb.DuckDBPyRelation:
        if clear:
            self.conn.execute(f"delete from {self.tables.model}")
        self._resolve(self.source)
        self._new_components(self.source)
        self.conn.execute(f"create or replace table {self.tables.components} as "
                          f"select * from {_TMP}new_components")
        # everything changed (full_resolved_at): no change rows needed
        reset_changes(self.conn, self.tables.changes)
        counts = self._counts(self.source)
        self._write_state("full", reason, counts)
        return self.conn.sql(f"select {', '.join(OUTPUT_COLUMNS)} from {_TMP}output")

    def incremental(self) -> duckdb.DuckDBPyRelation:
        self._touched()
        self._close_over_messages()
        self.conn.execute(f"""
            create or replace temp table {_TMP}input as
            select s.* from {self.source} as s
            semi join {_TMP}messages as m on m.message_id = s.message_id
        """)
        self._resolve(f"{_TMP}input")
        # before the old rows of the touched identifiers are deleted
        record_changes(self.conn, self.tables, f"{_TMP}nodes", f"{_TMP}output",
                       self.resolved_at)
        # the old rows of every touched identifier: nodes, and conflicts setting one aside
        self.conn.execute(f"""
            delete from {self.tables.model} as t using {_TMP}nodes as n
            where t.identifier_type = n.identifier_type
                and t.identifier_value = n.identifier_value
        """)
        self._new_components(f"{_TMP}input")
        self.conn.execute(f"""
            delete from {self.tables.components} as c using {_TMP}nodes as n
            where c.identifier_type = n.identifier_type
                and c.identifier_value = n.identifier_value
        """)
        self.conn.execute(f"delete from {self.tables.components} where component_id in "
                          f"(select component_id from {_TMP}components)")
        self.conn.execute(f"insert into {self.tables.components} by name "
                          f"select * from {_TMP}new_components")
        self._write_state("incremental", "", self._counts(f"{_TMP}input"))
        return self.conn.sql(f"select {', '.join(OUTPUT_COLUMNS)} from {_TMP}output")

    def _resolve(self, rows: str) -> None:
        """Resolve `rows` (resolver input) into the temp table {_TMP}output."""
        output = resolve_in_duckdb(self.conn, rows, self.max_user_ids)
        self.conn.register(f"{_TMP}output_view", output)
        self.conn.execute(f"create or replace temp table {_TMP}output as "
                          f"select * from {_TMP}output_view")
        self.conn.unregister(f"{_TMP}output_view")

    def _touched(self) -> None:
        """Temp tables: the rows written since the last run, the received days loaded or
        rewritten since, the raw components they touch and those components' identifiers."""
        watermarks = {"identified": self.state["identified_through"],
                      "loaded": self.state["loaded_through"]}
        self.conn.execute(f"""
            create or replace temp table {_TMP}new_rows as
            select distinct {_KEY}, received_date from {self.source}
            where identified_at > coalesce($identified, '1900-01-01'::timestamp)
        """, {"identified": watermarks["identified"]})
        self.conn.execute(f"""
            create or replace temp table {_TMP}days as
            select distinct received_date from {self.load_log}
            where loaded_at > coalesce($loaded, '1900-01-01'::timestamp)
            union
            select distinct received_date from {_TMP}new_rows
        """, {"loaded": watermarks["loaded"]})
        self._recounted_after_erasure()
        components = self.tables.components
        self.conn.execute(f"""
            create or replace temp table {_TMP}components as
            select c.component_id from {components} as c
            semi join {_TMP}new_rows as n
                on c.identifier_type = n.identifier_type
                and c.identifier_value = n.identifier_value
            union
            select c.component_id from {components} as c
            inner join {_TMP}days as d
                on d.received_date between c.first_received_date and c.last_received_date
            union
            -- an erasure deleted some of its identifiers
            select component_id from {components}
            group by component_id
            having count(*) <> any_value(component_nodes)
            union
            select component_id from {_TMP}recounted
        """)
        self.conn.execute(f"""
            create or replace temp table {_TMP}nodes as
            select {_KEY} from {components}
            where component_id in (select component_id from {_TMP}components)
            union
            select {_KEY} from {_TMP}new_rows
        """)

    def _recounted_after_erasure(self) -> None:
        """Temp table of the components an erasure carried out since the last run changed
        without deleting any of their identifiers: an erased message can carry another
        customer's identifier (a previousId outside an alias, which links nothing), so each
        identifier's message count is compared with its node row (a full scan of the input,
        only after an erasure)."""
        self.conn.execute(f"create or replace temp table {_TMP}recounted "
                          "(component_id ubigint)")
        erasures = self._scalar("""
            select count(*) from duckdb_tables()
            where database_name = current_database()
                and schema_name = 'privacy' and table_name = 'requests'
        """)
        if erasures:
            erasures = self._scalar("""
                select count(*) from privacy.requests
                where status = 'completed'
                    and completed_at >= coalesce($resolved_at, '1900-01-01'::timestamp)
            """, {"resolved_at": self.state.get("resolved_at")})
        if not erasures:
            return
        self.conn.execute(f"""
            insert into {_TMP}recounted
            with

            recounted as (

                select {_KEY}, count(distinct message_id) as messages
                from {self.source}
                group by all

            )

            select distinct c.component_id
            from {self.tables.model} as m
            inner join {self.tables.components} as c
                on m.identifier_type = c.identifier_type
                and m.identifier_value = c.identifier_value
            left join recounted as r
                on m.identifier_type = r.identifier_type
                and m.identifier_value = r.identifier_value
            where m.record_type = 'node'
                and m.messages is distinct from r.messages
        """)

    def _close_over_messages(self) -> None:
        """Temp table of the messages carrying a touched identifier; adds to the touched
        identifiers (and components) until those messages carry no other identifier."""
        while True:
            self.conn.execute(f"""
                create or replace temp table {_TMP}messages as
                select distinct s.message_id from {self.source} as s
                semi join {_TMP}nodes as n
                    on s.identifier_type = n.identifier_type
                    and s.identifier_value = n.identifier_value
            """)
            self.conn.execute(f"""
                create or replace temp table {_TMP}missing as
                select distinct s.identifier_type, s.identifier_value
                from {self.source} as s
                semi join {_TMP}messages as m on m.message_id = s.message_id
                anti join {_TMP}nodes as n
                    on s.identifier_type = n.identifier_type
                    and s.identifier_value = n.identifier_value
            """)
            if not self._scalar(f"select count(*) from {_TMP}missing"):
                return
            self.conn.execute(f"""
                insert into {_TMP}components
                select distinct c.component_id from {self.tables.components} as c
                semi join {_TMP}missing as m
                    on c.identifier_type = m.identifier_type
                    and c.identifier_value = m.identifier_value
            """)
            self.conn.execute(f"""
                insert into {_TMP}nodes
                select {_KEY} from {self.tables.components}
                where component_id in (select component_id from {_TMP}components)
                union
                select {_KEY} from {_TMP}missing
                except
                select {_KEY} from {_TMP}nodes
            """)

    def _new_components(self, rows: str) -> None:
        """Temp table of the state rows of the components just resolved from ``rows``."""
        self.conn.register(f"{_TMP}resolved_components", resolved_components(self.conn))
        self.conn.execute(f"""
            create or replace temp table {_TMP}new_components as
            with

            sizes as (

                select
                    component,
                    hash(min(identifier_type || ':' || identifier_value)) as component_id,
                    count(*) as component_nodes
                from {_TMP}resolved_components
                group by component

            ),

            spans as (

                select
                    c.component,
                    min(r.received_date) as first_received_date,
                    max(r.received_date) as last_received_date
                from {rows} as r
                inner join {_TMP}resolved_components as c
                    on r.identifier_type = c.identifier_type
                    and r.identifier_value = c.identifier_value
                group by c.component

            )

            select
                c.identifier_type,
                c.identifier_value,
                s.component_id,
                s.component_nodes,
                p.first_received_date,
                p.last_received_date
            from {_TMP}resolved_components as c
            inner join sizes as s on s.component = c.component
            inner join spans as p on p.component = c.component
        """)
        self.conn.unregister(f"{_TMP}resolved_components")

    def _counts(self, rows: str) -> dict[str, int]:
        return {
            "components_resolved": self._scalar(
                f"select count(distinct component_id) from {_TMP}new_components"),
            "identifiers_resolved": self._scalar(f"select count(*) from {_TMP}new_components"),
            "messages_resolved": self._scalar(f"select count(distinct message_id) from {rows}"),
        }

    def _write_state(self, mode: str, reason: str, counts: dict[str, int]) -> None:
        self.conn.execute(f"""
            create or replace table {self.tables.state} as
            select
                $fingerprint as rules_fingerprint,
                $max_user_ids::integer as max_user_ids_per_customer,
                (select max(identified_at) from {self.source}) as identified_through,
                (select max(loaded_at) from {self.load_log}) as loaded_through,
                $mode as mode,
                $reason as reason,
                $components::bigint as components_resolved,
                $identifiers::bigint as identifiers_resolved,
                $messages::bigint as messages_resolved,
                $seconds::double as seconds,
                $resolved_at::timestamp as resolved_at,
                $full_resolved_at::timestamp as full_resolved_at
        """, {
            "resolved_at": self.resolved_at, "full_resolved_at": self.full_resolved_at,
            "fingerprint": self.fingerprint, "max_user_ids": self.max_user_ids, "mode": mode,
            "reason": reason, "components": counts["components_resolved"],
            "identifiers": counts["identifiers_resolved"],
            "messages": counts["messages_resolved"],
            "seconds": round(time.perf_counter() - self.started, 3),
        })
