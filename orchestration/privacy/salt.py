"""The privacy salt, the pseudonymisation key derived from it, and the privacy tables.

Identifier values are hashed type-agnostically, ``sha256(salt || value)``, so an id erased as a
user id also matches as an anonymousId or an alias previousId. The salt comes from
CDP_PRIVACY_SALT, else the file CDP_PRIVACY_SALT_FILE (default: `privacy_salt` next to the
warehouse, i.e. `data/privacy_salt`), created with `secrets.token_hex(32)` and mode 0600 on
first use. Losing it breaks suppression matching: the code refuses to start over with a new
salt while the warehouse holds a suppression list. `privacy.pseudonymisation_key` (one row,
derived from the salt) keys the hashes of `marts.customer_360_pseudonymised`, so the key never
appears in compiled SQL or in the repo.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

import duckdb

from orchestration import settings

SALT_ENV = settings.SALT_ENV
SALT_FILE_ENV = settings.SALT_FILE_ENV
PSEUDONYMISATION_PREFIX = "pseudonymise:"

PRIVACY_DDL = """
create schema if not exists privacy;
create table if not exists privacy.requests (
    request_id      varchar primary key,
    requested_at    timestamp not null,
    status          varchar not null,
    completed_at    timestamp,
    identifier_type varchar not null,
    identifier_hash varchar not null,
    rows_removed    json
);
create table if not exists privacy.suppression (
    identifier_hash varchar primary key,
    added_at        timestamp not null,
    request_id      varchar
);
create table if not exists privacy.pseudonymisation_key (
    key varchar not null
);
create table if not exists privacy.erased_memberships (
    request_id    varchar not null,
    erased_at     timestamp not null,
    audience_name varchar not null,
    members       integer not null
);
"""


class PrivacyError(RuntimeError):
    """A privacy operation cannot run safely; the message says why and what to do."""


def salt_file(warehouse: Path | None = None) -> Path:
    """CDP_PRIVACY_SALT_FILE, else `privacy_salt` next to the warehouse (data/privacy_salt)."""
    return settings.privacy_salt_file(warehouse)


def load_salt(warehouse: Path | None = None, *, create: bool = True) -> str:
    """The salt: CDP_PRIVACY_SALT, else the salt file (created, mode 0600, when allowed)."""
    from_env = settings.privacy_salt()
    if from_env:
        return from_env
    path = salt_file(warehouse)
    if not path.exists():
        if not create:
            raise PrivacyError(
                f"{path}: no privacy salt (set {SALT_ENV} or {SALT_FILE_ENV}, or restore the file)"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first: use theirs
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32) + "\n")
    salt = path.read_text().strip()
    if not salt:
        raise PrivacyError(f"{path}: the privacy salt file is empty")
    return salt


def hash_value(salt: str, value: str) -> str:
    """sha256(salt || value) as hex: what DuckDB's `sha256(salt || value)` returns."""
    return hashlib.sha256((salt + value).encode("utf-8")).hexdigest()


def pseudonymisation_key(salt: str) -> str:
    return hashlib.sha256((PSEUDONYMISATION_PREFIX + salt).encode("utf-8")).hexdigest()


def database_path(conn: duckdb.DuckDBPyConnection) -> Path | None:
    row = conn.execute(
        "select path from duckdb_databases() where database_name = current_database()"
    ).fetchone()
    return Path(row[0]) if row and row[0] else None


def table_exists(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """A base table `schema.table` in the connection's own database (not an attached one)."""
    return conn.execute(
        "select count(*) from duckdb_tables() where database_name = current_database() "
        "and schema_name = ? and table_name = ?",
        [schema, table],
    ).fetchone()[0] > 0


def relation_exists(conn: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    """A table or a view `schema.name` in the connection's own database."""
    return table_exists(conn, schema, name) or conn.execute(
        "select count(*) from duckdb_views() where database_name = current_database() "
        "and schema_name = ? and view_name = ?",
        [schema, name],
    ).fetchone()[0] > 0


def has_salted_state(conn: duckdb.DuckDBPyConnection) -> bool:
    """The warehouse already holds hashes made with some salt."""
    if not table_exists(conn, "privacy", "suppression"):
        return False
    return conn.execute(
        "select (select count(*) from privacy.suppression) + "
        "(select count(*) from privacy.requests)"
    ).fetchone()[0] > 0


def privacy_counts(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """How many erasure requests are completed and pending, and how many identifier hashes the
    suppression list holds (zeros before the privacy tables exist)."""
    if not table_exists(conn, "privacy", "suppression"):
        return {"erasure_requests_completed": 0, "erasure_requests_pending": 0,
                "suppressed_identifiers": 0}
    completed, pending, suppressed = conn.execute(
        """
        select count(*) filter (where status = 'completed'),
               count(*) filter (where status <> 'completed'),
               (select count(*) from privacy.suppression)
        from privacy.requests
        """
    ).fetchone()
    return {"erasure_requests_completed": int(completed), "erasure_requests_pending": int(pending),
            "suppressed_identifiers": int(suppressed)}


def salt_for(conn: duckdb.DuckDBPyConnection) -> str:
    """The salt of this warehouse; never silently a new one for a warehouse with hashes."""
    warehouse = database_path(conn)
    create = not has_salted_state(conn)
    try:
        return load_salt(warehouse, create=create)
    except PrivacyError as exc:
        raise PrivacyError(
            f"{exc}. This warehouse holds erasure requests and suppression hashes made with a "
            "salt that is no longer available: without it erased identifiers can no longer be "
            "recognised at load time."
        ) from None


def ensure_privacy_schema(conn: duckdb.DuckDBPyConnection, salt: str) -> None:
    """Create the privacy tables; write (or check) the pseudonymisation key for `salt`."""
    conn.execute(PRIVACY_DDL)
    key = pseudonymisation_key(salt)
    stored = [r[0] for r in conn.execute("select key from privacy.pseudonymisation_key").fetchall()]
    if stored == [key]:
        return
    if stored and has_salted_state(conn):
        raise PrivacyError(
            "the privacy salt differs from the one this warehouse's erasure requests and "
            f"suppression list were made with: restore the original salt ({SALT_ENV} or the "
            f"file {salt_file(database_path(conn))})"
        )
    conn.execute("delete from privacy.pseudonymisation_key")
    conn.execute("insert into privacy.pseudonymisation_key values (?)", [key])
