"""Load day folders of Segment-spec JSON-lines dumps into DuckDB's `raw` tables.

The DuckDB adapter of the raw-load contract (`orchestration.ingest.contract`): the lines are
staged by `duckdb_staging`, classified by the contract's query in DuckDB's SQL (`DIALECT`),
then messages carrying an identifier erased by `cdp forget` are marked suppressed
(`privacy.mark_suppressed`, see orchestration/privacy/) and the day is written.

A day is replaced atomically: the old rows of the day are deleted, the new ones inserted and
its raw.load_log row written in one transaction, so a rerun never doubles rows and a failed
run leaves the previous day. Duplicates are found on the narrow (message id, file, line)
columns; the payload text is written once, unsorted, zstd-compressed.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import duckdb

from orchestration import privacy
from orchestration.ingest.accounting import LoadReport, by_reason_sql, line_counts_sql
from orchestration.ingest.contract import (
    DAY_COLUMN,
    EVENTS,
    MESSAGE_COLUMNS,
    QUARANTINE_RAW_LINE_CHARS,
    RAW_TABLES,
    Column,
    Dialect,
    MessageField,
    RawTable,
    classification_sql,
    message_columns_sql,
)
from orchestration.ingest.duckdb_copies import find_first_copies, rank_copies, recount_other_days
from orchestration.ingest.duckdb_staging import drop_staging, drop_temp, stage_day
from orchestration.ingest.folders import day_folder, plan_load

# WAL size that triggers an automatic checkpoint while a run loads several days (DuckDB: 16 MB).
BATCH_CHECKPOINT_THRESHOLD = "1GB"

_TYPES = {"text": "varchar", "int": "integer", "bigint": "bigint", "double": "double",
          "date": "date", "timestamp": "timestamp"}


def _column_ddl(column: Column, table: RawTable) -> str:
    if table.one_row_per_day and column.name == DAY_COLUMN:
        return f"{column.name} {_TYPES[column.type]} primary key"
    # zstd: about 3x cheaper to write than the automatic dictionary/FSST choice for ~1 KB
    # unique JSON texts, and half the size (measured on a 10 M-event day)
    compression = " using compression zstd" if column.long_text else ""
    not_null = "" if column.nullable else " not null"
    default = f" default {column.default}" if column.default is not None else ""
    return f"{column.name} {_TYPES[column.type]}{compression}{not_null}{default}"


def raw_ddl() -> str:
    """The raw schema and tables, and the columns older warehouses lack."""
    statements = ["create schema if not exists raw"]
    for table in RAW_TABLES:
        columns = ",\n    ".join(_column_ddl(c, table) for c in table.columns)
        statements.append(f"create table if not exists {table.name} (\n    {columns}\n)")
    for table in RAW_TABLES:
        for c in table.columns:
            if c.added_later:  # a column added to an existing table cannot be not null
                default = f" default {c.default}" if c.default is not None else ""
                statements.append(f"alter table {table.name} add column if not exists "
                                  f"{c.name} {_TYPES[c.type]}{default}")
    return ";\n".join(statements) + ";"


def ensure_raw_schema(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the raw tables, add the columns older warehouses lack, and fill message columns
    just added from the payload of the rows already loaded (the loader's own parse, so they
    equal what a fresh load writes)."""
    had = _columns(conn, EVENTS)
    conn.execute(raw_ddl())
    added = [f for f in MESSAGE_COLUMNS if had and f.column not in had]
    if added:
        _fill_message_columns(conn, added)


def _columns(conn: duckdb.DuckDBPyConnection, table: RawTable) -> set[str]:
    schema, name = table.name.split(".")
    return {row[0] for row in conn.execute(
        "select column_name from information_schema.columns "
        "where table_schema = ? and table_name = ?", [schema, name]).fetchall()}


def _fill_message_columns(conn: duckdb.DuckDBPyConnection, fields: list[MessageField]) -> None:
    parsed = message_columns_sql(DIALECT, "raw.events", "payload", "message_id", fields)
    conn.execute(f"""
        update raw.events as e
        set {", ".join(f"{f.column} = x.{f.column}" for f in fields)}
        from ({parsed}) as x
        where x.message_id = e.message_id
    """)


def loaded_fingerprints(conn: duckdb.DuckDBPyConnection | None) -> dict[str, str | None]:
    """Each loaded day's folder fingerprint (raw.load_log); empty without a warehouse
    (`conn` None) or a load log."""
    if conn is None:
        return {}
    try:
        return dict(conn.execute(
            "select strftime(received_date, '%Y-%m-%d'), fingerprint from raw.load_log"
        ).fetchall())
    except duckdb.Error:  # no raw.load_log (or an old one without fingerprints)
        return {}


