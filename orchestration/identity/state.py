"""The state incremental identity resolution keeps beside its model, and its rules fingerprint.

:mod:`orchestration.identity.incremental` describes the two tables; this module names them,
reads the state row and computes the fingerprint that decides when everything is resolved
again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

#: The modules whose code decides the result besides the data (this package's directory).
RULE_SOURCES = ("resolver.py", "rules.py", "warehouse.py", "incremental.py", "state.py")


@dataclass(frozen=True)
class StateTables:
    """The model's table and the three state tables beside it (quoted names)."""

    model: str
    components: str
    state: str
    changes: str

    @classmethod
    def beside(cls, schema: str, identifier: str) -> StateTables:
        def name(suffix: str) -> str:
            return f'"{schema}"."{identifier}{suffix}"'

        return cls(name(""), name("__components"), name("__state"), name("__changes"))


def rules_fingerprint(max_user_ids_per_customer: int, junk_values: Iterable[str],
                      analytics_consent_category: str = "") -> str:
    """sha256 of what the result depends on besides the data: the user-id limit, the junk
    identifier list, the consent category (which messages link) and the code of the resolver
    (:data:`RULE_SOURCES`)."""
    digest = hashlib.sha256(f"max_user_ids_per_customer={int(max_user_ids_per_customer)}\n"
                            f"analytics_consent_category={analytics_consent_category}\n"
                            .encode())
    for value in sorted({str(v) for v in junk_values}):
        digest.update(f"junk:{value}\n".encode())
    here = Path(__file__).parent
    for name in RULE_SOURCES:
        digest.update(f"source:{name}\n".encode() + (here / name).read_bytes())
    return digest.hexdigest()


def last_run(conn: duckdb.DuckDBPyConnection, tables: StateTables) -> dict[str, Any]:
    """The state row of the last run (mode, reason, counts, watermarks); {} when there is
    none or the components or changes table is missing. Looks the tables up first: a failed
    statement would abort the caller's transaction."""
    names = {tables.state, tables.components, tables.changes}
    found = conn.execute("""
        select '"' || schema_name || '"."' || table_name || '"' from duckdb_tables()
        where database_name = current_database()
    """).fetchall()
    if not names <= {row[0] for row in found}:
        return {}
    cursor = conn.execute(f"select * from {tables.state}")
    row = cursor.fetchone()
    if row is None:
        return {}
    return dict(zip([d[0] for d in cursor.description], row, strict=True))
