"""Audiences and activation: definitions, exports to destinations, customer-match hashing.

An audience is a dbt model `marts.audience__<name>` (customer_id, entered_at) whose YAML
declares `config.meta.audience` (condition, consent_category, destinations, traits); see the
README, "Audiences and activation". dbt decides who is a member (condition met and latest
consent for the category given) and records who entered and left
(`marts.audience_membership_history`, `marts.audience_sizes`). After each build this module
writes, for every destination of every audience, into `<export dir>/<destination>/`:

* `<audience>.members.csv` and `<audience>.members.parquet`: customer_id, entered_at and the
  audience's traits (columns of marts.customer_360);
* `<audience>.customer_match.csv`: `Email,Phone`, each normalised and SHA-256 hashed (hex,
  lower case) as Google Ads Customer Match and Meta custom audiences require; email trimmed
  and lower-cased (no Gmail-specific dot removal); phone in E.164 (`+`, country code, digits),
  a number written without `+`/`00` taken as a national number of var
  `audience_phone_country_code` (default 1) with a leading trunk 0 dropped. Customers with
  neither are left out of this file.

Every file is written to a temporary file in the same folder and renamed into place (readers
never see half a file), mode 0600 (they hold personal data). Files of an audience that no
longer goes to a destination are removed, so no stale copy outlives a build. Erased customers
(cdp forget) are gone from the marts before dbt runs; as a second guard, a member any of whose
identifiers is in privacy.suppression is never written.

The export folder is CDP_EXPORT_DIR, else `exports` next to the warehouse (data/exports for the
default warehouse).
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import hashlib
import json
import os
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from orchestration import settings
from orchestration.sql import literal

AUDIENCE_PREFIX = "audience__"
DEFAULT_CONSENT_CATEGORY = "Advertising"
DEFAULT_TRAITS = ("user_id", "email", "first_name", "last_name")
DEFAULT_PHONE_COUNTRY_CODE = "1"
MEMBERS_CSV = ".members.csv"
MEMBERS_PARQUET = ".members.parquet"
CUSTOMER_MATCH_CSV = ".customer_match.csv"
EXPORT_SUFFIXES = (MEMBERS_CSV, MEMBERS_PARQUET, CUSTOMER_MATCH_CSV)
CUSTOMER_MATCH_HEADER = ("Email", "Phone")
FILE_MODE = 0o600

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_DESTINATION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_COLUMN = re.compile(r"^[a-z_][a-z0-9_]*$")
_TMP = re.compile(r"^\..+\.[0-9a-f]{8}\.tmp$")


class AudienceError(RuntimeError):
    """An audience cannot be exported; the message names the audience and the cause."""


@dataclass(frozen=True)
class Audience:
    """One audience, as declared in its dbt YAML (config.meta.audience)."""

    name: str
    description: str = ""
    condition: str = ""
    consent_category: str = DEFAULT_CONSENT_CATEGORY
    destinations: tuple[str, ...] = ()
    traits: tuple[str, ...] = DEFAULT_TRAITS

    @property
    def model(self) -> str:
        return AUDIENCE_PREFIX + self.name

    @property
    def relation(self) -> str:
        return f"marts.{self.model}"


# --- definitions -------------------------------------------------------------------------


def phone_country_code() -> str:
    """var audience_phone_country_code: the country of phone numbers written without one."""
    code = str(settings.dbt_vars().get("audience_phone_country_code") or DEFAULT_PHONE_COUNTRY_CODE)
    code = code.strip().lstrip("+")
    if not code.isdigit() or not 1 <= len(code) <= 3:
        raise AudienceError(f"var audience_phone_country_code {code!r} is not a country code")
    return code


def audience_from_node(node: Mapping[str, Any]) -> Audience | None:
    """The audience a manifest node declares, None for a model without meta.audience."""
    config_meta = (node.get("config") or {}).get("meta") or {}
    spec = config_meta.get("audience", (node.get("meta") or {}).get("audience"))
    if spec is None:
        return None
    model = node.get("name", "")
    if not model.startswith(AUDIENCE_PREFIX) or not _NAME.match(model[len(AUDIENCE_PREFIX):]):
        raise AudienceError(f"{model}: an audience model is named audience__<lower_case_name>")
    if not isinstance(spec, Mapping) or not str(spec.get("condition") or "").strip():
        raise AudienceError(f"{model}: meta.audience needs a condition")
    destinations = spec.get("destinations") or []
    if isinstance(destinations, str):
        destinations = [destinations]
    for destination in destinations:
        if not _DESTINATION.match(str(destination)):
            raise AudienceError(
                f"{model}: destination {destination!r} is not a folder name (letters, digits, "
                "_ . -)"
            )
    traits = spec.get("traits")
    traits = DEFAULT_TRAITS if traits is None else ([traits] if isinstance(traits, str) else traits)
    for trait in traits:
        if not _COLUMN.match(str(trait)) or trait in ("customer_id", "entered_at"):
            raise AudienceError(f"{model}: trait {trait!r} is not a customer_360 column name")
    category = spec.get("consent_category") or settings.dbt_vars().get(
        "audience_consent_category", DEFAULT_CONSENT_CATEGORY
    )
    return Audience(
        name=model[len(AUDIENCE_PREFIX):],
        description=" ".join(str(node.get("description") or "").split()),
        condition=" ".join(str(spec["condition"]).split()),
        consent_category=str(category),
        destinations=tuple(dict.fromkeys(str(d) for d in destinations)),
        traits=tuple(dict.fromkeys(str(t) for t in traits)),
    )


def load_audiences(manifest: Mapping[str, Any] | None = None) -> list[Audience]:
    """Every audience of the dbt project, by name (from target/manifest.json, parsed if stale)."""
    if manifest is None:
        from orchestration.defs.dbt_project import ensure_manifest

        manifest = json.loads(ensure_manifest().read_text())
    audiences = []
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") == "model" and node.get("package_name") == "cdp":
            audience = audience_from_node(node)
            if audience is not None:
                audiences.append(audience)
    return sorted(audiences, key=lambda a: a.name)


# --- normalisation and hashing -----------------------------------------------------------


def normalise_email(value: str | None) -> str | None:
    """Trimmed and lower-cased (Google / Meta customer match); None when not an email."""
    text = (value or "").strip().lower()
    if "@" not in text[1:-1] or any(ch.isspace() for ch in text):
        return None
    return text


def normalise_phone(value: str | None, country_code: str = DEFAULT_PHONE_COUNTRY_CODE
                    ) -> str | None:
    """E.164: '+', country code and subscriber number, digits only; None when unusable.

    `+44 20 7946 0958` and `0044 20 7946 0958` keep their country code; a number without one
    is a national number of `country_code`: `(555) 123-4567` -> `+15551234567`,
    `1-555-123-4567` -> `+15551234567` (already starts with the code and is long enough),
    `+44 (0)20 7946 0958` -> `+442079460958`, and
    for code 44 `020 7946 0958` -> `+442079460958` (trunk 0 dropped).
    """
    text = (value or "").strip()
    if text.startswith(("+", "00")):
        text = text.replace("(0)", "")  # "+44 (0)20 ...": the trunk 0 is not dialled
    digits = "".join(ch for ch in text if ch.isdigit())
    if not digits:
        return None
    if text.startswith("+"):
        number = digits
    elif digits.startswith("00"):
        number = digits[2:]
    elif digits.startswith(country_code) and len(digits) - len(country_code) >= 10:
        number = digits
    else:
        number = country_code + digits.lstrip("0")
    # E.164: at most 15 digits; fewer than 8 is no full international number.
    if not 8 <= len(number) <= 15 or number.startswith("0"):
        return None
    return "+" + number


def sha256_hex(value: str) -> str:
    """SHA-256 of the UTF-8 bytes, as lower-case hex."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def customer_match_row(email: str | None, phone: str | None,
                       country_code: str = DEFAULT_PHONE_COUNTRY_CODE) -> tuple[str, str] | None:
    """(hashed email, hashed phone), '' where absent; None when neither is usable."""
    email_n = normalise_email(email)
    phone_n = normalise_phone(phone, country_code)
    if email_n is None and phone_n is None:
        return None
    return (sha256_hex(email_n) if email_n else "", sha256_hex(phone_n) if phone_n else "")


