"""DuckDB: read a day's dump files into staged lines (relation `cdp_lines`).

`cdp_lines` (source_file, line_number, line, stage_reason) holds every physical line of the
day's non-empty files. One scan of DuckDB's CSV reader splits all the files into lines (gzip
handled natively; lines that are not UTF-8 or too long captured by `store_rejects` and
staged with their reason), so the happy path never loops over lines in Python. When that scan
fails (a truncated gzip), the files are read one by one and the damaged one is salvaged
(`gzip_recovery`): its readable lines go through the same SQL.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from orchestration.ingest.contract import (
    MAX_LINE_BYTES,
    READ_REASONS,
    REASON_INVALID_ENCODING,
    REASON_LINE_TOO_LONG,
    reason_branches,
)
from orchestration.ingest.gzip_recovery import salvage
from orchestration.sql import literal

# DuckDB's CSV buffer defaults to 16 x max_line_size (1 GiB each): two files read at once
# would not fit the memory cap. Two lines of the maximum size are enough.
CSV_BUFFER_BYTES = 2 * MAX_LINE_BYTES

# The CSV reader's error type for each read fault.
_REJECT_ERRORS = {
    REASON_INVALID_ENCODING: "INVALID ENCODING",
    REASON_LINE_TOO_LONG: "LINE SIZE OVER MAXIMUM",
}
_REJECT_IS = {reason: f"error_type = '{error}'" for reason, error in _REJECT_ERRORS.items()}
# DuckDB can log one line twice (too long *and* invalid UTF-8): one row per line is kept,
# the first fault in the contract's order, so a line is counted and quarantined once.
_REJECT_RANK = (
    "case " + " ".join(f"when {_REJECT_IS[r]} then {i}" for i, r in enumerate(READ_REASONS, 1))
    + f" else {len(READ_REASONS) + 1} end"
)
_REJECT_REASON = (
    f"case {reason_branches(_REJECT_IS, READ_REASONS)} "
    "else 'unreadable line: ' || error_message end"
)


def stage_day(conn: duckdb.DuckDBPyConnection, displays: dict[Path, str]) -> None:
    """Make `cdp_lines` hold every line of the given files, keyed by their display names.

    All files are read by one scan (DuckDB reads different files on different threads); a
    file that scan cannot read (a truncated gzip) makes it fail, and then the files are read
    one by one so the damaged one can be recovered.
    """
    with _scans_keep_row_order(conn):
        if displays:
            try:
                _scan_files(conn, displays, "cdp_lines")
                return
            except duckdb.Error:  # e.g. a truncated gzip: found and recovered file by file
                drop_temp(conn, "cdp_lines")
        conn.execute("""
            create or replace temp table cdp_lines (
                source_file varchar, line_number bigint, line varchar, stage_reason varchar
            )
        """)
        with tempfile.TemporaryDirectory(prefix="cdp-load-") as tmp:
            for path, display in displays.items():
                try:
                    _stage_file(conn, path, display)
                except duckdb.Error as exc:
                    _stage_damaged(conn, path, display, _first_line(exc), Path(tmp))


@contextmanager
def _scans_keep_row_order(conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Line numbers come from the order rows leave the CSV scan (rowids), so
    `preserve_insertion_order` must be on while staging. It is a setting of the database
    instance: a dbt run in the same process (tests, notebooks) leaves it off (profiles.yml),
    so it is switched on here and restored after."""
    row = conn.execute("select current_setting('preserve_insertion_order')").fetchone()
    was_on = bool(row and row[0])
    if not was_on:
        conn.execute("set preserve_insertion_order = true")
    try:
        yield
    finally:
        if not was_on:
            conn.execute("set preserve_insertion_order = false")


def _scan_files(conn: duckdb.DuckDBPyConnection, displays: dict[Path, str], view: str) -> None:
    """One scan of the files into `cdp_file_lines`; temp view `view` numbers their lines.

    With insertion order preserved, the table's rowid follows the files and their lines, so
    a good line's index in its file is its rowid minus the file's first rowid. DuckDB numbers
    rows without the rejected lines (bad bytes, too long), so these are fitted in between:
    good row r is the r-th line number not taken by a reject.
    """
    conn.execute("drop table if exists cdp_rejects")
    conn.execute("drop table if exists cdp_reject_scans")
    drop_temp(conn, view)
    conn.execute("create or replace temp table cdp_display (path varchar, display varchar)")
    conn.executemany(
        "insert into cdp_display values (?, ?)",
        [[str(path), display] for path, display in displays.items()],
    )
    # One VARCHAR column per physical line: a delimiter and quote that JSON text never
    # uses unescaped, no type sniffing. Lines that are not valid UTF-8 or are too long go
    # to the rejects table instead of failing the query.
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
    conn.execute(f"""
        create or replace temp table cdp_file_rejects as
        select s.file_path as path, r.line as line_number, r.error_type, r.error_message,
               r.csv_line
        from cdp_rejects r
        join cdp_reject_scans s using (scan_id, file_id)
        qualify row_number() over (
            partition by s.file_path, r.line order by {_REJECT_RANK}, r.error_message
        ) = 1
    """)
    # rejects_so_far: how many rejected lines precede the next good line. An ASOF join
    # (not a correlated count) keeps this linear when a file has many rejected lines.
    conn.execute(f"""
        create temp view {view} as
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
        select d.display, r.line_number, r.csv_line, {_REJECT_REASON}
        from cdp_file_rejects r join cdp_display d on d.path = r.path
    """)


def _stage_file(conn: duckdb.DuckDBPyConnection, path: Path, display: str) -> None:
    """Append the lines of one file to table `cdp_lines`."""
    _scan_files(conn, {path: display}, "cdp_file_scan")
    conn.execute("insert into cdp_lines select * from cdp_file_scan")
    conn.execute("drop view cdp_file_scan")


def _stage_damaged(
    conn: duckdb.DuckDBPyConnection, path: Path, display: str, error: str, tmp: Path
) -> None:
    """A file DuckDB cannot read to the end: stage what is readable, reject the rest."""
    saved = salvage(path, display, error, tmp)
    if saved.readable is not None:
        _stage_file(conn, saved.readable, display)
    conn.execute("insert into cdp_lines values (?, ?, ?, ?)", list(saved.rejected))


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__


def drop_staging(conn: duckdb.DuckDBPyConnection) -> None:
    """Drop every relation a day's load staged."""
    drop_temp(conn, "cdp_lines")
    drop_temp(conn, "cdp_file_scan")
    for table in (
        "cdp_classified", "cdp_file_lines", "cdp_file_rejects", "cdp_file_starts",
        "cdp_display", "cdp_first_copies", "cdp_ids", "cdp_ranked",
    ):
        conn.execute(f"drop table if exists {table}")


def drop_temp(conn: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop a staging relation, whether a table (per-file path) or a view (one-scan path)."""
    kind = conn.execute(
        "select 'view' from duckdb_views() where temporary and view_name = $name "
        "union all select 'table' from duckdb_tables() where temporary and table_name = $name",
        {"name": name},
    ).fetchone()
    if kind:
        conn.execute(f"drop {kind[0]} {name}")
