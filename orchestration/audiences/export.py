"""Export every audience's members and customer-match file to each of its destinations.

For every destination of every audience, into `<export dir>/<destination>/`:

* `<audience>.members.csv` and `<audience>.members.parquet`: customer_id, entered_at and the
  audience's traits (columns of marts.customer_360);
* `<audience>.customer_match.csv`: `Email,Phone`, each normalised for customer match
  (orchestration.identifiers: email trimmed and lower-cased, phone in E.164 with the default
  country code of var `audience_phone_country_code`) and SHA-256 hashed (hex, lower case) as
  Google Ads Customer Match and Meta custom audiences require. Customers with neither are left
  out of this file.

Erased customers (cdp forget) are gone from the marts before dbt runs; as a second guard, a
member any of whose identifiers is in privacy.suppression is never written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from orchestration.audiences.definitions import Audience, AudienceError, phone_country_code
from orchestration.audiences.files import (
    CUSTOMER_MATCH_CSV,
    MEMBERS_CSV,
    MEMBERS_PARQUET,
    atomic_write,
    remove_stale_files,
    write_csv,
    write_parquet,
)
from orchestration.identifiers import (
    DEFAULT_PHONE_COUNTRY_CODE,
    customer_match_email,
    customer_match_phone,
)
from orchestration.privacy import hash_value, suppression_salt
from orchestration.privacy.salt import relation_exists

CUSTOMER_MATCH_HEADER = ("Email", "Phone")


def sha256_hex(value: str) -> str:
    """SHA-256 of the UTF-8 bytes, as lower-case hex."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def customer_match_row(email: str | None, phone: str | None,
                       country_code: str = DEFAULT_PHONE_COUNTRY_CODE) -> tuple[str, str] | None:
    """(hashed email, hashed phone), '' where absent; None when neither is usable."""
    email_n = customer_match_email(email)
    phone_n = customer_match_phone(phone, country_code)
    if email_n is None and phone_n is None:
        return None
    return (sha256_hex(email_n) if email_n else "", sha256_hex(phone_n) if phone_n else "")


@dataclass
class AudienceExport:
    """What one audience's export did."""

    name: str
    members: int = 0
    exported: int = 0
    customer_match_rows: int = 0
    suppressed: int = 0
    entered: int = 0
    exited: int = 0
    erased: int = 0
    excluded_without_consent: int = 0
    built_at: str | None = None
    destinations: tuple[str, ...] = ()
    files: list[str] = field(default_factory=list)


@dataclass
class ExportReport:
    export_dir: Path
    audiences: list[AudienceExport] = field(default_factory=list)
    removed_files: list[str] = field(default_factory=list)

    @property
    def files(self) -> list[str]:
        return [f for a in self.audiences for f in a.files]