# --- files -------------------------------------------------------------------------------


def export_dir_for(warehouse: Path) -> Path:
    """CDP_EXPORT_DIR, else `exports` next to the warehouse (data/exports by default)."""
    return settings.export_dir(warehouse)


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Run `write(tmp)` on a temporary file next to `path`, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, decimal.Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _write_csv(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Callable[[Path], None]:
    def write(tmp: Path) -> None:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(list(header))
            writer.writerows([_csv_value(v) for v in row] for row in rows)
    return write


def _write_parquet(conn: duckdb.DuckDBPyConnection, query: str) -> Callable[[Path], None]:
    def write(tmp: Path) -> None:
        conn.execute(f"copy ({query}) to {literal(tmp)} (format parquet)")
    return write


# --- export ------------------------------------------------------------------------------


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


def _relation_exists(conn: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return conn.execute(
        "select count(*) from (select schema_name, table_name as name from duckdb_tables() "
        "union all select schema_name, view_name from duckdb_views()) "
        "where schema_name = ? and name = ?",
        [schema, name],
    ).fetchone()[0] > 0


def latest_sizes(conn: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """Row of marts.audience_sizes of the latest build, by audience ({} before the first)."""
    if not _relation_exists(conn, "marts", "audience_sizes"):
        return {}
    cursor = conn.execute(
        """
        select audience_name, built_at, members, entered, exited, excluded_without_consent
        from marts.audience_sizes
        where built_at = (select max(built_at) from marts.audience_sizes)
        """
    )
    columns = [d[0] for d in cursor.description]
    return {row[0]: dict(zip(columns, row, strict=True)) for row in cursor.fetchall()}


def member_counts(conn: duckdb.DuckDBPyConnection, audiences: Iterable[Audience]
                  ) -> dict[str, int | None]:
    """Rows of each audience model; None when it has not been built."""
    counts: dict[str, int | None] = {}
    for audience in audiences:
        if _relation_exists(conn, "marts", audience.model):
            counts[audience.name] = conn.execute(
                f'select count(*) from marts."{audience.model}"'
            ).fetchone()[0]
        else:
            counts[audience.name] = None
    return counts


class _SuppressionGuard:
    """Recognises identifiers in privacy.suppression (salted hashes; see orchestration.privacy)."""

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        from orchestration.privacy import suppression_salt

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
        from orchestration.privacy import hash_value

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
    if not _relation_exists(conn, "marts", "customer_360"):
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
                f"-{result.exited}), {result.customer_match_rows} customer-match rows -> "
                f"{', '.join(audience.destinations) or 'no destinations'}"
            )
            report.audiences.append(result)
    finally:
        conn.execute(f"drop table if exists {MEMBERS_TEMP}")
    report.removed_files = _remove_stale_files(export_dir, written)
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
    if not _relation_exists(conn, "marts", audience.model):
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
        excluded_without_consent=int(size.get("excluded_without_consent") or 0),
        built_at=str(size["built_at"]) if size.get("built_at") else None,
        destinations=audience.destinations,
    )
    columns = ", ".join(f'"{c}"' for c in header)
    parquet_query = f"select {columns} from {MEMBERS_TEMP} order by customer_id"
    for destination in audience.destinations:
        folder = export_dir / destination
        targets = [
            (folder / f"{audience.name}{MEMBERS_CSV}", _write_csv(header, member_rows)),
            (folder / f"{audience.name}{MEMBERS_PARQUET}", _write_parquet(conn, parquet_query)),
            (folder / f"{audience.name}{CUSTOMER_MATCH_CSV}",
             _write_csv(CUSTOMER_MATCH_HEADER, matches)),
        ]
        for path, write in targets:
            atomic_write(path, write)
            written.add(path)
            result.files.append(str(path))
    return result


def discard_exports(export_dir: Path) -> list[str]:
    """Remove every audience export file under `export_dir` (other files stay); the next
    successful build writes them again. For a step that erased customers while the exports of
    the previous build may still hold them (e.g. when the build then fails before exporting)."""
    return _remove_stale_files(Path(export_dir).expanduser().resolve(), set())


def _remove_stale_files(export_dir: Path, written: set[Path]) -> list[str]:
    """Our export files (and leftover temporary files) that this run did not write."""
    removed = []
    if not export_dir.is_dir():
        return removed
    for folder in sorted(p for p in export_dir.iterdir() if p.is_dir()):
        for path in sorted(folder.iterdir()):
            ours = path.name.endswith(EXPORT_SUFFIXES) or (
                _TMP.match(path.name) and any(s in path.name for s in EXPORT_SUFFIXES)
            )
            if path.is_file() and ours and path not in written:
                path.unlink(missing_ok=True)
                removed.append(str(path))
    return removed
