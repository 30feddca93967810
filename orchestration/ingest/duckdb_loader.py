"""Load one day of Segment-spec JSON-lines dumps into `raw.events` / `raw.quarantine`.

Every input line ends in exactly one of four places:

* `raw.events`      one row per distinct `messageId` (the first copy seen wins),
* a duplicate       counted in `raw.load_log.duplicates` (id seen earlier that day or another day),
* suppressed        counted in `raw.load_log.suppressed`, never stored: the message carries (or
                    the rejected line mentions) an identifier erased by `cdp forget`
                    (`privacy.suppression`, see orchestration/privacy/),
* `raw.quarantine`  with the file, line number, a readable reason and the raw text.

The happy path never loops over lines in Python: one scan of DuckDB's CSV reader splits all
of a day's files into lines (gzip handled natively, undecodable lines captured by
`store_rejects`), and its JSON functions parse and classify them. Python only lists the
files and steps in when a file cannot be read to the end (a truncated gzip): the files are
then read one by one, and the readable lines of the damaged one are recovered and handed
back to the same SQL.

A day is replaced atomically: the old rows of the day are deleted, the new ones inserted and
its raw.load_log row written in one transaction, so a rerun never doubles rows and a failed
run leaves the previous day. Duplicates are found on the narrow (message id, file, line)
columns; the payload text is written once, unsorted, zstd-compressed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
import time
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from orchestration import privacy
from orchestration.sql import literal

MESSAGE_TYPES = ("identify", "track", "page", "screen", "alias", "group")
DUMP_SUFFIXES = (".jsonl", ".json", ".jsonl.gz", ".json.gz", ".ndjson", ".ndjson.gz")
MAX_LINE_BYTES = 64 * 1024 * 1024
# DuckDB's CSV buffer defaults to 16 x max_line_size (1 GiB each): two files read at once
# would not fit the memory cap. Two lines of the maximum size are enough.
CSV_BUFFER_BYTES = 2 * MAX_LINE_BYTES
QUARANTINE_RAW_LINE_CHARS = 1_000_000
# WAL size that triggers an automatic checkpoint while a run loads several days (DuckDB: 16 MB).
BATCH_CHECKPOINT_THRESHOLD = "1GB"

# Quarantine reasons, in the order they are tested. Kept as constants so tests, docs
# and the asset metadata use the same words.
REASON_UNREADABLE_FILE = "unreadable file"
REASON_TRUNCATED_GZIP = "truncated gzip"
REASON_INVALID_ENCODING = "invalid UTF-8"
REASON_LINE_TOO_LONG = "line too long"
REASON_BLANK = "blank line"
REASON_INVALID_JSON = "invalid JSON"
REASON_NOT_OBJECT = "not an object"
REASON_MISSING_TYPE = "missing type"
REASON_UNKNOWN_TYPE = "unknown type"
REASON_MISSING_MESSAGE_ID = "missing messageId"
REASON_MISSING_EVENT_NAME = "track without event name"
REASON_NO_TIME = "no usable time"

RAW_DDL = """
create schema if not exists raw;
create table if not exists raw.events (
    message_id    varchar not null,
    type          varchar not null,
    event_at      timestamp not null,
    received_date date not null,
    source_file   varchar not null,
    line_number   bigint not null,
    -- zstd: about 3x cheaper to write than the automatic dictionary/FSST choice for ~1 KB
    -- unique JSON texts, and half the size (measured on a 10 M-event day)
    payload       varchar using compression zstd not null
);
create table if not exists raw.quarantine (
    source_file   varchar not null,
    line_number   bigint,
    received_date date not null,
    reason        varchar not null,
    raw_line      varchar using compression zstd
);
create table if not exists raw.load_log (
    received_date   date primary key,
    loaded_at       timestamp not null,
    files           integer not null,
    empty_files     integer not null,
    lines           bigint not null,
    loaded          bigint not null,
    duplicates      bigint not null,
    quarantined     bigint not null,
    unreadable_files integer not null,
    seconds         double not null,
    suppressed      bigint not null default 0
);
-- tables created before these columns existed
alter table raw.load_log add column if not exists suppressed bigint default 0;
alter table raw.load_log add column if not exists fingerprint varchar;
"""


@dataclass
class LoadReport:
    """What happened to every line of one day folder."""

    received_date: dt.date
    files: int = 0
    empty_files: int = 0
    lines: int = 0
    loaded: int = 0
    duplicates: int = 0
    quarantined: int = 0
    suppressed: int = 0
    unreadable_files: int = 0
    quarantine_by_reason: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    folder_missing: bool = False

    @property
    def accounted(self) -> bool:
        """Every line read is loaded, a duplicate, suppressed or quarantined."""
        return self.lines == self.loaded + self.duplicates + self.suppressed + self.quarantined

    def take_counts(self, counts: Mapping[str, Any]) -> None:
        """Copy a loader's line accounting (lines, loaded, duplicates, quarantined, by_reason,
        unreadable_files and, where the engine suppresses at load, suppressed)."""
        self.lines = counts["lines"]
        self.loaded = counts["loaded"]
        self.duplicates = counts["duplicates"]
        self.quarantined = counts["quarantined"]
        self.suppressed = counts.get("suppressed", 0)
        self.quarantine_by_reason = counts["by_reason"]
        self.unreadable_files = counts["unreadable_files"]

    def as_dict(self) -> dict:
        data = asdict(self)
        data["received_date"] = self.received_date.isoformat()
        return data


def ensure_raw_schema(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(RAW_DDL)


def find_day_folders(raw_dir: Path) -> list[str]:
    """The `YYYY-MM-DD` folders under `raw_dir`, sorted (other names are ignored)."""
    if not raw_dir.is_dir():
        return []
    days = []
    for child in raw_dir.iterdir():
        if child.is_dir() and _is_date(child.name):
            days.append(child.name)
    return sorted(days)


def find_dump_files(day_dir: Path) -> list[Path]:
    """Every dump file at any depth below the day folder, in a stable order."""
    if not day_dir.is_dir():
        return []
    return sorted(
        p for p in day_dir.rglob("*") if p.is_file() and p.name.lower().endswith(DUMP_SUFFIXES)
    )


def folder_fingerprint(day_dir: Path) -> str:
    """Changes whenever a dump file is added, removed or rewritten in the folder."""
    parts = []
    for path in find_dump_files(day_dir):
        stat = path.stat()
        parts.append(f"{path.relative_to(day_dir)}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16] if parts else "empty"


def changed_days(conn: duckdb.DuckDBPyConnection | None, raw_dir: Path) -> list[str]:
    """Day folders not loaded yet, or whose files changed since they were loaded.

    `conn` may be None (no warehouse yet): then every folder is new.
    """
    days = find_day_folders(raw_dir)
    if conn is None:
        return days
    try:
        loaded = dict(conn.execute(
            "select strftime(received_date, '%Y-%m-%d'), fingerprint from raw.load_log"
        ).fetchall())
    except duckdb.Error:  # no raw.load_log (or an old one without fingerprints)
        return days
    return [day for day in days if loaded.get(day) != folder_fingerprint(raw_dir / day)]


def _is_date(name: str) -> bool:
    try:
        dt.date.fromisoformat(name)
    except ValueError:
        return False
    return len(name) == 10


def _read_lines_sql(path: Path) -> str:
    # One VARCHAR column per physical line: a delimiter and quote that JSON text never
    # uses unescaped, no type sniffing. Lines that are not valid UTF-8 or are too long go
    # to the rejects table instead of failing the query.
    return f"""
        select row_number() over () as row_index, line
        from read_csv({literal(path)},
            columns = {{'line': 'VARCHAR'}}, delim = '\\x1f', quote = '', escape = '',
            header = false, auto_detect = false, strict_mode = false, parallel = false,
            store_rejects = true, rejects_table = 'cdp_rejects', rejects_scan = 'cdp_reject_scans',
            max_line_size = {MAX_LINE_BYTES}, buffer_size = {CSV_BUFFER_BYTES},
            compression = 'auto')
    """


def _stage_file(conn: duckdb.DuckDBPyConnection, path: Path, display_name: str) -> int:
    """Append the lines of one file to temp table `cdp_lines`; return how many were read.

    Good lines keep their physical line number: DuckDB numbers rows without the rejected
    lines, so row r is the r-th line number not taken by a reject.
    """
    conn.execute("drop table if exists cdp_rejects")
    conn.execute("drop table if exists cdp_reject_scans")
    conn.execute(f"create or replace temp table cdp_file_lines as {_read_lines_sql(path)}")
    # DuckDB can log one line twice (too long *and* invalid UTF-8): keep one row per line,
    # in the order of the REASON_* constants, so a line is counted and quarantined once.
    conn.execute("""
        create or replace temp table cdp_file_rejects as
        select line as line_number, error_type, error_message, csv_line
        from cdp_rejects
        qualify row_number() over (
            partition by line
            order by case error_type when 'INVALID ENCODING' then 1
                                     when 'LINE SIZE OVER MAXIMUM' then 2 else 3 end,
                     error_message
        ) = 1
    """)
    name = literal(display_name)
    # rejects_so_far: how many rejected lines precede the next good line. An ASOF join
    # (not a correlated count) keeps this linear when a file has many rejected lines.
    conn.execute(f"""
        insert into cdp_lines
        with rejects as (
            select line_number - row_number() over (order by line_number) as good_lines_before,
                   row_number() over (order by line_number) as rejects_so_far
            from cdp_file_rejects
        ),
        steps as (
            select good_lines_before, max(rejects_so_far) as rejects_so_far
            from rejects group by good_lines_before
        )
        select {name}, f.row_index + coalesce(s.rejects_so_far, 0), f.line, null
        from cdp_file_lines f
        asof left join steps s on f.row_index > s.good_lines_before
        union all
        select {name}, line_number, csv_line,
               case when error_type = 'INVALID ENCODING' then '{REASON_INVALID_ENCODING}'
                    when error_type = 'LINE SIZE OVER MAXIMUM' then '{REASON_LINE_TOO_LONG}'
                    else 'unreadable line: ' || error_message end
        from cdp_file_rejects
    """)
    read = conn.execute(
        "select (select count(*) from cdp_file_lines) + (select count(*) from cdp_file_rejects)"
    ).fetchone()
    return int(read[0]) if read else 0


def _recover_gzip(path: Path, tmp_dir: Path) -> tuple[Path, int, str] | None:
    """Decompress what can be read of a damaged gzip into a plain file.

    Returns the plain file, how many complete lines it holds, and the unreadable tail;
    None when zlib rejects the stream before producing a byte (e.g. a corrupt header).
    Input is fed in small chunks so the output before a corrupt block is kept, and every
    gzip member is read (`cat a.gz b.gz` files are valid gzip).
    """
    out = tmp_dir / (path.name + ".recovered.jsonl")
    data = bytearray()
    with open(path, "rb") as fh:
        raw = fh.read()
    chunk = 16 * 1024
    start, failed = 0, False
    while start < len(raw) and not failed:
        decomp = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
        end = start
        try:
            while end < len(raw) and not decomp.eof:
                data += decomp.decompress(raw[end : end + chunk])
                end = min(end + chunk, len(raw))
        except zlib.error:
            failed = True
        if not decomp.eof:
            break
        start = end - len(decomp.unused_data)
    if failed and not data:
        return None
    text = bytes(data)
    last_newline = text.rfind(b"\n")
    complete, tail = (text[: last_newline + 1], text[last_newline + 1 :])
    out.write_bytes(complete)
    return out, complete.count(b"\n"), tail.decode("utf-8", errors="replace")


def message_reason_cases() -> str:
    """The CASE branches that judge a JSON object as a message (after the line is known to be
    one), over columns type, message_id, event_name, ts, original_ts and received_at. Shared by
    this loader and the Spark one (orchestration/ingest/spark_loader.py): plain SQL both engines run."""
    types = ", ".join(f"'{t}'" for t in MESSAGE_TYPES)
    return f"""when type is null or type = '' then '{REASON_MISSING_TYPE}'
            when type not in ({types}) then '{REASON_UNKNOWN_TYPE}'
            when message_id is null then '{REASON_MISSING_MESSAGE_ID}'
            when type = 'track' and event_name is null then '{REASON_MISSING_EVENT_NAME}'
            when coalesce(ts, original_ts, received_at) is null then '{REASON_NO_TIME}'"""


def _classification_sql(received_date: dt.date) -> str:
    return f"""
    create or replace temp table cdp_classified as
    with fields as (
        select
            source_file, line_number, line, stage_reason,
            -- a blank line is never valid JSON, so the costly trim is left to invalid lines
            case when stage_reason is null and line is not null then json_valid(line) end
                as is_json,
        from cdp_lines
    ),
    kinds as (
        -- a valid JSON text that starts with a brace is an object: no second parse for messages
        select *, case when is_json and starts_with(line, '{{') then 'OBJECT'
                       when is_json then json_type(line) end as json_kind
        from fields
    ),
    extracted as (
        -- one parse of each object for every field the loader needs
        select *,
            case when json_kind = 'OBJECT' then json_extract_string(line, [
                '$.type', '$.messageId', '$.event', '$.timestamp', '$.originalTimestamp',
                '$.sentAt', '$.receivedAt'
            ]) end as f
        from kinds
    ),
    typed as (
        select
            source_file, line_number, line, stage_reason, is_json, json_kind,
            lower(trim(f[1])) as type,
            nullif(trim(f[2]), '') as message_id,
            nullif(trim(f[3]), '') as event_name,
            {_to_utc("f[4]")} as ts,
            {_to_utc("f[5]")} as original_ts,
            {_to_utc("f[6]")} as sent_at,
            {_to_utc("f[7]")} as received_at
        from extracted
    )
    select
        source_file, line_number, line, message_id, type,
        coalesce(
            ts,
            original_ts + coalesce(received_at - sent_at, interval 0 second),
            received_at
        ) as event_at,
        case
            when stage_reason is not null then stage_reason
            -- JSON whitespace, not only spaces: a line of tabs is blank, not invalid JSON
            when not coalesce(is_json, false) then
                case when line is null or trim(line, e' \\t\\r\\n') = ''
                     then '{REASON_BLANK}' else '{REASON_INVALID_JSON}' end
            when json_kind <> 'OBJECT' then '{REASON_NOT_OBJECT}'
            {message_reason_cases()}
        end as reason,
        date '{received_date.isoformat()}' as received_date
    from typed
    """


def _to_utc(expr: str) -> str:
    # Offsets are honoured; a time without an offset is taken as UTC (the session runs in UTC).
    return f"cast(try_cast(nullif(trim({expr}), '') as timestamptz) as timestamp)"


def load_day(
    conn: duckdb.DuckDBPyConnection,
    raw_dir: Path,
    received_date: dt.date | str,
) -> LoadReport:
    """Replace one received day in `raw.events` and `raw.quarantine`; return its report."""
    started = time.perf_counter()
    if isinstance(received_date, str):
        received_date = dt.date.fromisoformat(received_date)
    day_dir = raw_dir / received_date.isoformat()
    report = LoadReport(received_date=received_date, folder_missing=not day_dir.is_dir())
    conn.execute("set timezone = 'UTC'")
    ensure_raw_schema(conn)
    if report.folder_missing:
        # No folder is not an empty day: what was loaded for it stays (an empty folder
        # does replace the day with nothing).
        return report
    # Taken before reading: a file written during the load makes the next build reload the day.
    fingerprint = folder_fingerprint(day_dir)
    files = find_dump_files(day_dir)
    report.files = len(files)
    readable = [path for path in files if path.stat().st_size > 0]
    report.empty_files = len(files) - len(readable)
    displays = {path: path.relative_to(raw_dir).as_posix() for path in readable}
    _stage_day(conn, displays)

    conn.execute(_classification_sql(received_date))
    _drop_temp(conn, "cdp_lines")
    conn.execute("drop table if exists cdp_file_lines")
    # Erased identifiers (cdp forget): flag the lines to drop; the salt is a query parameter.
    privacy.mark_suppressed(conn, "cdp_classified", privacy.suppression_salt(conn))
    _find_new_messages(conn, received_date)
    # The day's rows and its load-log row change together or not at all.
    conn.execute("begin transaction")
    try:
        report.take_counts(_replace_day(conn, received_date))
        report.seconds = round(time.perf_counter() - started, 3)
        _write_load_log(conn, report, fingerprint)
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    # The commit writes the day's last partial row group to the WAL: part of the day's time.
    report.seconds = round(time.perf_counter() - started, 3)
    conn.execute(
        "update raw.load_log set seconds = ? where received_date = ?",
        [report.seconds, received_date],
    )
    _drop_staging(conn)
    return report


def _stage_day(conn: duckdb.DuckDBPyConnection, displays: dict[Path, str]) -> None:
    """Make `cdp_lines` (source_file, line_number, line, stage_reason) hold every line of the
    day's non-empty files, keyed by their display names.

    All files are read by one scan (DuckDB reads different files on different threads); a
    file that scan cannot read (a truncated gzip) makes it fail, and then the files are read
    one by one so the damaged one can be recovered.
    """
    with _scans_keep_row_order(conn):
        if displays:
            try:
                _stage_files_together(conn, displays)
                return
            except duckdb.Error:  # e.g. a truncated gzip: found and recovered file by file
                _drop_temp(conn, "cdp_lines")
        _create_staging_tables(conn)
        with tempfile.TemporaryDirectory(prefix="cdp-load-") as tmp:
            for path, display in displays.items():
                try:
                    _stage_file(conn, path, display)
                except duckdb.Error as exc:
                    _stage_unreadable(conn, path, display, exc, Path(tmp))


@contextmanager
def _scans_keep_row_order(conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Line numbers come from the order rows leave the CSV scan (rowids, `row_number() over
    ()`), so `preserve_insertion_order` must be on while staging. It is a setting of the
    database instance: a dbt run in the same process (tests, notebooks) leaves it off
    (profiles.yml), so it is switched on here and restored after."""
    row = conn.execute("select current_setting('preserve_insertion_order')").fetchone()
    was_on = bool(row and row[0])
    if not was_on:
        conn.execute("set preserve_insertion_order = true")
    try:
        yield
    finally:
        if not was_on:
            conn.execute("set preserve_insertion_order = false")


