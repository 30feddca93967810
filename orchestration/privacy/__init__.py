"""Privacy: GDPR erasure, suppression at load, access export, and the pseudonymisation key.

* `cdp forget` records an erasure request in `privacy.requests`: the identifier type and a
  salted hash of its value, never the value itself.
* The next build (the `raw/events` asset, before it loads any day) resolves each pending
  request to its whole customer in `marts.identity_graph` of the last build, deletes every
  message carrying any of the customer's identifiers from `raw.events`, every `raw.quarantine`
  line mentioning one, and every row of the customer from the tables dbt keeps between runs
  (`staging`, `intermediate`, `marts`; dbt then rebuilds the marts without it). The salted hash
  of each identifier goes to `privacy.suppression`. The warehouse file is then rewritten, since
  DuckDB leaves the bytes of deleted rows in free blocks. When an erased message sat in another
  visitor's session (a shared device), `cdp build` runs dbt with a full refresh so the
  incremental session models re-sessionize it.
* The loader drops every message carrying a suppressed identifier (and every quarantined line
  mentioning one) before anything is stored, and counts it (`suppressed`).
* `cdp export` writes everything held on a customer as one JSON file (read-only).
* `privacy.pseudonymisation_key` (one row, derived from the salt) keys the hashes of
  `marts.customer_360_pseudonymised`, so the key never appears in compiled SQL or in the repo.

Identifier values are normalised as identity resolution does (emails trimmed and lower-cased,
phones as "+" and digits, other ids trimmed) and hashed type-agnostically:
``sha256(salt || value)``, so an id erased as a user id also matches as an anonymousId or an
alias previousId. The salt comes from CDP_PRIVACY_SALT, else the file CDP_PRIVACY_SALT_FILE
(default: `privacy_salt` next to the warehouse, i.e. `data/privacy_salt`), created with
`secrets.token_hex(32)` and mode 0600 on first use. Losing it breaks suppression matching:
the code refuses to start over with a new salt while the warehouse holds a suppression list.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import hashlib
import json
import os
import secrets
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from orchestration import settings
from orchestration.sql import literal

SALT_ENV = settings.SALT_ENV
SALT_FILE_ENV = settings.SALT_FILE_ENV
PSEUDONYMISATION_PREFIX = "pseudonymise:"

IDENTIFIER_TYPES = ("user_id", "email", "anonymous_id", "phone")

# Identifier fields of a Segment message (DESIGN.md, Identity resolution), by normalisation.
_ID_PATHS = ("$.anonymousId", "$.userId", "$.previousId")
_EMAIL_PATHS = ("$.traits.email", "$.context.traits.email")
_PHONE_PATHS = ("$.traits.phone", "$.context.traits.phone")

# Columns of dbt tables that hold an identifier value: rows with an erased value are deleted.
IDENTIFIER_COLUMNS = (
    "anonymous_id", "user_id", "previous_id", "email", "phone", "identifier_value",
    "raw_value", "anchor_value", "a_value", "b_value", "conflicting_identifier_value",
)
MESSAGE_ID_COLUMNS = ("message_id", "event_id")
# Schemas whose tables are swept for the erased customer's rows: every schema but these two
# (raw.events and raw.quarantine are erased explicitly, privacy holds only hashes).
UNSWEPT_SCHEMAS = ("raw", "privacy")
# A quarantined line is erased (and, on a later load, suppressed) when it holds an erased
# value of at least this many characters as a token, a quoted string or a phone number; at
# erasure time such values are also matched as plain substrings. Shorter values ("x64", "en")
# would match unrelated text.
MIN_TEXT_CANDIDATE = 5
MIN_SUBSTRING_NEEDLE = MIN_TEXT_CANDIDATE
QUARANTINE_SCAN_CHARS = 1_000_000

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
"""


class PrivacyError(RuntimeError):
    """A privacy operation cannot run safely; the message says why and what to do."""


# --- salt and key ------------------------------------------------------------------------


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