def latest_sizes(conn: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """Row of marts.audience_sizes of the latest build, by audience ({} before the first);
    `erased` is 0 where the warehouse predates that column."""
    if not relation_exists(conn, "marts", "audience_sizes"):
        return {}
    cursor = conn.execute(
        """
        select * from marts.audience_sizes
        where built_at = (select max(built_at) from marts.audience_sizes)
        """
    )
    columns = [d[0] for d in cursor.description]
    sizes = {}
    for row in cursor.fetchall():
        size = dict(zip(columns, row, strict=True))
        size["erased"] = size.get("erased") or 0
        sizes[size["audience_name"]] = size
    return sizes


def member_counts(conn: duckdb.DuckDBPyConnection, audiences: Iterable[Audience]
                  ) -> dict[str, int | None]:
    """Rows of each audience model; None when it has not been built."""
    counts: dict[str, int | None] = {}
    for audience in audiences:
        if relation_exists(conn, "marts", audience.model):
            counts[audience.name] = conn.execute(
                f'select count(*) from marts."{audience.model}"'
            ).fetchone()[0]
        else:
            counts[audience.name] = None
    return counts


class _SuppressionGuard:
    """Recognises identifiers in privacy.suppression (salted hashes; see orchestration.privacy)."""

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.salt = suppression_salt(conn)
        self.hashes: set[str] = set()
        if self.salt is not None:
            self.hashes = {
                r[0] for r in conn.execute("select identifier_hash from privacy.suppression")
                .fetchall()
            }

    def is_suppressed(self, *values: str | None) -> bool:
        if not self.hashes:
            return False
        return any(v and hash_value(self.salt, v) in self.hashes for v in values)


def _customer_columns(conn: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in conn.execute(
        "select column_name from duckdb_columns() where schema_name = 'marts' "
        "and table_name = 'customer_360' order by column_index"
    ).fetchall()]


MEMBERS_TEMP = "cdp_audience_export_members"


def _load_members(conn: duckdb.DuckDBPyConnection, audience: Audience) -> list[dict[str, Any]]:
    """Members with their traits into a temp table (read-only connections allow it); rows."""
    trait_sql = "".join(f', c."{t}"' for t in audience.traits)
    conn.execute(
        f"""
        create or replace temp table {MEMBERS_TEMP} as
        select a.customer_id, a.entered_at{trait_sql},
               c.user_id as __user_id, c.email as __email, c.phone as __phone
        from marts."{audience.model}" as a
        left join marts.customer_360 as c on c.customer_id = a.customer_id
        order by a.customer_id
        """
    )
    cursor = conn.execute(f"select * from {MEMBERS_TEMP} order by customer_id")
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def export_audiences(
    conn: duckdb.DuckDBPyConnection,
    export_dir: Path,
    audiences: Iterable[Audience],
    *,
    country_code: str | None = None,
    log: Callable[[str], None] = lambda _m: None,
) -> ExportReport:
    """Write every audience's files to each of its destinations under `export_dir`.

    `conn` may be read-only. Raises AudienceError naming the audience when one cannot be
    exported (model not built, unknown trait); files already written stay (each is complete).
    """
    audiences = list(audiences)
    export_dir = Path(export_dir).expanduser().resolve()
    country_code = country_code or phone_country_code()
    if not relation_exists(conn, "marts", "customer_360"):
        raise AudienceError("marts.customer_360 does not exist: run the dbt build first")
    customer_columns = set(_customer_columns(conn))
    guard = _SuppressionGuard(conn)
    sizes = latest_sizes(conn)
    report = ExportReport(export_dir=export_dir)
    written: set[Path] = set()
    try:
        for audience in audiences:
            result = _export_one(conn, export_dir, audience, customer_columns, guard,
                                 sizes.get(audience.name) or {}, country_code, written)
            if result.suppressed:
                log(f"{audience.model}: {result.suppressed} member(s) with an erased identifier "
                    "left out of the export")
            log(
                f"{audience.model}: {result.members} members (+{result.entered} "
                f"-{result.exited}, {result.erased} erased), {result.customer_match_rows} "
                f"customer-match rows -> "
                f"{', '.join(audience.destinations) or 'no destinations'}"
            )
            report.audiences.append(result)
    finally:
        conn.execute(f"drop table if exists {MEMBERS_TEMP}")
    report.removed_files = remove_stale_files(export_dir, written)
    for path in report.removed_files:
        log(f"removed {path} (no longer exported)")
    return report


def _export_one(
    conn: duckdb.DuckDBPyConnection,
    export_dir: Path,
    audience: Audience,
    customer_columns: set[str],
    guard: _SuppressionGuard,
    size: Mapping[str, Any],
    country_code: str,
    written: set[Path],
) -> AudienceExport:
    if not relation_exists(conn, "marts", audience.model):
        raise AudienceError(f"{audience.relation} does not exist: run the dbt build first")
    unknown = [t for t in audience.traits if t not in customer_columns]
    if unknown:
        raise AudienceError(
            f"{audience.model}: traits {unknown} are not columns of marts.customer_360"
        )
    rows = _load_members(conn, audience)
    suppressed = [r["customer_id"] for r in rows
                  if guard.is_suppressed(r["__user_id"], r["__email"], r["__phone"])]
    if suppressed:
        conn.execute(
            f"delete from {MEMBERS_TEMP} where customer_id in (select unnest($ids::varchar[]))",
            {"ids": suppressed},
        )
    left_out = set(suppressed)
    kept = [r for r in rows if r["customer_id"] not in left_out]
    header = ["customer_id", "entered_at", *audience.traits]
    member_rows = [[r[c] for c in header] for r in kept]
    matches = list(dict.fromkeys(
        m for m in (customer_match_row(r["__email"], r["__phone"], country_code) for r in kept)
        if m is not None
    ))
    result = AudienceExport(
        name=audience.name,
        members=len(rows),
        exported=len(kept),
        customer_match_rows=len(matches),
        suppressed=len(suppressed),
        entered=int(size.get("entered") or 0),
        exited=int(size.get("exited") or 0),
        erased=int(size.get("erased") or 0),
        excluded_without_consent=int(size.get("excluded_without_consent") or 0),
        built_at=str(size["built_at"]) if size.get("built_at") else None,
        destinations=audience.destinations,
    )
    columns = ", ".join(f'"{c}"' for c in header)
    parquet_query = f"select {columns} from {MEMBERS_TEMP} order by customer_id"
    for destination in audience.destinations:
        folder = export_dir / destination
        targets = [
            (folder / f"{audience.name}{MEMBERS_CSV}", write_csv(header, member_rows)),
            (folder / f"{audience.name}{MEMBERS_PARQUET}", write_parquet(conn, parquet_query)),
            (folder / f"{audience.name}{CUSTOMER_MATCH_CSV}",
             write_csv(CUSTOMER_MATCH_HEADER, matches)),
        ]
        for path, write in targets:
            atomic_write(path, write)
            written.add(path)
            result.files.append(str(path))
    return result