def day_accounts(
    conn: duckdb.DuckDBPyConnection, days: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """What each of `days` holds, by day (`YYYY-MM-DD`); days never loaded are absent.

    The line accounting of the day's last load (raw.load_log: files, lines, loaded,
    duplicates, suppressed, quarantined, seconds, loaded_at), its quarantined lines by reason,
    and `rows`: its rows in raw.events now (fewer than `loaded` once an erasure removed some).
    """
    if not days:
        return {}
    dates = [dt.date.fromisoformat(day) for day in days]
    log = conn.execute(
        """
        select strftime(received_date, '%Y-%m-%d') as day, files, empty_files, unreadable_files,
               lines, loaded, duplicates, suppressed, quarantined, seconds, loaded_at
        from raw.load_log where received_date in (select unnest(?::date[]))
        """,
        [dates],
    )
    names = [d[0] for d in log.description]
    accounts = {row[0]: dict(zip(names[1:], row[1:], strict=True)) for row in log.fetchall()}
    for day, rows in conn.execute(
        "select strftime(received_date, '%Y-%m-%d'), count(*) from raw.events "
        "where received_date in (select unnest(?::date[])) group by 1", [dates],
    ).fetchall():
        if day in accounts:
            accounts[day]["rows"] = int(rows)
    for account in accounts.values():
        account.setdefault("rows", 0)
        account["quarantine_by_reason"] = {}
    for day, reason, count in conn.execute(
        "select strftime(received_date, '%Y-%m-%d'), reason, count(*) from raw.quarantine "
        "where received_date in (select unnest(?::date[])) group by 1, 2 order by 1, 2", [dates],
    ).fetchall():
        if day in accounts:
            accounts[day]["quarantine_by_reason"][reason] = int(count)
    return accounts


def _to_utc(expr: str) -> str:
    # Offsets are honoured; a time without an offset is taken as UTC (the session runs in UTC).
    return f"cast(try_cast(nullif(trim({expr}), '') as timestamptz) as timestamp)"


def _quoted(texts: Sequence[str]) -> str:
    return ", ".join(f"'{text}'" for text in texts)


DIALECT = Dialect(
    # The CSV reader already set the reason of a line it could not read (duckdb_staging).
    read_reason="stage_reason",
    is_json=lambda line: f"json_valid({line})",
    # a valid JSON text that starts with a brace is an object: no second parse for messages
    is_object=lambda line: (
        f"case when starts_with({line}, '{{') then true else json_type({line}) = 'OBJECT' end"
    ),
    # JSON whitespace, not only spaces: a line of tabs is blank, not invalid JSON
    is_blank=lambda line: f"{line} is null or trim({line}, e' \\t\\r\\n') = ''",
    # one parse of each object for every field the loader needs
    extract=lambda line, paths: (
        f"case when is_object then json_extract_string({line}, [{_quoted(paths)}]) end as f"
    ),
    field=lambda i: f"f[{i + 1}]",
    # sub-documents as JSON text: json_extract (json_extract_string would unquote a string)
    extract_docs=lambda line, paths: (
        f"case when is_object then cast(json_extract({line}, [{_quoted(paths)}]) as varchar[])"
        " end as d"
    ),
    doc_field=lambda i: f"d[{i + 1}]",
    to_utc=_to_utc,
    skew_corrected=lambda original, sent, received: (
        f"{original} + coalesce({received} - {sent}, interval 0 second)"
    ),
)


class Log(Protocol):
    def info(self, msg: str) -> None: ...

    def warning(self, msg: str) -> None: ...


def load_days(
    conn: duckdb.DuckDBPyConnection,
    raw_dir: Path,
    days: list[str] | None = None,
    *,
    only_changed: bool = False,
    log: Log | None = None,
) -> list[LoadReport]:
    """Load the given days (default: every day folder) with one checkpoint at the end.

    With `only_changed`, folders unchanged since their load are kept. A day without a folder
    is left as it is (a warning when it was the only day asked for). Each day's report is
    logged, and a day whose line accounting does not add up stops the run
    (`LineAccountingError`).
    """
    log = log or logging.getLogger(__name__)
    ensure_raw_schema(conn)
    plan = plan_load(raw_dir, days, loaded_fingerprints(conn) if only_changed else None)
    if plan.unchanged:
        log.info(f"{len(plan.unchanged)} day folder(s) unchanged since loaded: kept")
    if days is not None and len(days) == 1 and plan.missing:
        day = plan.missing[0]
        log.warning(f"{raw_dir / day}: no such folder; day {day} left unchanged")
    reports = []
    with one_checkpoint(conn, reports):
        for day in plan.load:
            report = load_day(conn, raw_dir, day)
            reports.append(report)
            log.info(report.summary())
            report.check_accounted()
    return reports


def load_day(
    conn: duckdb.DuckDBPyConnection,
    raw_dir: Path,
    received_date: dt.date | str,
) -> LoadReport:
    """Replace one received day in `raw.events` and `raw.quarantine`; return its report."""
    started = time.perf_counter()
    folder = day_folder(raw_dir, received_date)
    report = folder.new_report()
    conn.execute("set timezone = 'UTC'")
    ensure_raw_schema(conn)
    if report.folder_missing:
        # No folder is not an empty day: what was loaded for it stays (an empty folder
        # does replace the day with nothing).
        return report
    stage_day(conn, folder.displays)

    conn.execute(
        "create or replace temp table cdp_classified as "
        + classification_sql(DIALECT, folder.received_date)
    )
    drop_temp(conn, "cdp_lines")
    conn.execute("drop table if exists cdp_file_lines")
    # Erased identifiers (cdp forget): flag the lines to drop; the salt is a query parameter.
    privacy.mark_suppressed(conn, "cdp_classified", privacy.suppression_salt(conn))
    find_first_copies(conn)
    # The day's rows and its load-log row change together or not at all.
    conn.execute("begin transaction")
    try:
        _replace_day(conn, report)
        report.seconds = round(time.perf_counter() - started, 3)
        _write_load_log(conn, report, folder.fingerprint)
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    # The commit writes the day's last partial row group to the WAL: part of the day's time.
    report.seconds = round(time.perf_counter() - started, 3)
    conn.execute(
        "update raw.load_log set seconds = ? where received_date = ?",
        [report.seconds, report.received_date],
    )
    drop_staging(conn)
    return report


@contextmanager
def one_checkpoint(
    conn: duckdb.DuckDBPyConnection, reports: Sequence[LoadReport] = ()
) -> Iterator[None]:
    """Load several days with one checkpoint at the end instead of one after every day.

    Full row groups of a day go straight to the database file, but its last, partial one
    goes to the WAL, and DuckDB's automatic checkpoint (WAL over 16 MB) then recompresses the
    table's last row group after nearly every day: half the loader's wall time at 1 M
    events, spent after the day's seconds were taken. Inside this block the WAL may grow to
    BATCH_CHECKPOINT_THRESHOLD; the final checkpoint's time is added to the seconds of the
    last day loaded (the last of `reports` once the block ends), so raw.load_log's seconds
    add up to the time spent.
    """
    previous = conn.execute("select current_setting('checkpoint_threshold')").fetchone()[0]
    conn.execute(f"set checkpoint_threshold = '{BATCH_CHECKPOINT_THRESHOLD}'")
    try:
        yield
    finally:
        conn.execute(f"set checkpoint_threshold = '{previous}'")
    started = time.perf_counter()
    conn.execute("checkpoint")
    loaded = [r for r in reports if not r.folder_missing]
    if loaded:
        conn.execute(
            "update raw.load_log set seconds = round(seconds + ?, 3) where received_date = ?",
            [time.perf_counter() - started, loaded[-1].received_date],
        )


def _write_load_log(conn: duckdb.DuckDBPyConnection, report: LoadReport, fingerprint: str) -> None:
    row = report.load_log_row(fingerprint)
    conn.execute(
        f"""
        insert or replace into raw.load_log (loaded_at, {", ".join(row)})
        values (now()::timestamp, {", ".join("?" for _ in row)})
        """,
        list(row.values()),
    )


def _replace_day(conn: duckdb.DuckDBPyConnection, report: LoadReport) -> None:
    """Swap the day's rows (inside the caller's transaction); fill in the line accounting.

    The day's best copy of each message competes with the copies other days hold (in
    raw.events or raw.superseded) by COPY_ORDER; only the copies of the day's messages (and of
    the messages it held before) are moved, and the other days whose rows moved are recounted
    and stamped as reloaded, so incremental models process them again.
    """
    day = report.received_date
    rank_copies(conn, day)
    # the day's copies: the winners to raw.events, the others to raw.superseded
    inserted = 0
    for table, wins in (("raw.events", True), ("raw.superseded", False)):
        lines = f"""(
            select c.* from cdp_classified c
            semi join (select * from cdp_ranked where held_in = 'day' and wins = {wins}) r
                on c.source_file = r.source_file and c.line_number = r.line_number
        )"""
        row = conn.execute(f"insert into {table} by name " + message_columns_sql(
            DIALECT, lines, "line",
            "message_id, type, event_at, received_date, source_file, line_number, "
            "line as payload",
        )).fetchone()
        if wins:
            inserted = int(row[0]) if row else 0
    conn.execute(f"""
        insert into raw.quarantine
        select source_file, line_number, received_date, reason,
               left(line, {QUARANTINE_RAW_LINE_CHARS})
        from cdp_classified
        where reason is not null and not is_suppressed
    """)
    recount_other_days(conn, day)
    report.take_counts(
        conn.execute(line_counts_sql()).fetchone(),
        inserted,
        conn.execute(by_reason_sql()).fetchall(),
    )