def _stage_files_together(conn: duckdb.DuckDBPyConnection, displays: dict[Path, str]) -> None:
    """One scan of every file into `cdp_file_lines`; view `cdp_lines` numbers their lines.

    With insertion order preserved, the table's rowid follows the files and their lines, so
    a good line's index in its file is its rowid minus the file's first rowid; rejected lines
    (bad bytes, too long) are fitted in between as in `_stage_file`.
    """
    conn.execute("drop table if exists cdp_rejects")
    conn.execute("drop table if exists cdp_reject_scans")
    _drop_temp(conn, "cdp_lines")
    conn.execute("""
        create or replace temp table cdp_display (path varchar, display varchar)
    """)
    conn.executemany(
        "insert into cdp_display values (?, ?)",
        [[str(path), display] for path, display in displays.items()],
    )
    paths = ", ".join(literal(path) for path in displays)
    conn.execute(f"""
        create or replace temp table cdp_file_lines as
        select filename as path, line
        from read_csv([{paths}],
            columns = {{'line': 'VARCHAR'}}, delim = '\\x1f', quote = '', escape = '',
            header = false, auto_detect = false, strict_mode = false, parallel = false,
            filename = true, union_by_name = false,
            store_rejects = true, rejects_table = 'cdp_rejects',
            rejects_scan = 'cdp_reject_scans',
            max_line_size = {MAX_LINE_BYTES}, buffer_size = {CSV_BUFFER_BYTES},
            compression = 'auto')
    """)
    conn.execute("""
        create or replace temp table cdp_file_starts as
        select path, min(rowid) as first_rowid from cdp_file_lines group by path
    """)
    # One row per rejected line, as in `_stage_file`.
    conn.execute("""
        create or replace temp table cdp_file_rejects as
        select s.file_path as path, r.line as line_number, r.error_type, r.error_message,
               r.csv_line
        from cdp_rejects r
        join cdp_reject_scans s using (scan_id, file_id)
        qualify row_number() over (
            partition by s.file_path, r.line
            order by case r.error_type when 'INVALID ENCODING' then 1
                                       when 'LINE SIZE OVER MAXIMUM' then 2 else 3 end,
                     r.error_message
        ) = 1
    """)
    conn.execute(f"""
        create temp view cdp_lines as
        with rejects as (
            select path,
                   line_number - row_number() over (partition by path order by line_number)
                       as good_lines_before,
                   row_number() over (partition by path order by line_number) as rejects_so_far
            from cdp_file_rejects
        ),
        steps as (
            select path, good_lines_before, max(rejects_so_far) as rejects_so_far
            from rejects group by path, good_lines_before
        ),
        numbered as (
            select f.path, f.rowid - s.first_rowid + 1 as row_index, f.line
            from cdp_file_lines f join cdp_file_starts s using (path)
        )
        select d.display as source_file, n.row_index + coalesce(s.rejects_so_far, 0)
                   as line_number,
               n.line, null::varchar as stage_reason
        from numbered n
        asof left join steps s on n.path = s.path and n.row_index > s.good_lines_before
        join cdp_display d on d.path = n.path
        union all
        select d.display, r.line_number, r.csv_line,
               case when r.error_type = 'INVALID ENCODING' then '{REASON_INVALID_ENCODING}'
                    when r.error_type = 'LINE SIZE OVER MAXIMUM' then '{REASON_LINE_TOO_LONG}'
                    else 'unreadable line: ' || r.error_message end
        from cdp_file_rejects r join cdp_display d on d.path = r.path
    """)