def _table_exists(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return conn.execute(
        "select count(*) from duckdb_tables() where database_name = current_database() "
        "and schema_name = ? and table_name = ?",
        [schema, table],
    ).fetchone()[0] > 0


def _relation_exists(conn: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return _table_exists(conn, schema, name) or conn.execute(
        "select count(*) from duckdb_views() where database_name = current_database() "
        "and schema_name = ? and view_name = ?",
        [schema, name],
    ).fetchone()[0] > 0


def _has_salted_state(conn: duckdb.DuckDBPyConnection) -> bool:
    """The warehouse already holds hashes made with some salt."""
    if not _table_exists(conn, "privacy", "suppression"):
        return False
    return conn.execute(
        "select (select count(*) from privacy.suppression) + "
        "(select count(*) from privacy.requests)"
    ).fetchone()[0] > 0


def salt_for(conn: duckdb.DuckDBPyConnection) -> str:
    """The salt of this warehouse; never silently a new one for a warehouse with hashes."""
    warehouse = database_path(conn)
    create = not _has_salted_state(conn)
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
    if stored and _has_salted_state(conn):
        raise PrivacyError(
            "the privacy salt differs from the one this warehouse's erasure requests and "
            f"suppression list were made with: restore the original salt ({SALT_ENV} or the "
            f"file {salt_file(database_path(conn))})"
        )
    conn.execute("delete from privacy.pseudonymisation_key")
    conn.execute("insert into privacy.pseudonymisation_key values (?)", [key])


# --- normalisation -----------------------------------------------------------------------


def _junk_values() -> frozenset[str]:
    path = settings.REPO_ROOT / "seeds" / "junk_identifiers.csv"
    try:
        with open(path, newline="") as fh:
            return frozenset(
                (row.get("identifier_value") or "").strip().lower() for row in csv.DictReader(fh)
            )
    except OSError:
        return frozenset()


def normalise_phone(value: str) -> str | None:
    digits = "".join(ch for ch in value if ch.isdigit())
    if len(digits) < 7:
        return None
    return ("+" if value.strip().startswith("+") else "") + digits


def normalise_identifier(identifier_type: str, value: str) -> str:
    """The value as identity resolution stores it; ValueError for junk or unusable values."""
    if identifier_type not in IDENTIFIER_TYPES:
        raise ValueError(f"unknown identifier type {identifier_type!r}")
    text = (value or "").strip()
    if identifier_type == "email":
        text = text.lower()
        if "@" not in text[1:-1]:
            raise ValueError(f"{value!r} is not an email address")
    elif identifier_type == "phone":
        phone = normalise_phone(text)
        if phone is None:
            raise ValueError(f"{value!r} is not a phone number (fewer than 7 digits)")
        text = phone
    if not text:
        raise ValueError("the identifier is empty")
    if text.lower() in _junk_values():
        raise ValueError(
            f"{value!r} is a placeholder value (seeds/junk_identifiers.csv) that never "
            "identifies anyone"
        )
    return text


# --- SQL: identifier values of a message or a line ----------------------------------------


def _phone_sql(expr: str) -> str:
    # Mirrors the dbt macro normalize_phone.
    return (
        f"case when length(regexp_replace(coalesce({expr}, ''), '[^0-9]', '', 'g')) >= 7 "
        f"then (case when trim({expr}) like '+%' then '+' else '' end) "
        f"|| regexp_replace({expr}, '[^0-9]', '', 'g') end"
    )


MESSAGE_PATHS_SQL = "[" + ", ".join(f"'{p}'" for p in (*_ID_PATHS, *_EMAIL_PATHS,
                                                       *_PHONE_PATHS)) + "]"


def message_values_query(source: str, json_column: str, keys: str, where: str = "true") -> str:
    """SQL: one row (key columns..., value) per normalised identifier value carried by each
    message of `source`. The JSON is parsed once per row (a subquery: DuckDB would otherwise
    repeat the extraction for every reference)."""
    f = "cdp_fields"
    values = [f"nullif(trim({f}[{i}]), '')" for i in range(1, len(_ID_PATHS) + 1)]
    offset = len(_ID_PATHS)
    values += [f"nullif(lower(trim({f}[{i}])), '')"
               for i in range(offset + 1, offset + len(_EMAIL_PATHS) + 1)]
    offset += len(_EMAIL_PATHS)
    values += [_phone_sql(f"{f}[{i}]") for i in range(offset + 1, offset + len(_PHONE_PATHS) + 1)]
    return f"""
        select * exclude ({f}), unnest([{", ".join(values)}]) as value
        from (
            select {keys}, json_extract_string({json_column}, {MESSAGE_PATHS_SQL}) as {f}
            from {source}
            where {where}
        )
    """


def text_values_query(source: str, text_column: str, keys: str, where: str = "true") -> str:
    """SQL: one row (keys..., value) per candidate identifier value mentioned in free text (a
    quarantined line): its tokens, its quoted strings and the phone numbers in it, as written
    and lower-cased, at least MIN_TEXT_CANDIDATE characters long."""
    t = f"left({text_column}, {QUARANTINE_SCAN_CHARS})"
    return f"""
        select * exclude (cdp_tokens, cdp_quoted, cdp_phones),
               unnest(list_distinct(list_filter(flatten([
            cdp_tokens,
            list_transform(cdp_tokens, lambda x: rtrim(x, '.')),
            list_transform(cdp_tokens, lambda x: lower(rtrim(x, '.'))),
            list_transform(cdp_quoted, lambda x: trim(x)),
            list_transform(cdp_quoted, lambda x: lower(trim(x))),
            list_transform(cdp_quoted, lambda x: {_phone_sql('x')}),
            list_transform(cdp_phones, lambda x: {_phone_sql('x')})
        ]), lambda x: length(x) >= {MIN_TEXT_CANDIDATE}))) as value
        from (
            select {keys},
                   regexp_extract_all({t}, '[A-Za-z0-9_.@+-]+') as cdp_tokens,
                   regexp_extract_all({t}, '"((?:[^"\\\\]|\\\\.)*)"', 1) as cdp_quoted,
                   regexp_extract_all({t}, '[+]?[0-9][0-9 ().-]{{5,}}[0-9]') as cdp_phones
            from {source}
            where {text_column} is not null and {where}
        )
    """


# --- suppression at load -----------------------------------------------------------------


def suppression_salt(conn: duckdb.DuckDBPyConnection) -> str | None:
    """The salt when the warehouse has a non-empty suppression list, else None (nothing to
    check, and no salt file is created)."""
    if not _table_exists(conn, "privacy", "suppression"):
        return None
    if not conn.execute("select count(*) from privacy.suppression").fetchone()[0]:
        return None
    return salt_for(conn)


def mark_suppressed(conn: duckdb.DuckDBPyConnection, table: str, salt: str | None) -> None:
    """Add boolean `is_suppressed` to the loader's classified lines: a valid message carrying
    a suppressed identifier, or a rejected line mentioning one. The salt is a parameter."""
    conn.execute(
        f"alter table {table} add column if not exists is_suppressed boolean default false"
    )
    if salt is None:
        return
    # Valid messages: their identifier fields; rejected lines: what they mention. Two scans,
    # each with one kind of extraction, then every distinct value is hashed once.
    conn.execute(
        f"""
        create or replace temp table cdp_line_values as
        {message_values_query(table, "line", "source_file, line_number",
                              "reason is null and line_number is not null")}
        union all
        {text_values_query(table, "line", "source_file, line_number",
                           "reason is not null and line_number is not null")}
        """
    )
    conn.execute(
        """
        create or replace temp table cdp_suppressed_lines as
        with suppressed_values as (
            select d.value
            from (select distinct value from cdp_line_values where value is not null) as d
            inner join privacy.suppression as s
                on s.identifier_hash = sha256($salt || d.value)
        )
        select distinct v.source_file, v.line_number
        from cdp_line_values as v
        inner join suppressed_values as s on s.value = v.value
        """,
        {"salt": salt},
    )
    conn.execute(
        f"""
        update {table} as t set is_suppressed = true
        from cdp_suppressed_lines s
        where t.source_file = s.source_file and t.line_number = s.line_number
        """
    )
    conn.execute("drop table if exists cdp_suppressed_lines")
    conn.execute("drop table if exists cdp_line_values")


# --- erasure requests --------------------------------------------------------------------


def record_request(
    conn: duckdb.DuckDBPyConnection, identifier_type: str, value: str
) -> tuple[str, bool]:
    """Record an erasure request; returns (request_id, created). A pending request for the
    same identifier is reused. The value is normalised and only its salted hash is stored."""
    normalised = normalise_identifier(identifier_type, value)
    salt = salt_for(conn)
    ensure_privacy_schema(conn, salt)
    identifier_hash = hash_value(salt, normalised)
    existing = conn.execute(
        "select request_id from privacy.requests where identifier_hash = ? and status = 'pending'",
        [identifier_hash],
    ).fetchone()
    if existing:
        return existing[0], False
    request_id = uuid.uuid4().hex
    conn.execute(
        """
        insert into privacy.requests
            (request_id, requested_at, status, completed_at, identifier_type, identifier_hash,
             rows_removed)
        values (?, now()::timestamp, 'pending', null, ?, ?, null)
        """,
        [request_id, identifier_type, identifier_hash],
    )
    return request_id, True


def identifier_in_graph(conn: duckdb.DuckDBPyConnection, identifier_type: str, value: str) -> bool:
    if not _table_exists(conn, "marts", "identity_graph"):
        return False
    return conn.execute(
        "select count(*) from marts.identity_graph where identifier_type = ? "
        "and identifier_value = ?",
        [identifier_type, normalise_identifier(identifier_type, value)],
    ).fetchone()[0] > 0


@dataclass
class ErasureReport:
    """What the erasure step of one build did."""

    requests_completed: int = 0
    rows_removed: dict[str, int] = field(default_factory=dict)
    identifiers_suppressed: int = 0
    shared_sessions: int = 0

    @property
    def total_rows_removed(self) -> int:
        return sum(self.rows_removed.values())

    def as_dict(self) -> dict:
        return {**asdict(self), "total_rows_removed": self.total_rows_removed}


def _scope(conn: duckdb.DuckDBPyConnection, salt: str, hashes: Iterable[str]) -> None:
    """Temp tables describing what one request erases, from the salted hash(es) it names:

    cdp_erase_customers (customer_id)  customers holding a named identifier (last build)
    cdp_erase_values    (value)        every identifier value of those customers, plus every
                                        value carried by a message that hashes to a named one
    cdp_erase_hashes    (identifier_hash)
    cdp_erase_messages  (message_id)   messages of raw.events carrying any of the values
    cdp_erase_keys      (session_key)  session keys built from the values
    """
    conn.execute("create or replace temp table cdp_erase_hashes (identifier_hash varchar)")
    conn.executemany("insert into cdp_erase_hashes values (?)", [[h] for h in hashes])
    conn.execute("create or replace temp table cdp_erase_customers (customer_id varchar)")
    conn.execute("create or replace temp table cdp_erase_values (value varchar)")
    if _table_exists(conn, "marts", "identity_graph"):
        conn.execute(
            """
            insert into cdp_erase_customers
            select distinct customer_id from marts.identity_graph
            where sha256($salt || identifier_value)
                  in (select identifier_hash from cdp_erase_hashes)
            """,
            {"salt": salt},
        )
        conn.execute(
            """
            insert into cdp_erase_values
            select distinct identifier_value from marts.identity_graph
            where customer_id in (select customer_id from cdp_erase_customers)
            """
        )
        conn.execute(
            "insert into cdp_erase_hashes select distinct sha256($salt || value) "
            "from cdp_erase_values",
            {"salt": salt},
        )
    if _table_exists(conn, "raw", "events"):
        conn.execute(
            f"""
            create or replace temp table cdp_message_values as
            {message_values_query("raw.events", "payload", "message_id")}
            """
        )
    else:
        conn.execute(
            "create or replace temp table cdp_message_values (message_id varchar, value varchar)"
        )
    conn.execute(
        """
        insert into cdp_erase_values
        select value from (select distinct value from cdp_message_values where value is not null)
        where sha256($salt || value) in (select identifier_hash from cdp_erase_hashes)
          and value not in (select value from cdp_erase_values)
        """,
        {"salt": salt},
    )
    conn.execute(
        """
        create or replace temp table cdp_erase_messages as
        select distinct message_id from cdp_message_values
        where value in (select value from cdp_erase_values)
        """
    )
    conn.execute("drop table if exists cdp_message_values")
    conn.execute(
        """
        create or replace temp table cdp_erase_keys as
        select 'anonymous_id:' || value as session_key from cdp_erase_values
        union
        select 'user_id:' || value from cdp_erase_values
        """
    )


def _quarantine_matches_sql(salt_param: str = "$salt") -> str:
    """rowids of raw.quarantine lines mentioning an erased value."""
    return f"""
        with candidates as (
            {text_values_query("raw.quarantine", "raw_line", "rowid as row_id")}
        )
        select row_id from candidates
        where value in (select value from cdp_erase_values)
           or sha256({salt_param} || value) in (select identifier_hash from cdp_erase_hashes)
        union
        select q.rowid from raw.quarantine q
        inner join cdp_erase_values v
            on length(v.value) >= {MIN_SUBSTRING_NEEDLE}
           and (contains(q.raw_line, v.value)
                or (v.value like '%@%' and contains(lower(q.raw_line), lower(v.value))))
    """


def _swept_tables(conn: duckdb.DuckDBPyConnection) -> list[tuple[str, str, set[str]]]:
    """Base tables (seeds, dbt tables, anything but raw and privacy) with the columns that can
    tie a row to a customer: (schema, table, columns)."""
    wanted = {*IDENTIFIER_COLUMNS, *MESSAGE_ID_COLUMNS, "session_key", "customer_id"}
    rows = conn.execute(
        f"""
        select c.schema_name, c.table_name, list(c.column_name)
        from duckdb_columns() c
        inner join duckdb_tables() t
            on t.database_name = c.database_name and t.schema_name = c.schema_name
           and t.table_name = c.table_name
        where c.database_name = current_database()
          and c.schema_name not in ({", ".join(f"'{s}'" for s in UNSWEPT_SCHEMAS)})
          and c.data_type = 'VARCHAR'
        group by all
        order by all
        """
    ).fetchall()
    tables = []
    for schema, table, columns in rows:
        found = {c for c in columns if c in wanted}
        if found:
            tables.append((schema, table, found))
    return tables


def _row_conditions(columns: set[str], *, identifiers: bool) -> list[str]:
    conditions = []
    for column in sorted(columns & set(MESSAGE_ID_COLUMNS)):
        conditions.append(f'"{column}" in (select message_id from cdp_erase_messages)')
    if "session_key" in columns:
        conditions.append('"session_key" in (select session_key from cdp_erase_keys)')
    if "customer_id" in columns:
        conditions.append('"customer_id" in (select customer_id from cdp_erase_customers)')
    if identifiers:
        for column in sorted(columns & set(IDENTIFIER_COLUMNS)):
            conditions.append(f'"{column}" in (select value from cdp_erase_values)')
    return conditions


def _shared_session_count(conn: duckdb.DuckDBPyConnection) -> int:
    """Sessions of other visitors (session keys not of the erased customer) that hold an erased
    message or one of its identifiers, e.g. a kiosk browser another customer owns."""
    keys: set[str] = set()
    for schema, table, columns in _swept_tables(conn):
        if "session_key" not in columns:
            continue
        touching = _row_conditions(columns - {"session_key", "customer_id"}, identifiers=True)
        if not touching:
            continue
        keys.update(
            r[0] for r in conn.execute(
                f"""
                select distinct session_key from "{schema}"."{table}"
                where session_key not in (select session_key from cdp_erase_keys)
                  and ({" or ".join(touching)})
                """
            ).fetchall()
        )
    return len(keys)


def _erase_rows(conn: duckdb.DuckDBPyConnection, salt: str) -> tuple[dict[str, int], int]:
    """Delete the scoped rows everywhere (inside the caller's transaction); returns the rows
    removed per table and how many sessions of other visitors were scrubbed."""
    removed: dict[str, int] = {}
    shared = _shared_session_count(conn)

    def count(name: str, n: int) -> None:
        if n:
            removed[name] = removed.get(name, 0) + int(n)

    if _table_exists(conn, "raw", "events"):
        count("raw.events", conn.execute(
            "delete from raw.events "
            "where message_id in (select message_id from cdp_erase_messages)"
        ).fetchone()[0])
    if _table_exists(conn, "raw", "quarantine"):
        count("raw.quarantine", conn.execute(
            f"delete from raw.quarantine where rowid in ({_quarantine_matches_sql()})",
            {"salt": salt},
        ).fetchone()[0])
    for schema, table, columns in _swept_tables(conn):
        name = f"{schema}.{table}"
        if "session_key" in columns:
            # Rows of the customer's own sessions and messages go; in another visitor's session
            # (a shared device) only the erased identifier values are blanked.
            conditions = _row_conditions(columns, identifiers=False)
            if conditions:
                count(name, conn.execute(
                    f'delete from "{schema}"."{table}" where {" or ".join(conditions)}'
                ).fetchone()[0])
            for column in sorted(columns & set(IDENTIFIER_COLUMNS)):
                conn.execute(
                    f'update "{schema}"."{table}" set "{column}" = null '
                    f'where "{column}" in (select value from cdp_erase_values)'
                )
            continue
        conditions = _row_conditions(columns, identifiers=True)
        count(name, conn.execute(
            f'delete from "{schema}"."{table}" where {" or ".join(conditions)}'
        ).fetchone()[0])
    return removed, shared


def pending_requests(conn: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """(request_id, identifier_type, identifier_hash) of pending requests, oldest first."""
    if not _table_exists(conn, "privacy", "requests"):
        return []
    return conn.execute(
        "select request_id, identifier_type, identifier_hash from privacy.requests "
        "where status = 'pending' order by requested_at, request_id"
    ).fetchall()


def apply_pending_erasures(
    conn: duckdb.DuckDBPyConnection, log: Callable[[str], None] = lambda _m: None
) -> ErasureReport:
    """Ensure the privacy tables and key; erase the customer of every pending request.

    Each request is one transaction: rows deleted, hashes added to the suppression list and
    the request marked completed with its counts, or nothing at all.
    """
    salt = salt_for(conn)
    ensure_privacy_schema(conn, salt)
    report = ErasureReport()
    for request_id, _identifier_type, identifier_hash in pending_requests(conn):
        conn.execute("begin transaction")
        try:
            _scope(conn, salt, [identifier_hash])
            removed, shared = _erase_rows(conn, salt)
            suppressed = conn.execute(
                """
                insert or ignore into privacy.suppression
                select distinct identifier_hash, now()::timestamp, ? from cdp_erase_hashes
                """,
                [request_id],
            ).fetchone()[0]
            customers = conn.execute("select count(*) from cdp_erase_customers").fetchone()[0]
            identifiers = conn.execute("select count(*) from cdp_erase_values").fetchone()[0]
            summary = {
                "customers": int(customers),
                "identifiers": int(identifiers),
                "shared_sessions": shared,
                "tables": removed,
                "total": sum(removed.values()),
            }
            conn.execute(
                """
                update privacy.requests
                set status = 'completed', completed_at = now()::timestamp, rows_removed = ?
                where request_id = ?
                """,
                [json.dumps(summary, sort_keys=True), request_id],
            )
            conn.execute("commit")
        except BaseException:
            conn.execute("rollback")
            raise
        finally:
            for table in ("cdp_erase_hashes", "cdp_erase_customers", "cdp_erase_values",
                          "cdp_erase_messages", "cdp_erase_keys", "cdp_message_values"):
                conn.execute(f"drop table if exists {table}")
        report.requests_completed += 1
        report.identifiers_suppressed += int(suppressed)
        report.shared_sessions += shared
        for name, n in removed.items():
            report.rows_removed[name] = report.rows_removed.get(name, 0) + n
        log(
            f"erasure request {request_id}: {customers} customer(s), {identifiers} "
            f"identifier(s), {summary['total']} row(s) removed {removed or ''}"
        )
        if shared:
            log(
                f"erasure request {request_id}: {shared} session(s) of other visitors held "
                "erased messages (a shared device); run `cdp build --full-refresh` to "
                "re-sessionize them (`cdp build` does so itself)"
            )
    return report


def compact_warehouse(warehouse: Path) -> dict[str, int]:
    """Rewrite the warehouse into a fresh file and swap it in (atomic rename).

    DuckDB marks the blocks of deleted rows free but does not wipe them, so the bytes of an
    erased customer would stay readable in the file until overwritten. Copying the database
    (`COPY FROM DATABASE`) writes only live rows. Every connection to the warehouse must be
    closed. A failure before the rename leaves the warehouse as it was.
    """
    warehouse = Path(warehouse).resolve()
    tmp = warehouse.with_name(f".{warehouse.name}.compact-{uuid.uuid4().hex[:8]}.tmp")
    before = warehouse.stat().st_size
    try:
        with duckdb.connect(str(tmp)) as conn:
            target = conn.execute("select current_database()").fetchone()[0]
            conn.execute(f"attach {literal(warehouse)} as cdp_compact_source (read_only)")
            conn.execute(f'copy from database cdp_compact_source to "{target}"')
            conn.execute("detach cdp_compact_source")
            conn.execute("checkpoint")
        os.chmod(tmp, warehouse.stat().st_mode & 0o777)
        os.replace(tmp, warehouse)
    finally:
        for path in (tmp, tmp.with_name(tmp.name + ".wal")):
            path.unlink(missing_ok=True)
    return {"bytes_before": before, "bytes_after": warehouse.stat().st_size}


def erasures_need_full_refresh(warehouse: Path) -> bool:
    """True when a pending erasure touches sessions of other visitors (a shared device), so
    the incremental session models must be rebuilt from scratch. Read-only."""
    warehouse = Path(warehouse)
    if not warehouse.exists():
        return False
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        pending = pending_requests(conn)
        if not pending:
            return False
        salt = salt_for(conn)
        for _request_id, _type, identifier_hash in pending:
            _scope(conn, salt, [identifier_hash])
            if _shared_session_count(conn):
                return True
    return False


# --- consent -----------------------------------------------------------------------------


def consent_excluded_messages(
    conn: duckdb.DuckDBPyConnection, days: Iterable[dt.date | str]
) -> int:
    """Messages of the given received days whose analytics consent is false."""
    days = [dt.date.fromisoformat(d) if isinstance(d, str) else d for d in days]
    if not days:
        return 0
    path = '$.context.consent.categoryPreferences."' + settings.analytics_consent_category() + '"'
    return int(conn.execute(
        """
        select count(*) from raw.events
        where received_date in (select unnest(?::date[]))
          and lower(json_extract_string(payload, ?)) = 'false'
        """,
        [days, path],
    ).fetchone()[0])


# --- access export -----------------------------------------------------------------------


def _records(conn: duckdb.DuckDBPyConnection, sql: str, params: list | dict | None = None
             ) -> list[dict[str, Any]]:
    cursor = conn.execute(sql, params or [])
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def export_customer(warehouse: Path, identifier_type: str, value: str) -> dict[str, Any]:
    """Everything held on the customer of (identifier_type, value); read-only.

    Raises LookupError when the warehouse or the identifier is unknown.
    """
    warehouse = Path(warehouse)
    if not warehouse.exists():
        raise LookupError(f"{warehouse}: no warehouse (run `cdp build` first)")
    normalised = normalise_identifier(identifier_type, value)
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        conn.execute("set timezone = 'UTC'")
        if not _table_exists(conn, "marts", "identity_graph"):
            raise LookupError(f"{warehouse}: no marts.identity_graph (run `cdp build` first)")
        found = conn.execute(
            "select customer_id from marts.identity_graph "
            "where identifier_type = ? and identifier_value = ?",
            [identifier_type, normalised],
        ).fetchone()
        if found is None:
            raise LookupError(
                f"no {identifier_type} {normalised!r} in marts.identity_graph: nothing is held "
                "on it as of the last build"
            )
        customer_id = found[0]
        identifiers = _records(
            conn,
            "select * from marts.identity_graph where customer_id = ? "
            "order by first_seen_at, identifier_type, identifier_value",
            [customer_id],
        )
        values = sorted({r["identifier_value"] for r in identifiers})
        conn.execute("create or replace temp table cdp_erase_values (value varchar)")
        conn.executemany("insert into cdp_erase_values values (?)", [[v] for v in values])
        conn.execute("create or replace temp table cdp_erase_hashes (identifier_hash varchar)")

        def one(schema: str, table: str) -> dict | None:
            if not _relation_exists(conn, schema, table):
                return None
            rows = _records(
                conn, f'select * from "{schema}"."{table}" where customer_id = ?', [customer_id]
            )
            return rows[0] if rows else None

        def many(schema: str, table: str, order: str) -> list[dict]:
            if not _relation_exists(conn, schema, table):
                return []
            return _records(
                conn,
                f'select * from "{schema}"."{table}" where customer_id = ? order by {order}',
                [customer_id],
            )

        conflicts = []
        if _relation_exists(conn, "marts", "identity_conflicts"):
            conflicts = _records(
                conn,
                """
                select * from marts.identity_conflicts
                where identifier_value in (select value from cdp_erase_values)
                   or conflicting_identifier_value in (select value from cdp_erase_values)
                order by occurred_at, message_id
                """,
            )
        events = _records(
            conn,
            f"""
            with message_values as (
                {message_values_query("raw.events", "payload", "message_id")}
            )
            select message_id, type, event_at, received_date, source_file, line_number, payload
            from raw.events
            where message_id in (
                select message_id from message_values
                where value in (select value from cdp_erase_values)
            )
            order by event_at, message_id
            """,
        )
        for event in events:
            event["payload"] = json.loads(event["payload"])
        quarantined = _records(
            conn,
            f"""
            select source_file, line_number, received_date, reason, raw_line
            from raw.quarantine
            where rowid in ({_quarantine_matches_sql("''")})
            order by received_date, source_file, line_number
            """,
        ) if _table_exists(conn, "raw", "quarantine") else []
        report = {
            "exported_at": dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(),
            "warehouse": str(warehouse),
            "requested": {"identifier_type": identifier_type, "identifier_value": normalised},
            "customer_id": customer_id,
            "customer": one("marts", "customer_360"),
            "traits": one("intermediate", "int_customers__traits"),
            "identifiers": identifiers,
            "identity_conflicts": conflicts,
            "sessions": many("marts", "sessions", "started_at, session_id"),
            "page_views": many("marts", "page_views", "viewed_at, event_id"),
            "events": events,
            "quarantined_lines": quarantined,
        }
    return report


def json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return str(value)


def write_export(report: dict[str, Any], out: Path) -> Path:
    """Write the export as JSON (mode 0600: it holds personal data), atomically."""
    out = Path(out).expanduser().resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(report, fh, indent=2, default=json_default, ensure_ascii=False)
            fh.write("\n")
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out