def _drop_staging(conn: duckdb.DuckDBPyConnection) -> None:
    _drop_temp(conn, "cdp_lines")
    for table in (
        "cdp_classified", "cdp_file_lines", "cdp_file_rejects", "cdp_file_starts",
        "cdp_display", "cdp_first_copies", "cdp_new_messages",
    ):
        conn.execute(f"drop table if exists {table}")


def _drop_temp(conn: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop a staging relation, whether a table (per-file path) or a view (one-scan path)."""
    kind = conn.execute(
        "select 'view' from duckdb_views() where temporary and view_name = $name "
        "union all select 'table' from duckdb_tables() where temporary and table_name = $name",
        {"name": name},
    ).fetchone()
    if kind:
        conn.execute(f"drop {kind[0]} {name}")


@contextmanager
def one_checkpoint(conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Load several days with one checkpoint at the end instead of one after every day.

    Full row groups of a day go straight to the database file, but its last, partial one
    goes to the WAL, and DuckDB's automatic checkpoint (WAL over 16 MB) then recompresses the
    table's last row group after nearly every day: half the loader's wall time at 1 M
    events, spent after the day's seconds were taken. Inside this block the WAL may grow to
    BATCH_CHECKPOINT_THRESHOLD; the final checkpoint's time is added to the seconds of the
    last day loaded, so raw.load_log's seconds add up to the time spent.
    """
    previous = conn.execute("select current_setting('checkpoint_threshold')").fetchone()[0]
    started_at = conn.execute("select now()::timestamp").fetchone()[0]
    conn.execute(f"set checkpoint_threshold = '{BATCH_CHECKPOINT_THRESHOLD}'")
    try:
        yield
    finally:
        conn.execute(f"set checkpoint_threshold = '{previous}'")
    started = time.perf_counter()
    conn.execute("checkpoint")
    conn.execute(
        """
        update raw.load_log set seconds = round(seconds + ?, 3)
        where loaded_at = (select max(loaded_at) from raw.load_log) and loaded_at >= ?
        """,
        [time.perf_counter() - started, started_at],
    )


def _create_staging_tables(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute("""
        create or replace temp table cdp_lines (
            source_file varchar, line_number bigint, line varchar, stage_reason varchar
        )
    """)


def _stage_unreadable(
    conn: duckdb.DuckDBPyConnection, path: Path, display: str, exc: duckdb.Error, tmp: Path
) -> None:
    """A file DuckDB cannot read to the end: keep what is readable, quarantine the rest."""
    recovery = None
    if path.name.lower().endswith(".gz") and _is_gzip(path):
        recovery = _recover_gzip(path, tmp)
    if recovery is not None:
        recovered, complete_lines, tail = recovery
        if recovered.stat().st_size:
            _stage_file(conn, recovered, display)
        # The partial last line (possibly empty) stands for everything after the cut.
        conn.execute(
            "insert into cdp_lines values (?, ?, ?, ?)",
            [display, complete_lines + 1, tail[:QUARANTINE_RAW_LINE_CHARS],
             REASON_TRUNCATED_GZIP],
        )
        return
    # Nothing readable: one row without a line number, the error as its text.
    conn.execute(
        "insert into cdp_lines values (?, null, ?, ?)",
        [display, _first_line(exc), REASON_UNREADABLE_FILE],
    )


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__


def _write_load_log(conn: duckdb.DuckDBPyConnection, report: LoadReport, fingerprint: str) -> None:
    conn.execute(
        """
        insert or replace into raw.load_log (
            received_date, loaded_at, files, empty_files, lines, loaded, duplicates,
            quarantined, unreadable_files, seconds, suppressed, fingerprint
        ) values (?, now()::timestamp, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        [
            report.received_date, report.files, report.empty_files, report.lines, report.loaded,
            report.duplicates, report.quarantined, report.unreadable_files, report.seconds,
            report.suppressed, fingerprint,
        ],
    )


def _replace_day(conn: duckdb.DuckDBPyConnection, received_date: dt.date) -> dict:
    """Swap the day's rows (inside the caller's transaction); return the line accounting."""
    conn.execute("delete from raw.events where received_date = ?", [received_date])
    conn.execute("delete from raw.quarantine where received_date = ?", [received_date])
    # No sort: rows keep the order of the files and their lines.
    inserted = conn.execute("""
        insert into raw.events
        select c.message_id, c.type, c.event_at, c.received_date, c.source_file,
               c.line_number, c.line
        from cdp_classified c
        semi join cdp_new_messages n
            on c.source_file = n.source_file and c.line_number = n.line_number
    """).fetchone()
    conn.execute(f"""
        insert into raw.quarantine
        select source_file, line_number, received_date, reason,
               left(line, {QUARANTINE_RAW_LINE_CHARS})
        from cdp_classified
        where reason is not null and not is_suppressed
    """)
    return _day_counts(conn, int(inserted[0]) if inserted else 0)


def _find_new_messages(conn: duckdb.DuckDBPyConnection, received_date: dt.date) -> None:
    """Temp table `cdp_new_messages`: the line of each message id to load.

    Within the day the first copy (by file, then line) wins; across days the copy already
    loaded for another day wins. Only the narrow id columns are shuffled, never the payload,
    and raw.events is probed with the day's ids (an inner join builds its hash table on the
    small side), so the cost of the history is one scan of its message_id column.
    """
    conn.execute("""
        create or replace temp table cdp_first_copies as
        select message_id, source_file, line_number
        from cdp_classified
        where reason is null and not is_suppressed
        qualify row_number() over (
            partition by message_id order by source_file, line_number
        ) = 1
    """)
    conn.execute("""
        create or replace temp table cdp_new_messages as
        select f.source_file, f.line_number
        from cdp_first_copies f
        anti join (
            select distinct e.message_id
            from raw.events e
            inner join cdp_first_copies f using (message_id)
            where e.received_date <> ?
        ) loaded using (message_id)
    """, [received_date])


def _day_counts(conn: duckdb.DuckDBPyConnection, loaded: int) -> dict:
    """The day's line accounting from the classified lines and the rows inserted."""
    lines, valid, quarantined, suppressed, unreadable_files = conn.execute("""
        select count(*) filter (where line_number is not null or reason is null),
               count(*) filter (where reason is null and not is_suppressed),
               count(*) filter (where reason is not null and not is_suppressed),
               count(*) filter (where is_suppressed),
               -- a whole unreadable file is one quarantine row without a line number
               count(*) filter (where line_number is null and reason is not null)
        from cdp_classified
    """).fetchone()
    by_reason = dict(
        conn.execute("""
            select reason, count(*) from cdp_classified
            where reason is not null and not is_suppressed
            group by 1 order by 2 desc, 1
        """).fetchall()
    )
    return {
        "lines": int(lines),
        "loaded": loaded,
        "duplicates": int(valid) - loaded,
        "quarantined": int(quarantined) - int(unreadable_files),
        "suppressed": int(suppressed),
        "unreadable_files": int(unreadable_files),
        "by_reason": {str(k): int(v) for k, v in by_reason.items()},
    }
